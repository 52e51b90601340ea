#!/usr/bin/env bash
# bench/net.sh — TCP throughput of the appliance's own stack (its iperf 2 server on lwIP) for
# each NIC model, both directions, median of RUNS, as a ratio to a Linux guest with the same NIC
# model measured the same way in the same run (issue 3's goal: appliance/Linux >= 0.90).
#
# Both targets sit on the same TAP of a namespace lab (tap-setup/lab-netns), one after the other,
# with the same address (10.77.0.2) and MAC; iperf runs on the lab host h1 (10.77.0.11):
#   rx = host -> target   iperf -c 10.77.0.2 -t SECONDS                      (the client's figure)
#   tx = target -> host   iperf -c 10.77.0.2 -t SECONDS -d -L 5002 --txdelay-time 1: the reverse
#                         stream the server opens back to h1:5002 (the one-second hold lets it
#                         connect before the forward stream starts). The forward half of -d runs
#                         at the same time, so tx is measured under two-way load, for both
#                         targets alike. A run without a result is retried once, on a freshly
#                         booted target (the Linux ne2k-pci driver on QEMU's ne2k_pci can stop
#                         receiving under two-way load).
# Targets:
#   appliance  Petrel (KERNEL) booted by tools/run on the TAP, static address, that NIC model
#   linux      the Linux guest of tools/mkguest-linux run DIRECTLY by QEMU (-kernel/-initrd,
#              petrel.ip=10.77.0.2/24 petrel.iperf=1: Debian's iperf 2.1.8 as server) with the
#              same QEMU NIC model (rtl8139 -> 8139too/8139cp, ne2k -> ne2k-pci). There is no
#              Linux reference for ne2k-isa (the initramfs has no ISA NE2000 driver).
# Both run under the same QEMU TCG, so the ratio compares the two network stacks and drivers
# on the same emulated NIC; absolute figures depend on the machine.
#
# Needs root (network namespaces). Environment: RUNS (3), SECONDS_PER_RUN (3), NICS ("rtl8139
# ne2k virtio"; ne2k-isa is accepted too), KERNEL (build/petrel.elf), GUEST (a directory with vmlinuz and
# initrd.img; default: tools/mkguest-linux's build/guests/linux, built or refreshed first),
# PETREL_TEST_TIMEOUT_SCALE (multiplies every timeout; for a busy machine).
# Everything it creates (lab, QEMUs, temporary files) is removed on exit, also on failure or
# Ctrl-C. Exit status: 0 when every figure was measured (the goal is reported, not enforced),
# 1 otherwise.
set -euo pipefail

PROG=${0##*/}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KERNEL=${KERNEL:-$ROOT/build/petrel.elf}
RUNS=${RUNS:-3}
SECS=${SECONDS_PER_RUN:-3}
NICS=${NICS:-rtl8139 ne2k virtio}
SCALE=${PETREL_TEST_TIMEOUT_SCALE:-1}
GUEST_DIR=${GUEST:-}
BOOT_TIMEOUT=60 # seconds until the appliance has its address (times SCALE)
ADDR=10.77.0.2
MAC=52:54:00:12:34:56
GOAL=0.90

# shellcheck source-path=SCRIPTDIR source=netlib.bash
. "$ROOT/bench/netlib.bash"

[ "$(id -u)" -eq 0 ] || nl_die "needs root (it builds a namespace lab); run 'sudo $0'"
for t in iperf ip ping qemu-system-x86_64 awk sort; do
    command -v "$t" >/dev/null || nl_die "$t not found: run 'make deps'"
done
[ -f "$KERNEL" ] || nl_die "kernel $KERNEL not found: run 'make'"
nl_check_numbers
for n in $NICS; do
    case $n in rtl8139 | ne2k | ne2k-isa | virtio) ;; *) nl_die "unknown NIC model '$n' in NICS" ;; esac
done
nl_guest_dir
nl_start net

"$ROOT/tools/mkiso" --kernel "$KERNEL" --cmdline "ip=$ADDR/24 gw=10.77.0.1" \
    -o "$TMP/static.iso" >/dev/null || nl_die "tools/mkiso failed"
nl_lab_up ''

