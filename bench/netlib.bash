# bench/netlib.bash — shared parts of bench/net.sh and bench/vnet.sh (sourced, not run; the
# .bash suffix keeps it out of `make bench`): figures (iperf, ping, median, ratio), the namespace
# lab, the Linux guest run directly by QEMU (the "native" reference), and process bookkeeping so
# that the caller's EXIT trap stops everything it started.
#
# The caller sets PROG, ROOT, RUNS, SECS (iperf seconds per run), SCALE (timeout multiplier) and
# GUEST_DIR before sourcing, then calls nl_start (its EXIT trap runs nl_cleanup).
# shellcheck shell=bash

NL_LAB=           # the lab's name once nl_lab_up made it
NL_PIDS=()        # background processes to stop on exit (QEMUs)
NL_IPERF_SLACK=30 # seconds an iperf run may take beyond its -t (before SCALE)

nl_die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}
nl_say() { printf '%s: %s\n' "$PROG" "$*" >&2; }

# nl_check_numbers: RUNS, SECS and SCALE are well-formed (dies otherwise).
# shellcheck disable=SC2153 # SECS is the caller's
nl_check_numbers() {
    case $RUNS in '' | *[!0-9]* | 0) nl_die "RUNS must be a positive number" ;; esac
    case $SECS in '' | *[!0-9]* | 0) nl_die "SECONDS_PER_RUN must be a positive number" ;; esac
    [[ $SCALE =~ ^[0-9]+(\.[0-9]+)?$ ]] || nl_die "PETREL_TEST_TIMEOUT_SCALE must be a number"
}

# nl_guest_dir: sets GUEST_DIR to the Linux guest (tools/mkguest-linux's, refreshed, unless the
# caller named one) and checks it has vmlinuz and initrd.img.
nl_guest_dir() {
    if [ -z "$GUEST_DIR" ]; then
        GUEST_DIR=$ROOT/build/guests/linux
        "$ROOT/tools/mkguest-linux" --out "$GUEST_DIR" >&2 || nl_die "tools/mkguest-linux failed"
    fi
    if [ ! -f "$GUEST_DIR/vmlinuz" ] || [ ! -f "$GUEST_DIR/initrd.img" ]; then
        nl_die "no vmlinuz/initrd.img in $GUEST_DIR"
    fi
}

# nl_start NAME: the run's temporary directory (TMP) and the traps that remove it and stop
# everything started (nl_cleanup) on exit, also on failure or Ctrl-C; START = now.
nl_start() {
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/petrel-bench-$1.XXXXXX")
    trap 'nl_cleanup; rm -rf "$TMP"' EXIT
    trap 'exit 130' INT TERM
    # shellcheck disable=SC2034 # read by the caller
    START=$(date +%s)
}

# nl_secs N: N seconds scaled by SCALE (PETREL_TEST_TIMEOUT_SCALE), rounded up.
nl_secs() {
    awk -v n="$1" -v s="${SCALE:-1}" 'BEGIN { v = n * s; printf "%d\n", (v == int(v)) ? v : int(v) + 1 }'
}

# nl_stop PID: SIGTERM, then SIGKILL after 5 s; waits for it and forgets it.
nl_stop() {
    local pid=$1 i p keep=()
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for p in "${NL_PIDS[@]}"; do
        [ "$p" = "$pid" ] || keep+=("$p")
    done
    NL_PIDS=("${keep[@]}")
}

nl_cleanup() {
    local p
    for p in "${NL_PIDS[@]}"; do
        nl_stop "$p"
    done
    if [ -n "$NL_LAB" ]; then
        "$ROOT/tap-setup/lab-netns" down "$NL_LAB" --force >/dev/null 2>&1 ||
            nl_say "warning: 'tap-setup/lab-netns down $NL_LAB --force' failed; remove it by hand"
        NL_LAB=
    fi
}

