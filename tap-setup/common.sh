# tap-setup/common.sh — helpers shared by the tap-setup scripts (sourced, never run directly).
# shellcheck shell=bash
#
# Conventions every script follows:
#   - argument errors exit 2 (with a pointer to --help), runtime errors exit 1;
#   - each change is announced with changed(); if a run changes nothing, finish() says so, which
#     is how a second run of any script reports that it was idempotent;
#   - commands act on the namespace named by NETNS ('' = the caller's own namespace) through the
#     IP array, so the same helpers serve both cases.

PROG=${PROG:-${0##*/}}
CHANGED=0
NETNS=
IP=(ip)

say() { printf '%s: %s\n' "$PROG" "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}
usage_error() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    printf "Try '%s --help'.\n" "$PROG" >&2
    exit 2
}
changed() {
    CHANGED=1
    say "$*"
}
# finish WHAT: the closing line when nothing had to be done.
finish() {
    if [ "$CHANGED" -eq 0 ]; then
        say "nothing changed: $*"
    fi
}

# where: a human label for the namespace we act in, used in messages. For the current namespace
# (e.g. qemu-ifup under 'ip netns exec LAB') its name is looked up, if it has one.
where() {
    local cur
    if [ -n "$NETNS" ]; then
        printf 'in namespace %s' "$NETNS"
        return 0
    fi
    cur=$(ip netns identify 2>/dev/null | head -n 1) || cur=
    if [ -n "$cur" ]; then
        printf 'in namespace %s (the current one)' "$cur"
    else
        printf 'in the current namespace'
    fi
}

# ---- argument checks -------------------------------------------------------------------------

# check_ifname WHAT VALUE: Linux interface names hold at most IFNAMSIZ-1 = 15 bytes. We accept a
# conservative character set so names never need quoting in other tools (tshark, QEMU options).
check_ifname() {
    local what=$1 v=$2
    if [ -z "$v" ]; then
        usage_error "$what is empty"
    fi
    if [ "${#v}" -gt 15 ]; then
        usage_error "$what '$v' is ${#v} characters long; Linux interface names are at most 15 (IFNAMSIZ)"
    fi
    if ! [[ $v =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]]; then
        usage_error "$what '$v' is not a valid interface name: use letters, digits, '_', '.' and '-', starting with a letter or digit"
    fi
}

# check_nsname WHAT VALUE [MAXLEN]: network namespace names are file names under /run/netns.
check_nsname() {
    local what=$1 v=$2 max=${3:-32}
    if [ -z "$v" ]; then
        usage_error "$what is empty"
    fi
    if [ "${#v}" -gt "$max" ]; then
        usage_error "$what '$v' is ${#v} characters long; at most $max allowed"
    fi
    if ! [[ $v =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]]; then
        usage_error "$what '$v' is not a valid namespace name: use letters, digits, '_', '.' and '-', starting with a letter or digit"
    fi
}

# check_cidr4 WHAT VALUE: dotted-quad IPv4 address with a prefix length, e.g. 10.77.0.1/24.
# Leading zeros are refused because tools disagree on whether they mean octal.
check_cidr4() {
    local what=$1 v=$2 part parts
    if ! [[ $v =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})/([0-9]{1,2})$ ]]; then
        usage_error "$what '$v' is not an IPv4 address with a prefix length (example: 10.77.0.1/24)"
    fi
    # Copy the groups first: every later =~ overwrites BASH_REMATCH.
    parts=("${BASH_REMATCH[@]:1:4}")
    for part in "${parts[@]}"; do
        if [[ $part == 0?* ]] || [ "$part" -gt 255 ]; then
            usage_error "$what '$v': '$part' is not an octet (0-255, no leading zeros)"
        fi
    done
    part=${v#*/}
    if [[ $part == 0?* ]] || [ "$part" -gt 32 ]; then
        usage_error "$what '$v': prefix length must be 0-32"
    fi
}

# ip4_to_int A.B.C.D / int_to_ip4 N: arithmetic on addresses (bash integers are 64-bit).
ip4_to_int() {
    local a b c d
    IFS=. read -r a b c d <<<"$1"
    printf '%d\n' $(((a << 24) | (b << 16) | (c << 8) | d))
}
int_to_ip4() {
    local n=$1
    printf '%d.%d.%d.%d\n' $(((n >> 24) & 255)) $(((n >> 16) & 255)) $(((n >> 8) & 255)) $((n & 255))
}
prefix_to_mask() {
    local p=$1
    int_to_ip4 $(((0xffffffff << (32 - p)) & 0xffffffff))
}

# ---- privileges and environment -----------------------------------------------------------------

# have_cap BIT: true when programs we start (ip, dnsmasq) get capability BIT. We read the
# effective set of a child (awk), not of this shell: a non-root shell's capabilities only reach
# its children when they are ambient, and the children are what talk to the kernel.
have_cap() {
    local hex
    hex=$(awk '/^CapEff:/ { print $2 }' /proc/self/status 2>/dev/null) || return 1
    [ -n "$hex" ] || return 1
    (((16#$hex >> $1) & 1))
}

# need_privs REASON [sys_admin]: CAP_NET_ADMIN (bit 12) is always needed; CAP_SYS_ADMIN (bit 21) is
# needed as well to enter or create network namespaces (setns, bind mounts under /run/netns).
need_privs() {
    local reason=$1 also_sys=${2:-}
    local who
    who="uid $(id -u) ($(id -un 2>/dev/null || echo '?'))"
    if ! have_cap 12; then
        die "permission denied: $reason needs CAP_NET_ADMIN and $who does not have it." \
            "Fix: run it as root, e.g. 'sudo $0 ...'."
    fi
    if [ -n "$also_sys" ] && ! have_cap 21; then
        die "permission denied: $reason uses network namespaces, which needs CAP_SYS_ADMIN as well" \
            "as CAP_NET_ADMIN, and $who does not have it. Fix: run it as root, e.g. 'sudo $0 ...'."
    fi
}

need_tool() {
    local tool=$1 pkg=$2
    if ! command -v "$tool" >/dev/null 2>&1; then
        die "'$tool' not found. Fix: apt-get install $pkg"
    fi
}

need_tun() {
    if [ ! -c /dev/net/tun ]; then
        die "/dev/net/tun is missing, so TAP devices cannot be created. Fix: modprobe tun" \
            "(or, in a container, pass the device in, e.g. docker --device /dev/net/tun)."
    fi
    # CAP_NET_ADMIN alone is not enough: the device node must be openable too.
    if [ ! -r /dev/net/tun ] || [ ! -w /dev/net/tun ]; then
        die "permission denied: uid $(id -u) cannot open /dev/net/tun ($(stat -c '%A %U:%G' /dev/net/tun))." \
            "Fix: run it as root, or make the node usable (Debian's default is mode 0666)."
    fi
}

# ---- namespaces -----------------------------------------------------------------------------------

ns_exists() {
    ip netns list 2>/dev/null | awk '{ print $1 }' | grep -Fqx -- "$1"
}

# use_netns NS: act inside NS from now on (it must exist; creating it is the caller's decision).
use_netns() {
    NETNS=$1
    if [ -z "$NETNS" ]; then
        IP=(ip)
        return 0
    fi
    if ! ns_exists "$NETNS"; then
        die "network namespace '$NETNS' does not exist. Fix: create it with 'ip netns add $NETNS'" \
            "(see 'ip netns list' for the existing ones)."
    fi
    IP=(ip -n "$NETNS")
}

# ---- links --------------------------------------------------------------------------------------------

link_exists() {
    "${IP[@]}" link show dev "$1" >/dev/null 2>&1
}

# link_kind IF: tap, tun, bridge, veth or other. 'ip -d -o' puts each detail block after a literal
# backslash and four spaces; a bridge port has a 'bridge_slave' block, which is not 'bridge '.
link_kind() {
    local d
    d=$("${IP[@]}" -d -o link show dev "$1" 2>/dev/null) || return 1
    case $d in
    *'\    tun type tap '*) echo tap ;;
    *'\    tun type tun '*) echo tun ;;
    *'\    bridge '*) echo bridge ;;
    *'\    veth'*) echo veth ;;
    *) echo other ;;
    esac
}

