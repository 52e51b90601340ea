#!/usr/bin/env bash
# bench/linux-boot.sh — boot time of the Linux guest: (a) booted directly by QEMU TCG
# (-kernel/-initrd/-append) and (b) as a Petrel guest inside QEMU TCG, same kernel, initramfs
# and command line, median of RUNS each (runs interleave a, b, a, b, ... so load from other
# work on the host hits both alike), with the ratio b/a and the VM exits by reason during (b).
#
# Time to the ready marker ("PETREL-GUEST-READY", printed by the initramfs' /etc/rc):
#   (a) from QEMU's start (SeaBIOS loading the kernel through fw_cfg is included: ~0.3 s)
#   (b) from the appliance's "vm linux: started" to the marker's log line, both stamped by the
#       appliance's clock (the appliance's own boot is not counted)
# petrel.bench=1 makes the guest power off right after the marker (ACPI S5), so the VM ends and
# the VMM logs its exit counters, which are printed for the median run of (b).
#
# Needs build/petrel.elf (make). The guest comes from tools/mkguest-linux (cached in
# build/guests/linux).
# Environment: RUNS (3), MEM (guest MiB, 128), CMDLINE (guest command line, without
# petrel.bench=1; default "console=ttyS0 tsc=reliable": the local APIC and IOAPIC, in both
# cases; add "nolapic noapic" for the 8259 and PIT), KERNEL, GUEST (directory with vmlinuz and
# initrd.img), TIMEOUT (s per boot), CPUBENCH (1: after booting, the guest also times a few
# CPU-bound jobs, petrel.cpubench=1 of tools/mkguest-linux, printed per job for (a) and (b) with
# the ratio: what nesting costs a guest that hardly exits).
# Goal (issue 6): b/a under 1.5. Exit status: 0 when it measured (the goal is reported as
# PASS/MISS), 1 on an error.
set -euo pipefail

PROG=${0##*/}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
QEMU=${QEMU:-qemu-system-x86_64}
KERNEL=${KERNEL:-$ROOT/build/petrel.elf}
GUEST=${GUEST:-}
RUNS=${RUNS:-3}
MEM=${MEM:-128}
TIMEOUT=${TIMEOUT:-300}
CPUBENCH=${CPUBENCH:-0}
CMDLINE=${CMDLINE:-console=ttyS0 tsc=reliable}
GOAL_RATIO=1.5

die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}

command -v "$QEMU" >/dev/null || die "$QEMU not found: run 'make deps'"
[ -f "$KERNEL" ] || die "kernel $KERNEL not found: run 'make'"
case $RUNS in '' | *[!0-9]* | 0) die "RUNS must be a positive number" ;; esac
case $MEM in '' | *[!0-9]*) die "MEM must be a number of MiB" ;; esac
if [ -z "$GUEST" ]; then
    GUEST=$ROOT/build/guests/linux
    "$ROOT/tools/mkguest-linux" --out "$GUEST" || die "tools/mkguest-linux failed"
fi
if [ ! -f "$GUEST/vmlinuz" ] || [ ! -f "$GUEST/initrd.img" ]; then
    die "no vmlinuz/initrd.img in $GUEST"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/petrel-linux-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

GCMD="$CMDLINE petrel.bench=1"
[ "$CPUBENCH" = 1 ] && GCMD="$GCMD petrel.cpubench=1"
printf '[vm linux]\nmemory = %sM\nkernel = vmlinuz\ninitrd = initrd.img\ncmdline = %s\n' \
    "$MEM" "$GCMD" >"$TMP/petrel.conf"
"$ROOT/tools/mkiso" --kernel "$KERNEL" -c "$TMP/petrel.conf" -m "$GUEST/vmlinuz" \
    -m "$GUEST/initrd.img" -o "$TMP/linux.iso" >/dev/null || die "mkiso failed"

echo "linux boot benchmark: $RUNS runs each, guest ${MEM} MiB, $($QEMU --version | head -1), TCG"
echo "guest command line: $GCMD"

# The measuring is done by a small Python program: it starts QEMU with the serial console on a
# pipe, stamps each line as it arrives, and stops QEMU once the run has what it needs.
python3 - "$QEMU" "$GUEST" "$TMP" "$RUNS" "$MEM" "$TIMEOUT" "$GCMD" "$GOAL_RATIO" <<'PY'
import os, re, signal, statistics, subprocess, sys, time