# start_appliance NIC: Petrel on the lab's TAP; waits for its address. Sets TPID, SERIAL.
start_appliance() {
    local nic=$1
    SERIAL=$TMP/serial-appliance-$nic-$RANDOM
    "$ROOT/tools/run" --iso "$TMP/static.iso" --mem 256 --nic "$nic" --tap tap0 \
        --netns "$NL_LAB" --mac "$MAC" </dev/null >"$SERIAL" 2>&1 &
    TPID=$!
    NL_PIDS+=("$TPID")
    if nl_wait_for "$SERIAL" "net +info  address " "$(nl_secs "$BOOT_TIMEOUT")" "$TPID"; then
        return 0
    fi
    nl_say "the appliance ($nic) did not get its address; serial:"
    tail -n 20 "$SERIAL" >&2
    return 1
}

# start_linux NIC: the Linux guest run directly by QEMU with that NIC model. Sets TPID, SERIAL.
start_linux() {
    SERIAL=$TMP/serial-linux-$1-$RANDOM
    nl_start_native "$1" "$ADDR" "$MAC" tap0 "$SERIAL" || return 1
    TPID=$NATIVE_PID
}

# alive: the target's QEMU runs and (the appliance) has not printed a fatal dump.
alive() {
    kill -0 "$TPID" 2>/dev/null && ! grep -aqE "KERNEL (FAULT|PANIC)" "$SERIAL"
}

# restart_target: a run gave no result; the target may be wedged (the Linux ne2k-pci driver on
# QEMU's ne2k_pci stops receiving under two-way load): boot it again for the retry.
restart_target() {
    nl_say "restarting the $TARGET ($NIC) for the retry"
    nl_stop "$TPID"
    nl_flush_neigh
    "start_$TARGET" "$NIC"
}
NL_ON_MISS=restart_target

FAILED=0
declare -A RES
# measure TARGET NIC: boots the target, sets RES[NIC.TARGET.rx|tx] to the medians ('-' if none).
measure() {
    local target=$1 nic=$2 dir
    TARGET=$target NIC=$nic
    RES[$nic.$target.rx]=- RES[$nic.$target.tx]=-
    nl_flush_neigh
    if ! "start_$target" "$nic"; then
        FAILED=1
        return 0
    fi
    for dir in rx tx; do
        nl_repeat "RES[$nic.$target.$dir]" "$target $nic $dir (Mbit/s)" "$RUNS" nl_iperf "$dir" "$ADDR" ip netns exec "$NL_H1"
        if ! alive; then
            nl_say "$target $nic: the target died ($(grep -am1 -E 'PANIC|FAULT' "$SERIAL" || echo 'QEMU exited'))"
            FAILED=1
            break
        fi
    done
    nl_stop "$TPID"
}

for nic in $NICS; do
    nl_say "measuring $nic: appliance, then Linux run by QEMU ($RUNS x ${SECS}s each way)"
    measure appliance "$nic"
    if [ "$nic" = ne2k-isa ]; then
        RES[$nic.linux.rx]=n/a RES[$nic.linux.tx]=n/a
    else
        measure linux "$nic"
    fi
done
[ "$NL_MISSED" -eq 0 ] || FAILED=1

verdict() {
    awk -v r="$1" -v g="$GOAL" 'BEGIN { if (r == "-") print "-"; else if (r >= g) print "met"; else print "missed" }'
}

echo "net: iperf TCP throughput, Mbit/s, median of $RUNS runs of ${SECS}s, lab TAP in a namespace"
echo "     rx = host -> target, tx = target -> host; linux = the Linux guest run directly by QEMU"
printf '%-9s %9s %9s %6s %9s %9s %6s %s\n' NIC "appl rx" "linux rx" "a/l" "appl tx" "linux tx" \
    "a/l" "goal >= $GOAL"
for nic in $NICS; do
    rr=$(nl_ratio "${RES[$nic.appliance.rx]}" "${RES[$nic.linux.rx]}")
    rt=$(nl_ratio "${RES[$nic.appliance.tx]}" "${RES[$nic.linux.tx]}")
    printf '%-9s %9s %9s %6s %9s %9s %6s %s\n' "$nic" "${RES[$nic.appliance.rx]}" \
        "${RES[$nic.linux.rx]}" "$rr" "${RES[$nic.appliance.tx]}" "${RES[$nic.linux.tx]}" "$rt" \
        "rx $(verdict "$rr"), tx $(verdict "$rt")"
done
echo "net: a/l = appliance (lwIP) / Linux on the same emulated NIC, same lab, same run;"
echo "     took $(($(date +%s) - START)) s"
if [ "$FAILED" -ne 0 ]; then
    nl_say "some figures are missing (see above)"
    exit 1
fi
