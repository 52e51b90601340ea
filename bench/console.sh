#!/usr/bin/env bash
# bench/console.sh — the telnet console's responsiveness and the log stream's throughput, with
# QEMU's own monitor (-monitor telnet:) in the same QEMU as the same-run reference.
#
# One QEMU boots Petrel (a variant ISO of build/petrel.elf with a console password) on user
# networking with host forwards to the console (23) and the log stream (5140), and also serves
# its monitor on a local telnet port. Measured, as medians over RUNS samples:
#   echo      one keystroke's round trip: send a character, wait for its echo (then erase it)
#   command   `version` on Petrel, `info version` on the monitor: send the line, wait for the
#             prompt after the answer
#   lines/s   Petrel: the log stream's 1024-line backlog (the ring filled by console commands
#             first) read by one reader, 5 times; monitor: `info qtree` read the same way
# The monitor is served by QEMU itself on the host: its figures are the floor that the TCG
# guest, QEMU's user networking and the guest's TCP stack add to. Ratios are Petrel/monitor
# (time: higher is slower; lines/s: higher is faster).
# Exit status: 0 when it measured, 1 on an error.
set -euo pipefail

PROG=${0##*/}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
QEMU=${QEMU:-qemu-system-x86_64}
KERNEL=${KERNEL:-$ROOT/build/petrel.elf}
RUNS=${RUNS:-30}
TIMEOUT=${TIMEOUT:-60}   # seconds for the boot and for each phase

die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}

command -v "$QEMU" >/dev/null || die "$QEMU not found: run 'make deps'"
[ -f "$KERNEL" ] || die "kernel $KERNEL not found: run 'make'"
case $RUNS in '' | *[!0-9]* | 0) die "RUNS must be a positive number" ;; esac

TMP=$(mktemp -d "${TMPDIR:-/tmp}/petrel-bench-console.XXXXXX")
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

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

PASSWORD=bench-$$
SECRET=$(printf '%s\n' "$PASSWORD" | "$ROOT/tools/mkpasswd" --stdin)
"$ROOT/tools/mkiso" --kernel "$KERNEL" --cmdline "console.password=$SECRET" \
    -o "$TMP/bench.iso" >/dev/null || die "mkiso failed"
TPORT=$(free_port)
LPORT=$(free_port)
MPORT=$(free_port)

"$QEMU" -machine pc -cpu qemu64,+svm,+npt -smp 1 -m 512 -display none -vga none -no-reboot \
    -cdrom "$TMP/bench.iso" -serial "file:$TMP/serial.log" \
    -monitor "telnet:127.0.0.1:$MPORT,server=on,wait=off" \
    -nic none -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$TPORT-:23,hostfwd=tcp:127.0.0.1:$LPORT-:5140" \
    -device rtl8139,netdev=n0 >"$TMP/qemu.out" 2>&1 &
QPID=$!

/usr/bin/python3 - "$TMP/serial.log" "$TPORT" "$LPORT" "$MPORT" "$PASSWORD" "$RUNS" "$TIMEOUT" <<'PY'
import re
import socket
import statistics
import sys
import time

serial, tport, lport, mport, password, runs, timeout = sys.argv[1:]
tport, lport, mport, runs, timeout = int(tport), int(lport), int(mport), int(runs), float(timeout)


def fail(msg):
    print(f"console.sh: error: {msg}", file=sys.stderr)
    sys.exit(1)


deadline = time.monotonic() + timeout
while True:
    try:
        text = open(serial, "rb").read().decode("latin1")
    except FileNotFoundError:
        text = ""
    if re.search(r" net +info  address \d", text) and "telnet console on TCP port 23" in text:
        break
    if time.monotonic() > deadline:
        fail("Petrel did not get an address and start its console in time")
    time.sleep(0.05)


