#!/usr/bin/env bash
# bench/exits.sh — what a VM exit costs under Petrel's VMM, against the bare world switch
# measured in the same run.
#
# Boots build/petrel.elf with one guest, tests/guests/bench_exits.asm, started from a petrel.conf
# (tools/mkiso -c). The guest times 100,000 iterations each of intercepted instructions with
# RDTSC and prints cycles per loop: the nop hypercall, which the VMM handles before anything else
# by advancing RIP (the bare VMRUN/#VMEXIT round trip plus the VMM's fixed per-exit work: device
# poll, injection check, exit counters), OUT to port 0x80, CPUID, the print hypercall with 0
# bytes (the whole hypercall path), a 32-bit MMIO write to the test device, and one REP OUTSB of
# 64 KiB. This script converts cycles to microseconds per exit and exits per second with the TSC
# rate the appliance logs at boot ("TSC N MHz"), prints each kind's cost relative to the bare
# round trip, and counts the exits the REP OUTSB took from the VM's exit counters (logged when
# the VM ends: IOIO exits minus the 100,000 OUTs).
#
# Goals (issue 5): dispatch + handler add under 25% over the bare round trip for IO and CPUID
# exits (judged on each kind's fastest round against bare's: load from other work on the host
# only adds time, and the rounds interleave the kinds); the 64 KiB REP OUTSB takes one exit.
# Host interrupts (the 100 Hz tick) exit the guest too and land in whichever loop runs; they are
# a fraction of a percent of the exits.
# Exit status: 0 when it measured (goals are reported as PASS/MISS), 1 on an error.
set -euo pipefail

PROG=${0##*/}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
QEMU=${QEMU:-qemu-system-x86_64}
KERNEL=${KERNEL:-$ROOT/build/petrel.elf}
GUESTS_GIVEN=${GUESTS:+1}
GUESTS=${GUESTS:-$ROOT/build/guests}
TIMEOUT=${TIMEOUT:-300} # seconds for the guest to finish
ITERS=100000
GOAL_OVERHEAD_PCT=25

die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}

command -v "$QEMU" >/dev/null || die "$QEMU not found: run 'make deps'"
[ -f "$KERNEL" ] || die "kernel $KERNEL not found: run 'make'"
if [ -z "$GUESTS_GIVEN" ]; then # build/guests is ours to bring up to date
    make -C "$ROOT" --no-print-directory guests >/dev/null || die "'make guests' failed"
