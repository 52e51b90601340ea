#!/usr/bin/env bash
# bench/vnet.sh — what VNET costs, measured in one run (issue 7's benchmark). Three parts (PARTS):
#
# own     The appliance's own stack through the switch (NIC -> edge -> switch -> local -> lwIP)
#         versus lwIP directly on the NIC ([vnet] switch = off), over QEMU user networking
#         (slirp) with tools/run's host forwards, per host NIC model (NICS). v/d should stay
#         near 1. Needs host port LISTEN (5002) free on 127.0.0.1.
# guests  For each guest NIC model (GUEST_NICS: virtio, rtl8139, ne2k): a Linux guest (tools/
#         mkguest-linux, petrel.iperf=1: iperf 2 server) under Petrel, its NIC bridged to the
#         edge (host NIC HOST_NIC) on the TAP of a namespace lab; from the lab host h1:
#           guest rx/tx  iperf throughput h1 -> guest / guest -> h1 (the directions of
#                        bench/net.sh: tx is the reverse stream of `-d -L 5002`), and ping
#                        latency h1 -> guest (average of 10 pings after 2 uncounted ones), each
#                        the median of RUNS;
#           own          the appliance's own lwIP (its iperf server) on the same host NIC, same
#                        boot: rx, tx, ping (what the guest's path adds to the appliance's own);
#           native       the same Linux guest run directly by QEMU (-kernel/-initrd) with that
#                        NIC model on the same TAP and address: rx, tx, ping; for virtio twice:
#                        QEMU's virtio-net as it comes (checksum offload and TSO/GSO: 64 KiB
#                        segments through the TAP) and with only the features Petrel's model
#                        offers (checksum and TSO4 both ways, mergeable RX buffers; no
#                        TSO6, ECN or UFO), the like-for-like figure;
#           exits/pkt    the VM's exits (`vm info linux` on the appliance's console, every exit
#                        reason, counted always) over the guest's frames (`vnet ports`: rx + tx of
#                        port linux.eth0) across all the guest's iperf runs.
#         Goal (virtio): guest/native throughput >= 0.90, latency <= 1.5x native.
# vxlan   Two appliances on the lab's bridge (TAPs tap0 and tap1) joined by a VXLAN link (VNI
#         42, network 7), a guest (VXLAN_NIC, virtio) on each; iperf from guest A (driven
#         through its console_port) to guest B: rx = A -> B, tx = B -> A (`-d` again). Printed
#         as a ratio to the edge path (guest <-> h1 with the same guest NIC model, from the
#         guests part). Goal >= 0.80.
#
# Everything runs under QEMU TCG; the guests are nested (Linux under Petrel under TCG), so the
# absolute figures are small and move with the machine's load: the same-run ratios are the point.
# Needs root (namespaces). Environment: RUNS (3), SECONDS_PER_RUN (5), PARTS ("own guests
# vxlan"), NICS ("rtl8139 ne2k virtio"), HOST_NIC (virtio; rtl8139, ne2k), GUEST_NICS ("virtio rtl8139 ne2k"),
# VXLAN_NIC (virtio), KERNEL (build/petrel.elf), GUEST (directory with vmlinuz and initrd.img;
# default tools/mkguest-linux's build/guests/linux, refreshed first), LISTEN (5002),
# PETREL_TEST_TIMEOUT_SCALE (multiplies every timeout), SMP (the appliances' CPUs, passed to
# tools/run: 2 runs the guests on a guest CPU), PROFILE (1: print the appliance's time
# split and the guest's exit reasons before each guest's iperf runs and after each direction,
# and in part vxlan both appliances' after each direction).
# Everything it creates (lab, QEMUs, temporary files) is removed on exit, also on failure or
# Ctrl-C. Exit status: 0 when every figure was measured (goals are reported, not enforced), 1
# otherwise.
set -euo pipefail