# nl_lab_up TAP2: a lab (unique name) with one host, h1 = 10.77.0.11, the bridge at .1 and TAP
# tap0; TAP2 (if not empty) a second TAP on the same bridge (for a second QEMU). Sets NL_LAB and
# NL_H1.
nl_lab_up() {
    local name
    name=pb$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
    NL_LAB=$name
    "$ROOT/tap-setup/lab-netns" up "$name" --hosts 1 >/dev/null ||
        nl_die "tap-setup/lab-netns up $name failed"
    NL_H1=$name-h1
    if [ -n "$1" ]; then
        ip -n "$name" tuntap add dev "$1" mode tap ||
            nl_die "cannot add TAP $1 to lab $name"
        ip -n "$name" link set dev "$1" master petrelbr0 up
    fi
    # One lossy run must not slow the next one down through cached TCP metrics.
    ip netns exec "$NL_H1" sysctl -qw net.ipv4.tcp_no_metrics_save=1
}

# nl_flush_neigh: forget h1's ARP entries (the next target may have another MAC on that IP).
nl_flush_neigh() {
    ip -n "$NL_H1" neigh flush all 2>/dev/null || true
}

# nl_wait_for FILE REGEX SECONDS PID: 0 once REGEX (grep -E) is in FILE, 1 after SECONDS or when
# PID has exited.
nl_wait_for() {
    local file=$1 re=$2 secs=$3 pid=$4 i
    for ((i = 0; i < secs * 10; i++)); do
        if grep -aqE "$re" "$file" 2>/dev/null; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    grep -aqE "$re" "$file" 2>/dev/null
}

# nl_qemu_device MODEL: QEMU's -device for a NIC model name as the bench scripts use them.
nl_qemu_device() {
    case $1 in
    rtl8139) echo rtl8139 ;;
    ne2k) echo ne2k_pci ;;
    ne2k-isa) echo ne2k_isa,iobase=0x300,irq=9 ;;
    virtio)
        # NATIVE_VIRTIO=petrel: only the features Petrel's virtio-net model offers (checksum
        # and TSO4 both ways, mergeable RX buffers; no TSO6, ECN or UFO), for a like-for-like
        # reference; the default is QEMU's virtio-net as it comes (all of them).
        if [ "${NATIVE_VIRTIO:-qemu}" = petrel ]; then
            echo "virtio-net-pci,csum=on,guest_csum=on,gso=off,host_tso4=on,host_tso6=off,host_ecn=off,host_ufo=off,guest_tso4=on,guest_tso6=off,guest_ecn=off,guest_ufo=off,mrg_rxbuf=on"
        else
            echo virtio-net-pci
        fi
        ;;
    *) nl_die "unknown NIC model '$1'" ;;
    esac
}

# nl_start_native MODEL IP MAC TAP SERIAL: the Linux guest (GUEST_DIR) run directly by QEMU in the
# lab namespace on TAP, with the QEMU NIC model MODEL, address IP/24 and the iperf server; waits
# for its iperf marker. Sets NATIVE_PID. Returns 1 (with the console's tail) if it did not come up.
nl_start_native() {
    local model=$1 ip=$2 mac=$3 tap=$4 serial=$5 dev
    dev=$(nl_qemu_device "$model")
    ip netns exec "$NL_LAB" qemu-system-x86_64 -machine pc -cpu qemu64 -smp 1 -m 256 \
        -display none -vga none -no-reboot -nic none \
        -kernel "$GUEST_DIR/vmlinuz" -initrd "$GUEST_DIR/initrd.img" \
        -append "console=ttyS0 tsc=reliable petrel.ip=$ip/24 petrel.iperf=1" \
        -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" -device "$dev,netdev=n0,mac=$mac" \
        -serial "file:$serial" </dev/null >"$serial.qemu" 2>&1 &
    NATIVE_PID=$!
    NL_PIDS+=("$NATIVE_PID")
    if nl_wait_for "$serial" "PETREL-GUEST-IPERF listening" "$(nl_secs 120)" "$NATIVE_PID"; then
        return 0
    fi
    nl_say "the Linux guest ($model, run by QEMU) did not start its iperf server; console:"
    tail -n 15 "$serial" "$serial.qemu" >&2 2>/dev/null || true
    nl_stop "$NATIVE_PID"
    return 1
}