qemu, guest, tmp, runs, mem, timeout, gcmd, goal = sys.argv[1:]
runs, timeout, goal = int(runs), float(timeout), float(goal)
MARKER = "PETREL-GUEST-READY"
CPU = re.compile(r"PETREL-CPUBENCH (\S+) (\d+) ms")
cpubench = "petrel.cpubench=1" in gcmd
jobs_a, jobs_b = {}, {}  # job -> [ms per run]
LOG = re.compile(r"^\s*(\d+\.\d+) \S+\s+\S+\s+\[linux\] vm linux: (.*)$")


def run(cmd, done):
    """Runs cmd until done(line, t) returns True; lines with their time since the start."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    lines = []
    try:
        while True:
            line = p.stdout.readline()
            t = time.monotonic() - t0
            if not line:
                break
            s = line.decode("utf-8", "replace").rstrip("\r\n")
            lines.append((t, s))
            if done(s, t):
                return lines
            if t > timeout:
                break
        tail = "\n".join(s for _, s in lines[-30:])
        sys.exit(f"linux-boot.sh: error: no end within {timeout:.0f} s or QEMU exited:\n{tail}")
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def direct():
    cmd = [qemu, "-machine", "pc", "-cpu", "qemu64", "-smp", "1", "-m", mem, "-display", "none",
           "-vga", "none", "-no-reboot", "-nic", "none", "-monitor", "none", "-serial", "stdio",
           "-kernel", f"{guest}/vmlinuz", "-initrd", f"{guest}/initrd.img", "-append", gcmd]
    end = "PETREL-CPUBENCH done" if cpubench else MARKER
    lines = run(cmd, lambda s, t: end in s)
    for _, s in lines:
        m = CPU.search(s)
        if m:
            jobs_a.setdefault(m.group(1), []).append(int(m.group(2)))
    return next(t for t, s in lines if MARKER in s)


def petrel():
    cmd = [qemu, "-machine", "pc", "-cpu", "qemu64,+svm,+npt", "-smp", "1", "-m",
           str(int(mem) + 384), "-display", "none", "-vga", "none", "-no-reboot", "-nic", "none",
           "-monitor", "none", "-serial", "stdio", "-cdrom", f"{tmp}/linux.iso"]
    lines = run(cmd, lambda s, t: re.search(r"vm linux: \d+ exits", s) is not None)
    started = ready = None
    for _, s in lines:
        m = LOG.match(s)
        if not m:
            continue
        c = CPU.match(m.group(2))
        if c:
            jobs_b.setdefault(c.group(1), []).append(int(c.group(2)))
        if started is None and m.group(2) == "started":
            started = float(m.group(1))
        elif ready is None and m.group(2).startswith(MARKER):
            ready = float(m.group(1))
        elif m.group(2).startswith(("fail stop", "exited with code", "stopped")) and \
                not m.group(2).startswith("exited with code 0"):
            sys.exit(f"linux-boot.sh: error: the guest did not end well: {m.group(2)}")
    if started is None or ready is None:
        sys.exit("linux-boot.sh: error: no 'started' or ready marker line in the log")
    return ready - started, lines[-1][1]


a, b = [], []
for i in range(runs):
    a.append(direct())
    tb, counters = petrel()
    b.append((tb, counters))
    print(f"run {i + 1}: (a) direct {a[-1]:.2f} s   (b) Petrel guest {tb:.2f} s", flush=True)

ma = statistics.median(a)
mb = statistics.median(t for t, _ in b)
counters = min(b, key=lambda x: abs(x[0] - mb))[1]  # the run at (or nearest) the median
print(f"median: (a) direct QEMU TCG {ma:.2f} s, (b) Petrel guest {mb:.2f} s")
print(f"ratio: b/a = {mb / ma:.2f}")
m = re.search(r"vm linux: (\d+) exits, (\d+) us in guest, (\d+) us in vmm:(.*)$", counters)
if m:
    reasons = sorted(re.findall(r" ([a-z#][a-z0-9 ]*?) (\d+)", m.group(4)),
                     key=lambda r: -int(r[1]))
    print(f"exits (b, median run, whole guest run to poweroff): {m.group(1)} in all, "
          f"{int(m.group(2)) / 1e6:.2f} s in guest, {int(m.group(3)) / 1e6:.2f} s in the VMM")
    print("exits by reason: " + ", ".join(f"{n} {c}" for n, c in reasons))
for job in jobs_a:
    ja, jb = statistics.median(jobs_a[job]), statistics.median(jobs_b.get(job, [0]))
    print(f"cpu job {job}: (a) direct {ja:.0f} ms, (b) Petrel guest {jb:.0f} ms, "
          f"b/a = {jb / ja if ja else 0:.2f}")
print(f"goal: b/a < {goal:g}            {'PASS' if mb / ma < goal else 'MISS'}")
PY
