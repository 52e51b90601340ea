#!/usr/bin/env bash
# bench/boot.sh — boot time of build/petrel.iso under QEMU (TCG), with a same-run reference.
#
# Boots the ISO RUNS times and timestamps, from QEMU's start, two lines on the serial console
# (read from a pipe as they arrive, so there is no polling delay):
#   GRUB's "Booting `Petrel'"  firmware (SeaBIOS) + GRUB: the reference, which Petrel does not
#                              control and which scales with the host and QEMU like the rest
#   "petrel: ready"            the whole boot
# The kernel's part is ready - Booting (GRUB loading the ELF from the CD, then Petrel's own
# init). The ratio ready/reference says how the boot compares with bare firmware+GRUB on the
# same machine in the same run, so it is comparable across machines.
# Exit status: 0 when it measured (goals are reported as PASS/MISS), 1 on an error.
set -euo pipefail

PROG=${0##*/}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
QEMU=${QEMU:-qemu-system-x86_64}
ISO=${ISO:-$ROOT/build/petrel.iso}
KERNEL=${KERNEL:-$ROOT/build/petrel.elf}
RUNS=${RUNS:-5}
TIMEOUT=${TIMEOUT:-60}   # seconds for one boot to reach ready
GOAL_READY_US=1000000    # goal: ready < 1 s
GOAL_KERNEL_BYTES=1048576 # goal: kernel image < 1 MiB

die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}

command -v "$QEMU" >/dev/null || die "$QEMU not found: run 'make deps'"
[ -f "$ISO" ] || die "ISO $ISO not found: run 'make'"
[ -f "$KERNEL" ] || die "kernel $KERNEL not found: run 'make'"
case $RUNS in '' | *[!0-9]* | 0) die "RUNS must be a positive number" ;; esac
[ "${BASH_VERSINFO[0]}" -ge 5 ] || die "bash 5 needed (EPOCHREALTIME)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/petrel-bench.XXXXXX")
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

now_us() {
    local t=${EPOCHREALTIME/[.,]/}
    printf '%s' "$((10#$t))"
}

# One boot: sets GRUB_US and READY_US (microseconds from QEMU's start).
boot_once() {
    local fifo=$TMP/serial start line t deadline left
    rm -f "$fifo"
    mkfifo "$fifo"
    GRUB_US=
    READY_US=
    start=$(now_us)
    "$QEMU" -machine pc -cpu qemu64,+svm,+npt -smp 1 -m 512 -display none -vga none \
        -no-reboot -nic none -monitor none -serial stdio -cdrom "$ISO" \
        </dev/null >"$fifo" 2>"$TMP/qemu.stderr" &
    QPID=$!
    exec 3<"$fifo"
    deadline=$((start + TIMEOUT * 1000000))
    while :; do
        left=$(((deadline - $(now_us)) / 1000))
        [ "$left" -gt 0 ] || break
        # read -t wants seconds; a line is at most a few hundred bytes.
        if ! IFS= read -r -t "$((left / 1000)).$(printf '%03d' $((left % 1000)))" line <&3; then
            break
        fi
        t=$(now_us)
        line=${line%$'\r'}
        if [ -z "$GRUB_US" ] && [[ $line == *"Booting \`Petrel'"* ]]; then
            GRUB_US=$((t - start))
        elif [ "$line" = "petrel: ready" ]; then
            READY_US=$((t - start))
            break
        fi
    done
    exec 3<&-
    kill "$QPID" 2>/dev/null || true
    wait "$QPID" 2>/dev/null || true
    QPID=
    if [ -z "$READY_US" ] || [ -z "$GRUB_US" ]; then
        cat "$TMP/qemu.stderr" >&2
        if [ -z "$GRUB_US" ]; then
            line="GRUB's Booting line"
        else
            line="'petrel: ready'"
        fi
        die "no $line: QEMU exited or ${TIMEOUT} s (TIMEOUT) passed"
    fi
}

# Median of integers given as arguments.
median() {
    local sorted n
    mapfile -t sorted < <(printf '%s\n' "$@" | sort -n)
    n=${#sorted[@]}
    if [ $((n % 2)) -eq 1 ]; then
        echo "${sorted[$((n / 2))]}"
    else
        echo $(((sorted[n / 2 - 1] + sorted[n / 2]) / 2))
    fi
}

ms() { # microseconds -> "123.4 ms"
    printf '%d.%d ms' $(($1 / 1000)) $((($1 % 1000) / 100))
}

goal() { # NAME OK
    printf 'goal: %-22s %s\n' "$1" "$([ "$2" -eq 1 ] && echo PASS || echo MISS)"
}

echo "boot benchmark: $ISO, $RUNS runs, $($QEMU --version | head -1), TCG"
echo "reference: QEMU start -> GRUB's \"Booting \`Petrel'\" (SeaBIOS + GRUB, same boots)"
GRUBS=()
READYS=()
KPARTS=()
for i in $(seq 1 "$RUNS"); do
    boot_once
    GRUBS+=("$GRUB_US")
    READYS+=("$READY_US")
    KPARTS+=($((READY_US - GRUB_US)))
    printf 'run %d: ready %s  (firmware+GRUB %s, kernel %s)\n' "$i" "$(ms "$READY_US")" \
        "$(ms "$GRUB_US")" "$(ms $((READY_US - GRUB_US)))"
done

MED_READY=$(median "${READYS[@]}")
MED_GRUB=$(median "${GRUBS[@]}")
KERNEL_PART=$(median "${KPARTS[@]}")
ISO_BYTES=$(stat -c %s "$ISO")
KERNEL_BYTES=$(stat -c %s "$KERNEL")
# The image on the ISO: the kernel without debug information (tools/mkiso strips it).
STRIPPED=$(mktemp)
objcopy --strip-debug "$KERNEL" "$STRIPPED"
IMAGE_BYTES=$(stat -c %s "$STRIPPED")
rm -f "$STRIPPED"
# What GRUB copies from the ELF (PT_LOAD file bytes) and what the image occupies (with bss).
LOAD_FILE=0
LOAD_MEM=0
while read -r type _ _ _ fsz msz _; do
    if [ "$type" = LOAD ]; then
        LOAD_FILE=$((LOAD_FILE + fsz))
        LOAD_MEM=$((LOAD_MEM + msz))
    fi
done < <(readelf -lW "$KERNEL" 2>/dev/null || true)

echo "median: ready $(ms "$MED_READY"), firmware+GRUB $(ms "$MED_GRUB"), kernel part" \
    "$(ms "$KERNEL_PART")"
printf 'ratio: ready / firmware+GRUB = %d.%02d (kernel part is %d%% of the boot)\n' \
    $((MED_READY / MED_GRUB)) $(((MED_READY * 100 / MED_GRUB) % 100)) \
    $((KERNEL_PART * 100 / MED_READY))
printf 'size: ISO %d bytes (%d KiB)\n' "$ISO_BYTES" $((ISO_BYTES / 1024))
printf 'size: kernel image on the ISO %d bytes (%d KiB; loaded %d KiB, %d KiB with bss)\n' \
    "$IMAGE_BYTES" $((IMAGE_BYTES / 1024)) $((LOAD_FILE / 1024)) $((LOAD_MEM / 1024))
printf 'size: %s with debug info %d KiB\n' "${KERNEL#"$ROOT"/}" $((KERNEL_BYTES / 1024))
goal "ready < 1 s" $((MED_READY < GOAL_READY_US ? 1 : 0))
goal "kernel image < 1 MiB" $((IMAGE_BYTES < GOAL_KERNEL_BYTES ? 1 : 0))