# shellcheck disable=SC2153 # SECS comes from the caller
# nl_iperf DIR HOST [PREFIX...]: one iperf 2 run of SECS seconds against HOST:5001; prints Mbit/s
# or nothing. rx: to HOST (`iperf -c`, the client's figure). tx: from HOST, the reverse stream the
# server opens back to the client's port 5002 for `-d` (--txdelay-time 1 holds the forward stream
# a second so the reverse one connects first).
# The forward half of -d runs at the same time: tx is measured under two-way load, for every
# target alike. PREFIX runs the client elsewhere, e.g. ip netns exec NS.
nl_iperf() {
    local dir=$1 host=$2 out port=5001
    shift 2
    if [ "$dir" = rx ]; then
        out=$(timeout "$(nl_secs $((SECS + NL_IPERF_SLACK)))" "$@" iperf -c "$host" -p 5001 \
            -t "$SECS" -y C 2>/dev/null) || true
    else
        port=5002
        out=$(timeout "$(nl_secs $((SECS + NL_IPERF_SLACK)))" "$@" iperf -c "$host" -p 5001 \
            -t "$SECS" -d -L 5002 --txdelay-time 1 -y C 2>/dev/null) || true
    fi
    nl_iperf_csv "$port" <<<"$out"
}

# nl_iperf_csv PORT: the Mbit/s of the (last) iperf -y C line whose server port is PORT.
nl_iperf_csv() {
    tr -d '\r' | awk -F, -v p="$1" '$5 == p && $8 > 0 { v = $9 } END { if (v != "") printf "%.1f\n", v / 1e6 }'
}

# nl_ping_ms HOST [PREFIX...]: the average round trip (ms) of 10 pings 0.2 s apart, or nothing.
# Two pings before them are not counted: the first waits for ARP and, under TCG, for code run for
# the first time (several ms for a nested guest), which would decide a 10-ping average alone.
nl_ping_ms() {
    local host=$1 out
    shift
    timeout "$(nl_secs 10)" "$@" ping -n -q -c 2 -i 0.2 -W 2 "$host" >/dev/null 2>&1 || true
    out=$(timeout "$(nl_secs 30)" "$@" ping -n -q -c 10 -i 0.2 -W 2 "$host" 2>/dev/null) || true
    awk -F/ '/^(rtt|round-trip)/ { printf "%.3f\n", $5 }' <<<"$out"
}

# nl_median: the median of the numbers on stdin ('-' for none).
nl_median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit }
        if (NR % 2) print v[(NR + 1) / 2]; else printf "%g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# nl_ratio A B: A/B with two decimals, '-' if either is missing or B is 0.
nl_ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || a == "" || b == "" || b == 0) print "-"; else printf "%.2f\n", a / b }'
}

# nl_repeat VAR LABEL N CMD...: runs CMD N times and sets VAR to the median of what it printed
# ('-' if nothing); says LABEL and the figures on stderr; a run without output is tried once
# more (after calling the function named by NL_ON_MISS, if set: e.g. a restart of the target),
# and if that fails too it is reported and sets NL_MISSED=1 (for the caller's exit status).
NL_MISSED=0
nl_repeat() {
    local var=$1 label=$2 n=$3 r v vals=()
    shift 3
    for ((r = 1; r <= n; r++)); do
        v=$("$@")
        if [ -z "$v" ]; then
            # One more try: on a loaded machine a connection (iperf's reverse stream above
            # all) sometimes misses its moment; a second miss counts.
            nl_say "$label: run $r gave no result; trying it once more"
            if [ -n "${NL_ON_MISS:-}" ]; then
                "$NL_ON_MISS" || true
            fi
            v=$("$@")
        fi
        if [ -n "$v" ]; then
            vals+=("$v")
        else
            nl_say "$label: run $r gave no result"
            # shellcheck disable=SC2034 # read by the caller
            NL_MISSED=1
        fi
    done
    v=$(printf '%s\n' "${vals[@]}" | awk 'NF' | nl_median)
    printf -v "$var" '%s' "$v"
    nl_say "$label: ${vals[*]:-none} -> median $v"
}
