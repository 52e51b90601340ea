#!/usr/bin/env bash
# bench/vnet.sh — what VNET costs the appliance's own stack, measured now: lwIP's iperf 2 server
# (lwiperf) reached through the switch (NIC -> edge port -> switch -> local port -> lwIP) versus
# lwIP directly on the NIC ([vnet] switch = off), both over QEMU user networking (slirp) through
# tools/run's host forwards, same NIC model, same run, median of RUNS, both directions (host ->
# appliance: `iperf -c`; appliance -> host: the stream lwiperf opens back for `-d -L LISTEN`).
# The ratio vnet/direct is the figure: it should stay near 1.
#
# Guest figures (each guest NIC model through the edge, Linux run directly by QEMU as the native
# reference, VM exits per packet, VXLAN guest<->guest) come with the guest NIC models (issue 7);
# their columns print "-" until then.
#
# Environment: RUNS (3), SECONDS_PER_RUN (5), NICS ("rtl8139 ne2k"), KERNEL (build/petrel.elf),
# LISTEN (5002, a free host port).
# Everything it creates (QEMU, temporary files) is removed on exit, also on failure or Ctrl-C.
# Exit status: 0 when every figure was measured, 1 otherwise.
set -euo pipefail

PROG=${0##*/}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KERNEL=${KERNEL:-$ROOT/build/petrel.elf}
RUNS=${RUNS:-3}
SECS=${SECONDS_PER_RUN:-5}
NICS=${NICS:-rtl8139 ne2k}
BOOT_TIMEOUT=60 # seconds until the appliance has its address
IPERF_SLACK=30  # seconds an iperf run may take beyond its -t
LISTEN=${LISTEN:-5002} # host port lwiperf connects back to for the tx direction

die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}
say() { printf '%s: %s\n' "$PROG" "$*" >&2; }

for t in iperf ss qemu-system-x86_64 awk sort; do
    command -v "$t" >/dev/null || die "$t not found: run 'make deps'"
done
[ -f "$KERNEL" ] || die "kernel $KERNEL not found: run 'make'"
case $RUNS in '' | *[!0-9]* | 0) die "RUNS must be a positive number" ;; esac
case $SECS in '' | *[!0-9]* | 0) die "SECONDS_PER_RUN must be a positive number" ;; esac

TMP=$(mktemp -d "${TMPDIR:-/tmp}/petrel-bench-vnet.XXXXXX")
QPID=
stop_appliance() {
    if [ -n "$QPID" ]; then
        kill "$QPID" 2>/dev/null || true
        wait "$QPID" 2>/dev/null || true
        QPID=
    fi
}
cleanup() {
    stop_appliance
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

printf '[vnet]\nswitch = on\n' >"$TMP/vnet.conf"
printf '[vnet]\nswitch = off\n' >"$TMP/direct.conf"
for mode in vnet direct; do
    "$ROOT/tools/mkiso" --kernel "$KERNEL" -c "$TMP/$mode.conf" -o "$TMP/$mode.iso" >/dev/null
done

# free_offset: an offset N such that 127.0.0.1:N+{2323,5140,5001,5555} are all free.
# (LISTEN is a fixed host port: the appliance connects back to 10.0.2.2:LISTEN.)
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
    die "no free block of TCP ports on 127.0.0.1"
}

# start_appliance MODE NIC: boots the MODE ISO with slirp and waits for its address.
start_appliance() {
    local mode=$1 nic=$2 i
    SERIAL=$TMP/serial-$mode-$nic-$RANDOM
    OFFSET=$(free_offset)
    "$ROOT/tools/run" --iso "$TMP/$mode.iso" --mem 256 --nic "$nic" --net user \
        --hostfwd-offset "$OFFSET" </dev/null >"$SERIAL" 2>&1 &
    QPID=$!
    for ((i = 0; i < BOOT_TIMEOUT * 10; i++)); do
        if grep -qs "net     info  address " "$SERIAL"; then
            return 0
        fi
        kill -0 "$QPID" 2>/dev/null || break
        sleep 0.1
    done
    say "the appliance ($mode, $nic) did not get its address; serial:"
    tail -n 20 "$SERIAL" >&2
    return 1
}