PROG=${0##*/}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KERNEL=${KERNEL:-$ROOT/build/petrel.elf}
RUNS=${RUNS:-3}
SECS=${SECONDS_PER_RUN:-5}
PARTS=${PARTS:-own guests vxlan}
NICS=${NICS:-rtl8139 ne2k virtio}
HOST_NIC=${HOST_NIC:-virtio}
GUEST_NICS=${GUEST_NICS:-virtio rtl8139 ne2k}
VXLAN_NIC=${VXLAN_NIC:-virtio}
SCALE=${PETREL_TEST_TIMEOUT_SCALE:-1}
GUEST_DIR=${GUEST:-}
LISTEN=${LISTEN:-5002} # host port the appliance connects back to in part own (slirp)
BOOT_TIMEOUT=60        # seconds until an appliance has its address (times SCALE)
GUEST_TIMEOUT=240      # seconds until a guest under Petrel serves iperf (times SCALE)
APPL=10.77.0.2         # appliance A (tap0)
APPL_B=10.77.0.4       # appliance B (tap1, part vxlan)
GUEST_IP=10.77.0.3     # the guest on the edge (and the native guest)
GUEST_MAC=52:54:00:77:00:03
PASSWORD=bench-$$-$RANDOM

# shellcheck source-path=SCRIPTDIR source=netlib.bash
. "$ROOT/bench/netlib.bash"

PY=/usr/bin/python3 # Debian's (tools/mkpasswd, bench/petrel_console.py: standard library only)
for t in iperf ip ping ss qemu-system-x86_64 awk sort "$PY"; do
    command -v "$t" >/dev/null || nl_die "$t not found: run 'make deps'"
done
[ -f "$KERNEL" ] || nl_die "kernel $KERNEL not found: run 'make'"
nl_check_numbers
for p in $PARTS; do
    case $p in own | guests | vxlan) ;; *) nl_die "unknown part '$p' in PARTS (own guests vxlan)" ;; esac
done
for n in $NICS $HOST_NIC; do
    case $n in rtl8139 | ne2k | ne2k-isa | virtio) ;; *) nl_die "unknown host NIC model '$n'" ;; esac
done
for n in $GUEST_NICS $VXLAN_NIC; do
    case $n in virtio | rtl8139 | ne2k) ;; *) nl_die "unknown guest NIC model '$n'" ;; esac
done
part() { [[ " $PARTS " == *" $1 "* ]]; }
if part guests || part vxlan; then
    [ "$(id -u)" -eq 0 ] || nl_die "parts guests and vxlan need root (a namespace lab); run 'sudo $0'"
    nl_guest_dir
fi
nl_start vnet
FAILED=0
declare -A RES

# ---- part own: lwIP through the switch vs directly on the NIC, over slirp ------------------------

# free_offset: an offset N such that 127.0.0.1:N+{2323,5140,5001,5555} are all free.
free_offset() {
    local n p busy
    for _ in $(seq 50); do
        n=$((20000 + RANDOM % 30000))
        busy=0
        for p in 2323 5140 5001 5555; do
            if ss -Hltn "sport = :$((n + p))" | grep -q .; then
                busy=1
            fi
        done
        if [ "$busy" -eq 0 ]; then
            echo "$n"
            return 0
        fi
    done
    nl_die "no free block of TCP ports on 127.0.0.1"
}

# slirp_iperf DIR: one run against the appliance booted by own_measure; Mbit/s or nothing.
slirp_iperf() {
    local out port=$((OFFSET + 5001)) t
    t=$(nl_secs $((SECS + NL_IPERF_SLACK)))
    if [ "$1" = rx ]; then
        out=$(timeout "$t" iperf -c 127.0.0.1 -p "$port" -t "$SECS" -y C 2>/dev/null) || true
        nl_iperf_csv "$port" <<<"$out"
    else
        out=$(timeout "$t" iperf -c 127.0.0.1 -p "$port" -t "$SECS" -d -L "$LISTEN" \
            --txdelay-time 1 -y C 2>/dev/null) || true
        nl_iperf_csv "$LISTEN" <<<"$out"
    fi
}