fi
[ -f "$GUESTS/bench_exits.bin" ] || die "$GUESTS/bench_exits.bin missing: run 'make guests'"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/petrel-exits.XXXXXX")
QPID=
cleanup() {
    if [ -n "$QPID" ]; then
        kill "$QPID" 2>/dev/null || true
        wait "$QPID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$TMP/petrel.conf" <<'CONF'
# bench/exits.sh: one guest that times intercepted instructions
[vm bench]
memory = 16M
kernel = bench_exits.bin
CONF
cp "$GUESTS/bench_exits.bin" "$TMP/"
"$ROOT/tools/mkiso" --kernel "$KERNEL" -c "$TMP/petrel.conf" -o "$TMP/exits.iso" >/dev/null

LOG=$TMP/serial.log
"$QEMU" -machine pc -cpu qemu64,+svm,+npt -smp 1 -m 512 -display none -vga none -no-reboot \
    -nic none -monitor none -serial "file:$LOG" -cdrom "$TMP/exits.iso" \
    </dev/null >"$TMP/qemu.out" 2>&1 &
QPID=$!
END_RE='\[bench\] vm bench: ([0-9]+ exits,|fail stop)'
for _ in $(seq 1 $((TIMEOUT * 5))); do
    if grep -Eq "$END_RE" "$LOG" 2>/dev/null; then
        break
    fi
    kill -0 "$QPID" 2>/dev/null || break
    sleep 0.2
done
kill "$QPID" 2>/dev/null || true
wait "$QPID" 2>/dev/null || true
QPID=
tr -d '\r' <"$LOG" >"$TMP/log"
if ! grep -Eq "$END_RE" "$TMP/log"; then
    tail -30 "$TMP/log" >&2
    die "the bench guest did not finish within ${TIMEOUT} s (TIMEOUT)"
fi
if grep -q 'vm bench: fail stop' "$TMP/log"; then
    grep 'bench' "$TMP/log" | tail -20 >&2
    die "the bench guest failed stop"
fi

# The TSC rate, "TSC 2893.204 MHz", as kHz (an integer).
TSC_KHZ=$(sed -nE 's/.*TSC ([0-9]+)\.([0-9]{3}) MHz.*/\1\2/p' "$TMP/log" | head -1)
[ -n "$TSC_KHZ" ] || die "no 'TSC ... MHz' line in the boot log"
TSC_KHZ=$((10#$TSC_KHZ))

# Each kind's rounds add up; the best round (fewest cycles per exit) is kept too.
declare -A CYC=() N=() BEST=()
while read -r kind n cycles; do
    CYC[$kind]=$((${CYC[$kind]:-0} + cycles))
    N[$kind]=$((${N[$kind]:-0} + n))
    cpi=$((cycles / n))
    if [ -z "${BEST[$kind]:-}" ] || [ "$cpi" -lt "${BEST[$kind]}" ]; then
        BEST[$kind]=$cpi
    fi
done < <(sed -nE \
    's/.*vm bench: bench: ([a-z0-9]+) ([0-9]+) iterations ([0-9]+) cycles.*/\1 \2 \3/p' "$TMP/log")
for k in bare out cpuid vmmcall mmio outsb64k; do
    [ -n "${CYC[$k]:-}" ] || die "the guest printed no figure for '$k'"
done
for k in bare out cpuid vmmcall mmio; do
    [ "${N[$k]}" -eq "$ITERS" ] || die "'$k' ran ${N[$k]} iterations, not $ITERS"
done
COUNTERS=$(grep -E '\[bench\] vm bench: [0-9]+ exits,' "$TMP/log" | tail -1)
IOIO=$(sed -nE 's/.* ioio ([0-9]+).*/\1/p' <<<"$COUNTERS")
[ -n "$IOIO" ] || die "no ioio count in the VM's counters: $COUNTERS"
OUTSB_EXITS=$((IOIO - ITERS))

# Fixed-point helpers: values in thousandths.
milli() { # NUM DEN -> NUM/DEN in thousandths
    echo $(((($1) * 1000 + ($2) / 2) / ($2)))
}
fmt3() { # thousandths -> "12.345"
    printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
}

BARE_CPI=$((CYC[bare] / N[bare]))
echo "exit benchmark: $($QEMU --version | head -1), TCG, -cpu qemu64,+svm,+npt"
echo "TSC $(fmt3 "$TSC_KHZ") MHz (from the appliance's boot log); $ITERS iterations per kind in 5"\
    "interleaved rounds; 'vs bare' over all rounds, 'best round' the fastest round of each"
printf '%-9s %8s %12s %10s %10s %9s %11s\n' kind exits cycles/exit us/exit exits/s \
    "vs bare" "best round"
declare -A RATIO=()
for k in bare out cpuid vmmcall mmio; do
    cpi_milli=$(milli "${CYC[$k]}" "${N[$k]}")                  # cycles per exit, thousandths
    us_milli=$(milli "${CYC[$k]}" $((N[$k] * TSC_KHZ / 1000))) # us per exit, thousandths
    per_s=$((N[$k] * TSC_KHZ * 1000 / CYC[$k]))
    # Per exit against per exit (every kind ran the same count).
    RATIO[$k]=$(milli $((CYC[$k] * N[bare])) $((CYC[bare] * N[$k])))
    printf '%-9s %8d %12s %10s %10d %8sx %10sx\n' "$k" "${N[$k]}" "$(fmt3 "$cpi_milli")" \
        "$(fmt3 "$us_milli")" "$per_s" "$(fmt3 "${RATIO[$k]}")" \
        "$(fmt3 "$(milli "${BEST[$k]}" "${BEST[bare]}")")"
done
OUTSB_US_MILLI=$(milli "${CYC[outsb64k]}" $((TSC_KHZ / 1000)))
printf '%s %d cycles (%s us, %s x a bare exit), %d exit(s) (VM IOIO exits %d - %d OUTs)\n' \
    "rep outsb 64 KiB:" \
    "${CYC[outsb64k]}" "$(fmt3 "$OUTSB_US_MILLI")" \
    "$(fmt3 "$(milli "${CYC[outsb64k]}" "$BARE_CPI")")" \
    "$OUTSB_EXITS" "$IOIO" "$ITERS"
echo "counters: ${COUNTERS#*vm bench: }"
echo "host load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"

goal() { # NAME OK
    printf 'goal: %-66s %s\n' "$1" "$([ "$2" -eq 1 ] && echo PASS || echo MISS)"
}
pct() { # ratio in thousandths -> "+12.3%" over 1
    local over=$(($1 - 1000)) sign=+
    if [ "$over" -lt 0 ]; then
        sign=-
        over=$((-over))
    fi
    printf '%s%d.%d%%' "$sign" $((over / 10)) $((over % 10))
}
# The verdict takes each kind's best round against bare's best round: the least disturbed
# figures, since other work on the host only ever adds time (all rounds are shown too).
LIMIT=$((1000 + GOAL_OVERHEAD_PCT * 10))
for k in out cpuid; do
    best=$(milli "${BEST[$k]}" "${BEST[bare]}")
    what="$k: dispatch+handler < ${GOAL_OVERHEAD_PCT}% over bare"
    goal "$what ($(pct "$best"), all rounds $(pct "${RATIO[$k]}"))" $((best < LIMIT ? 1 : 0))
done
goal "rep outsb 64 KiB in one exit ($OUTSB_EXITS)" $((OUTSB_EXITS == 1 ? 1 : 0))