# iperf_mbps DIR: one run against the booted appliance; prints Mbit/s or nothing. rx: host ->
# appliance (the client's figure); tx: appliance -> host, the reverse stream lwiperf opens for
# `-d` back to 10.0.2.2:LISTEN (slirp maps it to the host's loopback).
iperf_mbps() {
    local out
    if [ "$1" = rx ]; then
        out=$(timeout $((SECS + IPERF_SLACK)) iperf -c 127.0.0.1 -p $((OFFSET + 5001)) \
            -t "$SECS" -y C 2>/dev/null) || true
        awk -F, -v p=$((OFFSET + 5001)) '$5 == p && $8 > 0 { v = $9 } END { if (v != "") printf "%.1f\n", v / 1e6 }' <<<"$out"
    else
        out=$(timeout $((SECS + IPERF_SLACK)) iperf -c 127.0.0.1 -p $((OFFSET + 5001)) \
            -t "$SECS" -d -L "$LISTEN" -y C 2>/dev/null) || true
        awk -F, -v p="$LISTEN" '$5 == p && $8 > 0 { v = $9 } END { if (v != "") printf "%.1f\n", v / 1e6 }' <<<"$out"
    fi
}

# measure MODE NIC: boots the MODE ISO, then sets RX and TX to the median Mbit/s of RUNS runs
# each ('-' if none worked).
measure() {
    local mode=$1 nic=$2 dir r v vals
    RX=-
    TX=-
    start_appliance "$mode" "$nic" || return 0
    if [ "$mode" = vnet ] && ! grep -q "(VNET local port)" "$SERIAL"; then
        say "warning: $nic: the vnet ISO did not put lwIP on the switch"
    fi
    if [ "$mode" = direct ] && grep -q "(VNET local port)" "$SERIAL"; then
        say "warning: $nic: the direct ISO still uses the switch"
    fi
    for dir in rx tx; do
        vals=()
        for ((r = 0; r < RUNS; r++)); do
            v=$(iperf_mbps "$dir")
            if [ -n "$v" ]; then
                vals+=("$v")
            else
                say "$mode $nic $dir run $((r + 1)): no iperf result"
            fi
        done
        v=-
        if [ "${#vals[@]}" -gt 0 ]; then
            v=$(printf '%s\n' "${vals[@]}" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
        fi
        say "$mode $nic $dir: ${vals[*]:-none} Mbit/s -> median $v"
        if [ "$dir" = rx ]; then RX=$v; else TX=$v; fi
    done
    stop_appliance
}

ratio() {
    if [ "$1" = - ] || [ "$2" = - ]; then
        echo -
    else
        awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'
    fi
}

declare -A RES
fail=0
for nic in $NICS; do
    for mode in vnet direct; do
        measure "$mode" "$nic"
        RES[$nic.$mode.rx]=$RX
        RES[$nic.$mode.tx]=$TX
        [ "$RX" != - ] && [ "$TX" != - ] || fail=1
    done
done

printf '%-8s %9s %9s %6s %9s %9s %6s %8s %8s %8s\n' NIC "vnet rx" "dir rx" "v/d" "vnet tx" \
    "dir tx" "v/d" guest native exits/pkt
for nic in $NICS; do
    printf '%-8s %9s %9s %6s %9s %9s %6s %8s %8s %8s\n' "$nic" \
        "${RES[$nic.vnet.rx]}" "${RES[$nic.direct.rx]}" \
        "$(ratio "${RES[$nic.vnet.rx]}" "${RES[$nic.direct.rx]}")" \
        "${RES[$nic.vnet.tx]}" "${RES[$nic.direct.tx]}" \
        "$(ratio "${RES[$nic.vnet.tx]}" "${RES[$nic.direct.tx]}")" - - -
done
echo "vnet: iperf over slirp in Mbit/s, median of $RUNS x ${SECS}s; rx = host -> appliance, tx ="
echo "      appliance -> host; v/d = through the switch / lwIP directly on the NIC ([vnet]"
echo "      switch = off), same run. Slirp figures are noisy: compare ratios over several runs."
echo "      Guest columns (guest, native, VM exits per packet) wait for the guest NIC models."
exit $fail