# own_measure MODE NIC: boots the MODE (vnet|direct) ISO on slirp, sets RES[own.NIC.MODE.rx|tx].
own_measure() {
    local mode=$1 nic=$2 serial pid dir
    RES[own.$nic.$mode.rx]=- RES[own.$nic.$mode.tx]=-
    serial=$TMP/serial-own-$mode-$nic
    OFFSET=$(free_offset)
    "$ROOT/tools/run" --iso "$TMP/own-$mode.iso" --mem 256 --nic "$nic" --net user \
        --hostfwd-offset "$OFFSET" </dev/null >"$serial" 2>&1 &
    pid=$!
    NL_PIDS+=("$pid")
    if ! nl_wait_for "$serial" "net +info  address " "$(nl_secs "$BOOT_TIMEOUT")" "$pid"; then
        nl_say "the appliance ($mode, $nic) did not get its address; serial:"
        tail -n 20 "$serial" >&2
        FAILED=1
        nl_stop "$pid"
        return 0
    fi
    if [ "$mode" = vnet ] && ! grep -aq "(VNET local port)" "$serial"; then
        nl_say "warning: $nic: the vnet ISO did not put lwIP on the switch"
    fi
    if [ "$mode" = direct ] && grep -aq "(VNET local port)" "$serial"; then
        nl_say "warning: $nic: the direct ISO still uses the switch"
    fi
    for dir in rx tx; do
        nl_repeat "RES[own.$nic.$mode.$dir]" "own $mode $nic $dir (Mbit/s)" "$RUNS" slirp_iperf "$dir"
    done
    nl_stop "$pid"
}

if part own; then
    printf '[vnet]\nswitch = on\n' >"$TMP/own-vnet.conf"
    printf '[vnet]\nswitch = off\n' >"$TMP/own-direct.conf"
    for mode in vnet direct; do
        "$ROOT/tools/mkiso" --kernel "$KERNEL" -c "$TMP/own-$mode.conf" -o "$TMP/own-$mode.iso" \
            >/dev/null || nl_die "tools/mkiso failed"
    done
    for nic in $NICS; do
        nl_say "part own: $nic through the switch and directly ($RUNS x ${SECS}s each way)"
        own_measure vnet "$nic"
        own_measure direct "$nic"
    done
fi

# ---- the lab, the appliances with guests ---------------------------------------------------------

# The console password (the VM console ports refuse a read-only console).
secret=$(printf '%s\n' "$PASSWORD" | "$PY" "$ROOT/tools/mkpasswd" --stdin --salt "b$RANDOM") ||
    nl_die "tools/mkpasswd failed"
printf '%s\n' "$PASSWORD" >"$TMP/password"

# make_iso NAME ADDR CONFIG: an appliance ISO with the Linux guest, static address ADDR/24.
make_iso() {
    "$ROOT/tools/mkiso" --kernel "$KERNEL" -c "$3" -m "$GUEST_DIR/vmlinuz" \
        -m "$GUEST_DIR/initrd.img" --cmdline "ip=$2/24 gw=10.77.0.1 console.password=$secret" \
        -o "$TMP/$1.iso" >/dev/null || nl_die "tools/mkiso failed for $1"
}

# guest_conf NIC GUEST_CMDLINE_ADDR MAC [EXTRA LINE...]: a [vm linux] section.
guest_conf() {
    local nic=$1 addr=$2 mac=$3
    shift 3
    printf '[vm linux]\nmemory = 128M\nkernel = vmlinuz\ninitrd = initrd.img\n'
    printf 'cmdline = console=ttyS0 tsc=reliable petrel.ip=%s/24 petrel.iperf=1\n' "$addr"
    printf 'nic = %s,mac=%s%s\n' "$nic" "$mac" "${NET_SUFFIX:-}"
    printf '%s\n' "$@"
}