# kind_label KIND: link_kind's answer as words for messages.
kind_label() {
    case $1 in
    tap) echo "a TAP device" ;;
    tun) echo "a TUN (layer 3) device" ;;
    bridge) echo "a bridge" ;;
    veth) echo "a veth device" ;;
    *) echo "a device of another kind (ethernet, loopback, ...)" ;;
    esac
}

# link_master IF: the bridge IF is a port of, or nothing.
link_master() {
    local line
    line=$("${IP[@]}" -o link show dev "$1" 2>/dev/null) || return 0
    if [[ $line =~ \ master\ ([^ ]+)\  ]]; then
        printf '%s\n' "${BASH_REMATCH[1]}"
    fi
}

# link_is_up IF: administratively up (the UP flag), whatever the carrier says.
link_is_up() {
    local line
    line=$("${IP[@]}" -o link show dev "$1" 2>/dev/null) || return 1
    [[ $line =~ \<([^>]*)\> ]] || return 1
    [[ ,${BASH_REMATCH[1]}, == *,UP,* ]]
}

# bridge_ports BR: the names of BR's ports, space separated.
bridge_ports() {
    "${IP[@]}" -o link show master "$1" 2>/dev/null |
        awk -F': ' '{ sub(/@.*/, "", $2); printf "%s ", $2 }'
}