class Conn:
    """A telnet connection that answers nothing and strips the server's IAC commands."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        self.buf = b""

    def _clean(self):
        return re.sub(rb"\xff[\xfb-\xfe].|\xff[\xf0-\xfa]", b"", self.buf)

    def until(self, pattern):
        pat = re.compile(pattern, re.S)
        end = time.monotonic() + timeout
        while True:
            m = pat.search(self._clean())
            if m:
                self.buf = self._clean()[m.end():]
                return m
            left = end - time.monotonic()
            if left <= 0:
                fail(f"no {pattern!r} within {timeout:.0f} s (got {self._clean()[-200:]!r})")
            self.s.settimeout(left)
            chunk = self.s.recv(65536)
            # ACK at once: a delayed ACK (40 ms) would hold up a server whose Nagle waits for
            # it (QEMU's monitor writes its answers in pieces), measuring the timer, not it.
            self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            if not chunk:
                fail(f"connection closed while waiting for {pattern!r}")
            self.buf += chunk

    def send(self, data):
        self.s.sendall(data)


def median_ms(samples):
    return statistics.median(samples) * 1000.0


def echo_rtt(c, erase_echo):
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        c.send(b"x")
        c.until(rb"x")
        out.append(time.perf_counter() - t0)
        c.send(b"\x7f")
        c.until(erase_echo)
    return median_ms(out)


def command_rtt(c, line, prompt):
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        c.send(line)
        c.until(prompt)
        out.append(time.perf_counter() - t0)
    return median_ms(out)


# ---- Petrel's console -------------------------------------------------------------------------
p = Conn(tport)
p.until(rb"Password: ")
p.send(password.encode() + b"\r\n")
PROMPT = rb"petrel> "
p.until(PROMPT)
petrel_echo = echo_rtt(p, rb"\x08 \x08")
petrel_cmd = command_rtt(p, b"version\r\n", rb"virtualization appliance.*?" + PROMPT)

# Fill the log ring (1024 lines) with lines from the console, then time one reader taking the
# whole backlog.
batch = b"log level net info\r\n" * 1100
p.send(batch)
for _ in range(1100):
    p.until(rb"net: info\r\n.*?" + PROMPT)
rates = []
for _ in range(5):
    r = socket.create_connection(("127.0.0.1", lport), timeout=timeout)
    t0 = time.perf_counter()
    data = b""
    while data.count(b"\n") < 1024:
        chunk = r.recv(1 << 20)
        if not chunk:
            fail("log stream closed early")
        data += chunk
    rates.append(1024 / (time.perf_counter() - t0))
    r.close()
petrel_lps = statistics.median(rates)
p.send(b"exit\r\n")

# ---- QEMU's monitor (the reference) --------------------------------------------------------------
m = Conn(mport)
MPROMPT = rb"\(qemu\) "
m.until(MPROMPT)
# The monitor's readline redraws with ANSI sequences: DEL comes back as ESC [ D ESC [ K, and it
# takes CR alone as Enter (CR LF would be two).
mon_echo = echo_rtt(m, rb"\x1b\[D\x1b\[K")
mon_cmd = command_rtt(m, b"info version\r", rb"\d+\.\d+\.\d+.*?" + MPROMPT)
lines = []
for _ in range(5):
    t0 = time.perf_counter()
    m.send(b"info qtree\r")
    got = m.until(rb"info qtree\x1b\[K\r\n(.*?)" + MPROMPT)
    n = got.group(1).count(b"\n")
    lines.append(n / (time.perf_counter() - t0))
mon_lps = statistics.median(lines)

print(f"console echo round trip     median {petrel_echo:8.3f} ms   QEMU monitor {mon_echo:8.3f} ms"
      f"   ratio {petrel_echo / mon_echo:6.1f}")
print(f"command round trip          median {petrel_cmd:8.3f} ms   QEMU monitor {mon_cmd:8.3f} ms"
      f"   ratio {petrel_cmd / mon_cmd:6.1f}   (version / info version)")
print(f"log stream, one reader      {petrel_lps:10.0f} lines/s   QEMU monitor {mon_lps:8.0f} "
      f"lines/s   ratio {petrel_lps / mon_lps:6.2f}   (1024-line backlog / info qtree)")
print(f"({runs} samples each; Petrel under TCG behind user networking, the monitor served by "
      f"QEMU on the host)")
PY