# start_petrel ISO TAP MAC SERIAL: an appliance in the lab (tools/run, host NIC HOST_NIC, 512 MiB)
# whose guest serves iperf; waits for both. Sets PETREL_PID.
start_petrel() {
    local iso=$1 tap=$2 mac=$3 serial=$4
    "$ROOT/tools/run" --iso "$iso" --mem 512 --nic "$HOST_NIC" --tap "$tap" --netns "$NL_LAB" \
        --mac "$mac" </dev/null >"$serial" 2>&1 &
    PETREL_PID=$!
    NL_PIDS+=("$PETREL_PID")
    if nl_wait_for "$serial" "net +info  address " "$(nl_secs "$BOOT_TIMEOUT")" "$PETREL_PID" &&
        nl_wait_for "$serial" "PETREL-GUEST-IPERF listening" "$(nl_secs "$GUEST_TIMEOUT")" \
            "$PETREL_PID"; then
        return 0
    fi
    nl_say "appliance ($iso) or its guest did not come up; serial:"
    tail -n 25 "$serial" >&2
    nl_stop "$PETREL_PID"
    return 1
}

# console CMD...: runs the commands on appliance A's console (CONSOLE_HOST: another one) from
# h1; prints their output.
console() {
    ip netns exec "$NL_H1" timeout "$(nl_secs 60)" "$PY" "$ROOT/bench/petrel_console.py" \
        "${CONSOLE_HOST:-$APPL}" 23 --password-file "$TMP/password" --timeout "$(nl_secs 30)" "$@"
}

# counters: "EXITS FRAMES" of VM linux and its port linux.eth0 (rx + tx), or nothing.
counters() {
    console "vm info linux" "vnet ports" 2>/dev/null | awk '
        /^counters / { e = $2 }
        $2 == "linux.eth0" && $3 == "vnic" { f = $7 + $8 }
        END { if (e != "" && f != "") print e, f }'
}

# profile WHEN: with PROFILE=1, prints where appliance A's (CONSOLE_HOST's) time went (`cpu`:
# idle and vCPU time) and the guest's exit reasons and time split (`vm info linux`), to read
# beside the figures.
profile() {
    [ "${PROFILE:-0}" = 1 ] || return 0
    nl_say "profile ($1):"
    console "cpu" "vm info linux" "vnet ports" 2>/dev/null | sed 's/^/    /' >&2 || true
}

if part guests || part vxlan; then
    NEED_TAP1=
    if part vxlan; then
        NEED_TAP1=tap1
    fi
    nl_lab_up "$NEED_TAP1"
fi

# ---- part guests ------------------------------------------------------------------------------------