# tap_info IF: prints "persist=yes|no owner=UID|none" from 'ip tuntap show'.
tap_info() {
    local line persist=no owner=none
    line=$("${IP[@]}" tuntap show 2>/dev/null | awk -v n="$1:" '$1 == n { print; exit }') || true
    if [[ $line == *' persist'* ]]; then
        persist=yes
    fi
    if [[ $line =~ \ user\ ([0-9]+) ]]; then
        owner=${BASH_REMATCH[1]}
    fi
    printf 'persist=%s owner=%s\n' "$persist" "$owner"
}

ensure_up() {
    local ifname=$1
    if ! link_is_up "$ifname"; then
        "${IP[@]}" link set dev "$ifname" up
        changed "brought $ifname up $(where)"
    fi
}

ensure_down() {
    local ifname=$1
    if link_is_up "$ifname"; then
        "${IP[@]}" link set dev "$ifname" down
        changed "brought $ifname down $(where)"
    fi
}

# ensure_no_ipv6 IF: a bridge port carries frames for others and needs no addresses of its own;
# with IPv6 on, the kernel would send router solicitations and MLD reports from it, which show
# up in every capture of the appliance's traffic. Done before the port is brought up. A kernel
# without IPv6 has nothing to turn off.
ensure_no_ipv6() {
    local ifname=$1 f=/proc/sys/net/ipv6/conf/$1/disable_ipv6 cur run=()
    if [ -n "$NETNS" ]; then
        run=(ip netns exec "$NETNS")
    fi
    cur=$("${run[@]}" cat "$f" 2>/dev/null) || return 0
    if [ "$cur" != 1 ]; then
        "${run[@]}" tee "$f" <<<1 >/dev/null
        changed "turned IPv6 off on bridge port $ifname $(where)"
    fi
}