guest_measure() {
    local g=$1 serial before after dir
    for k in rx tx ping own_rx own_tx own_ping nat_rx nat_tx nat_ping pf_rx pf_tx pf_ping exits; do
        RES[g.$g.$k]=-
    done
    guest_conf "$g" "$GUEST_IP" "$GUEST_MAC" >"$TMP/g-$g.conf"
    make_iso "g-$g" "$APPL" "$TMP/g-$g.conf"
    nl_flush_neigh
    serial=$TMP/serial-guest-$g
    if start_petrel "$TMP/g-$g.iso" tap0 52:54:00:12:34:56 "$serial"; then
        # Latency first, on an idle link (and before a transfer can have upset a NIC).
        nl_repeat "RES[g.$g.ping]" "guest $g via VNET ping (ms)" "$RUNS" \
            nl_ping_ms "$GUEST_IP" ip netns exec "$NL_H1"
        nl_repeat "RES[g.$g.own_ping]" "appliance lwIP on $HOST_NIC ping (ms)" "$RUNS" \
            nl_ping_ms "$APPL" ip netns exec "$NL_H1"
        before=$(counters)
        [ -n "$before" ] || nl_say "guest $g: no counters from the console (before)"
        profile "guest $g, before iperf"
        for dir in rx tx; do
            nl_repeat "RES[g.$g.$dir]" "guest $g via VNET $dir (Mbit/s)" "$RUNS" \
                nl_iperf "$dir" "$GUEST_IP" ip netns exec "$NL_H1"
            profile "guest $g, after iperf $dir"
        done
        after=$(counters)
        [ -n "$after" ] || nl_say "guest $g: no counters from the console (after)"
        if [ -n "$before" ] && [ -n "$after" ]; then
            RES[g.$g.exits]=$(awk -v b="$before" -v a="$after" 'BEGIN { split(b, x, " ")
                split(a, y, " "); f = y[2] - x[2]; if (f > 0) printf "%.2f\n", (y[1] - x[1]) / f
                else print "-" }')
            nl_say "guest $g: $before -> $after (exits frames): ${RES[g.$g.exits]} exits/frame"
        else
            FAILED=1
        fi
        for dir in rx tx; do
            nl_repeat "RES[g.$g.own_$dir]" "appliance lwIP on $HOST_NIC $dir (Mbit/s)" "$RUNS" \
                nl_iperf "$dir" "$APPL" ip netns exec "$NL_H1"
        done
        nl_stop "$PETREL_PID"
    else
        FAILED=1
    fi
    nl_flush_neigh
    if nl_start_native "$g" "$GUEST_IP" "$GUEST_MAC" tap0 "$TMP/serial-native-$g"; then
        nl_repeat "RES[g.$g.nat_ping]" "guest $g native ping (ms)" "$RUNS" \
            nl_ping_ms "$GUEST_IP" ip netns exec "$NL_H1"
        for dir in rx tx; do
            nl_repeat "RES[g.$g.nat_$dir]" "guest $g native $dir (Mbit/s)" "$RUNS" \
                nl_iperf "$dir" "$GUEST_IP" ip netns exec "$NL_H1"
        done
        nl_stop "$NATIVE_PID"
    else
        FAILED=1
    fi
    [ "$g" = virtio ] || return 0
    nl_flush_neigh
    if NATIVE_VIRTIO=petrel nl_start_native "$g" "$GUEST_IP" "$GUEST_MAC" tap0 \
        "$TMP/serial-native-pf-$g"; then
        nl_repeat "RES[g.$g.pf_ping]" "guest $g native, Petrel's features, ping (ms)" "$RUNS" \
            nl_ping_ms "$GUEST_IP" ip netns exec "$NL_H1"
        for dir in rx tx; do
            nl_repeat "RES[g.$g.pf_$dir]" "guest $g native, Petrel's features, $dir (Mbit/s)" \
                "$RUNS" nl_iperf "$dir" "$GUEST_IP" ip netns exec "$NL_H1"
        done
        nl_stop "$NATIVE_PID"
    else
        FAILED=1
    fi
}

if part guests; then
    for g in $GUEST_NICS; do
        nl_say "part guests: $g guest via VNET (host NIC $HOST_NIC), then natively ($RUNS x ${SECS}s)"
        guest_measure "$g"
    done
fi

# ---- part vxlan ------------------------------------------------------------------------------------

# guest_iperf DIR: one run from guest A to guest B over the VXLAN link, through A's console port.
guest_iperf() {
    local out args="-t $SECS -y C" port=5001
    if [ "$1" = tx ]; then
        args="$args -d -L 5002 --txdelay-time 1"
        port=5002
    fi
    out=$(ip netns exec "$NL_H1" timeout "$(nl_secs $((SECS + NL_IPERF_SLACK + 30)))" \
        "$PY" "$ROOT/bench/petrel_console.py" "$APPL" 2301 --guest \
        --password-file "$TMP/password" --timeout "$(nl_secs $((SECS + NL_IPERF_SLACK)))" \
        "iperf -c 192.168.77.2 $args" 2>/dev/null) || true
    nl_iperf_csv "$port" <<<"$out"
}

if part vxlan; then
    nl_say "part vxlan: guests ($VXLAN_NIC) on two appliances joined by VXLAN ($RUNS x ${SECS}s)"
    RES[vx.rx]=- RES[vx.tx]=-
    NET_SUFFIX=,net=7 guest_conf "$VXLAN_NIC" 192.168.77.1 52:54:00:77:01:01 "console_port = 2301" \
        '[vnet]' "link = vx:b vni 42 remote $APPL_B network 7" >"$TMP/vx-a.conf"
    NET_SUFFIX=,net=7 guest_conf "$VXLAN_NIC" 192.168.77.2 52:54:00:77:01:02 \
        '[vnet]' "link = vx:a vni 42 remote $APPL network 7" >"$TMP/vx-b.conf"
    make_iso vx-a "$APPL" "$TMP/vx-a.conf"
    make_iso vx-b "$APPL_B" "$TMP/vx-b.conf"
    nl_flush_neigh
    if start_petrel "$TMP/vx-a.iso" tap0 52:54:00:12:34:56 "$TMP/serial-vx-a"; then
        A_PID=$PETREL_PID
        if start_petrel "$TMP/vx-b.iso" tap1 52:54:00:12:34:58 "$TMP/serial-vx-b"; then
            for dir in rx tx; do
                nl_repeat "RES[vx.$dir]" "VXLAN guest A <-> guest B $dir (Mbit/s)" "$RUNS" \
                    guest_iperf "$dir"
                profile "VXLAN $dir, appliance A"
                CONSOLE_HOST=$APPL_B profile "VXLAN $dir, appliance B"
            done
            nl_stop "$PETREL_PID"
        else
            FAILED=1
        fi
        nl_stop "$A_PID"
    else
        FAILED=1
    fi
fi
[ "$NL_MISSED" -eq 0 ] || FAILED=1

# ---- report ----------------------------------------------------------------------------------------

verdict() { # verdict VALUE OP GOAL
    awk -v v="$1" -v op="$2" -v g="$3" 'BEGIN { if (v == "-") print "-"
        else if ((op == ">=" && v >= g) || (op == "<=" && v <= g)) print "met"; else print "missed" }'
}

echo "vnet: median of $RUNS runs of ${SECS}s; Mbit/s; rx = into the appliance/guest, tx = out of it"
if part own; then
    echo
    echo "own stack over slirp: through the switch (vnet) vs lwIP directly on the NIC (direct)"
    printf '%-8s %9s %9s %6s %9s %9s %6s\n' NIC "vnet rx" "dir rx" "v/d" "vnet tx" "dir tx" "v/d"
    for nic in $NICS; do
        printf '%-8s %9s %9s %6s %9s %9s %6s\n' "$nic" \
            "${RES[own.$nic.vnet.rx]}" "${RES[own.$nic.direct.rx]}" \
            "$(nl_ratio "${RES[own.$nic.vnet.rx]}" "${RES[own.$nic.direct.rx]}")" \
            "${RES[own.$nic.vnet.tx]}" "${RES[own.$nic.direct.tx]}" \
            "$(nl_ratio "${RES[own.$nic.vnet.tx]}" "${RES[own.$nic.direct.tx]}")"
    done