# ensure_addr IF CIDR: add CIDR to IF unless it is already there. Other addresses are left alone
# (and mentioned), since someone else may rely on them.
ensure_addr() {
    local ifname=$1 cidr=$2 have others
    have=$("${IP[@]}" -o -4 addr show dev "$ifname" | awk '{ print $4 }')
    if grep -Fqx -- "$cidr" <<<"$have"; then
        return 0
    fi
    "${IP[@]}" addr add "$cidr" dev "$ifname"
    changed "added address $cidr to $ifname $(where)"
    others=$(grep -Fvx -- "$cidr" <<<"$have" | tr '\n' ' ') || true
    if [ -n "${others// /}" ]; then
        warn "$ifname also has $others(left as is)"
    fi
}

# ensure_bridge BR: BR exists and is a bridge. New bridges get STP off and no forwarding delay so
# a port forwards as soon as it is up (a lab has no loops, and QEMU should not wait 30 s).
ensure_bridge() {
    local br=$1 kind
    if link_exists "$br"; then
        kind=$(link_kind "$br")
        if [ "$kind" != bridge ]; then
            die "$br exists $(where) but is $(kind_label "$kind"), not a bridge. Fix: choose another" \
                "bridge name, or remove it with 'ip ${NETNS:+-n $NETNS }link del $br'."
        fi
        return 0
    fi
    "${IP[@]}" link add name "$br" type bridge stp_state 0 forward_delay 0
    changed "created bridge $br $(where)"
}

# ensure_master IF BR: IF is a port of BR. A port of another bridge is an error, not a silent move.
ensure_master() {
    local ifname=$1 br=$2 cur
    cur=$(link_master "$ifname")
    if [ "$cur" = "$br" ]; then
        return 0
    fi
    if [ -n "$cur" ]; then
        die "$ifname is already a port of $cur $(where), not of $br. Fix: detach it first with" \
            "'ip ${NETNS:+-n $NETNS }link set dev $ifname nomaster'."
    fi
    "${IP[@]}" link set dev "$ifname" master "$br"
    changed "added $ifname to bridge $br $(where)"
}

# ensure_tap IF [UID]: IF exists and is a persistent TAP (owned by UID when one is given).
ensure_tap() {
    local ifname=$1 uid=${2:-} kind info
    if link_exists "$ifname"; then
        kind=$(link_kind "$ifname")
        if [ "$kind" != tap ]; then
            die "$ifname exists $(where) but is $(kind_label "$kind"), not a TAP. Fix: choose another name."
        fi
        info=$(tap_info "$ifname")
        if [[ $info != *persist=yes* ]]; then
            die "$ifname exists $(where) but is not persistent: a running program (such as QEMU)" \
                "created it and owns it. Fix: choose another name, or stop that program first."
        fi
        if [ -n "$uid" ] && [[ $info != *"owner=$uid" ]]; then
            die "TAP $ifname exists $(where) with ${info#* } instead of owner=$uid; the owner cannot" \
                "be changed in place. Fix: remove it (tap-destroy $ifname${NETNS:+ --netns $NETNS})" \
                "and create it again."
        fi
        return 0
    fi
    if [ -n "$uid" ]; then
        "${IP[@]}" tuntap add dev "$ifname" mode tap user "$uid"
        changed "created persistent TAP $ifname owned by uid $uid $(where)"
    else
        "${IP[@]}" tuntap add dev "$ifname" mode tap
        changed "created persistent TAP $ifname $(where)"
    fi
}

# ---- option parsing ---------------------------------------------------------------------------------

# help_requested ARGS...: --help/-h anywhere wins over every other check.
help_requested() {
    local a
    for a in "$@"; do
        case $a in
        -h | --help) return 0 ;;
        --) return 1 ;;
        esac
    done
    return 1
}

# need_value OPTION ARGS-AFTER-IT...: an option that takes a value must get one.
need_value() {
    local opt=$1
    shift
    if [ $# -eq 0 ]; then
        usage_error "option $opt needs a value"
    fi
    if [[ $1 == -* ]]; then
        usage_error "option $opt needs a value, not '$1'"
    fi
}