fi
if part guests; then
    echo
    echo "guests via VNET (host NIC $HOST_NIC, lab TAP) vs the same guest run directly by QEMU (native)"
    printf '%-8s %8s %8s %5s %8s %8s %5s %8s %8s %5s %7s %7s %8s %8s\n' guest "g rx" "nat rx" \
        "g/n" "g tx" "nat tx" "g/n" "g ping" "nat ping" "g/n" "own rx" "own tx" "own ping" "exits/fr"
    for g in $GUEST_NICS; do
        printf '%-8s %8s %8s %5s %8s %8s %5s %8s %8s %5s %7s %7s %8s %8s\n' "$g" \
            "${RES[g.$g.rx]}" "${RES[g.$g.nat_rx]}" "$(nl_ratio "${RES[g.$g.rx]}" "${RES[g.$g.nat_rx]}")" \
            "${RES[g.$g.tx]}" "${RES[g.$g.nat_tx]}" "$(nl_ratio "${RES[g.$g.tx]}" "${RES[g.$g.nat_tx]}")" \
            "${RES[g.$g.ping]}" "${RES[g.$g.nat_ping]}" \
            "$(nl_ratio "${RES[g.$g.ping]}" "${RES[g.$g.nat_ping]}")" \
            "${RES[g.$g.own_rx]}" "${RES[g.$g.own_tx]}" "${RES[g.$g.own_ping]}" "${RES[g.$g.exits]}"
        if [ "$g" = virtio ]; then
            printf '%-8s %8s %8s %5s %8s %8s %5s %8s %8s %5s\n' "virtio*" \
                "${RES[g.$g.rx]}" "${RES[g.$g.pf_rx]}" "$(nl_ratio "${RES[g.$g.rx]}" "${RES[g.$g.pf_rx]}")" \
                "${RES[g.$g.tx]}" "${RES[g.$g.pf_tx]}" "$(nl_ratio "${RES[g.$g.tx]}" "${RES[g.$g.pf_tx]}")" \
                "${RES[g.$g.ping]}" "${RES[g.$g.pf_ping]}" \
                "$(nl_ratio "${RES[g.$g.ping]}" "${RES[g.$g.pf_ping]}")"
        fi
    done
    echo "  ping in ms (h1 -> guest, after two uncounted pings); own = the appliance's lwIP on the same"
    echo "  host NIC, same boot;"
    echo "  exits/fr = the VM's exits / the guest's frames (port rx + tx) during its iperf runs;"
    echo "  virtio* = native with only the features Petrel's virtio-net offers (csum and TSO4 both ways, mergeable RX buffers)"
    if [[ " $GUEST_NICS " == *" virtio "* ]]; then
        rr=$(nl_ratio "${RES[g.virtio.rx]}" "${RES[g.virtio.nat_rx]}")
        rt=$(nl_ratio "${RES[g.virtio.tx]}" "${RES[g.virtio.nat_tx]}")
        rp=$(nl_ratio "${RES[g.virtio.ping]}" "${RES[g.virtio.nat_ping]}")
        echo "  goal virtio: throughput g/n >= 0.90: rx $(verdict "$rr" '>=' 0.90), tx" \
            "$(verdict "$rt" '>=' 0.90); latency g/n <= 1.5: $(verdict "$rp" '<=' 1.5)"
        rr=$(nl_ratio "${RES[g.virtio.rx]}" "${RES[g.virtio.pf_rx]}")
        rt=$(nl_ratio "${RES[g.virtio.tx]}" "${RES[g.virtio.pf_tx]}")
        rp=$(nl_ratio "${RES[g.virtio.ping]}" "${RES[g.virtio.pf_ping]}")
        echo "  the same against virtio*: rx $(verdict "$rr" '>=' 0.90), tx" \
            "$(verdict "$rt" '>=' 0.90); latency $(verdict "$rp" '<=' 1.5)"
    fi
fi
if part vxlan; then
    echo
    echo "VXLAN guest <-> guest ($VXLAN_NIC, two appliances) vs the edge path (guest <-> h1, same model)"
    erx=${RES[g.$VXLAN_NIC.rx]:--}
    etx=${RES[g.$VXLAN_NIC.tx]:--}
    vr=$(nl_ratio "${RES[vx.rx]}" "$erx")
    vt=$(nl_ratio "${RES[vx.tx]}" "$etx")
    printf '%-6s %9s %9s %6s %s\n' dir vxlan edge "vx/e" "goal >= 0.80"
    printf '%-6s %9s %9s %6s %s\n' rx "${RES[vx.rx]}" "$erx" "$vr" "$(verdict "$vr" '>=' 0.80)"
    printf '%-6s %9s %9s %6s %s\n' tx "${RES[vx.tx]}" "$etx" "$vt" "$(verdict "$vt" '>=' 0.80)"
fi
echo
echo "vnet: took $(($(date +%s) - START)) s"
if [ "$FAILED" -ne 0 ]; then
    nl_say "some figures are missing (see above)"
    exit 1
fi
