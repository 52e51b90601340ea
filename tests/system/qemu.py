"""Boot a Petrel ISO in QEMU for system tests: serial to a file, bounded waits, QMP, cleanup.

A Qemu object owns one QEMU process. Its serial console goes to a file that wait_for() polls
(every wait has a timeout, and a wait ends early when QEMU exits). stop() kills QEMU; it runs
from the context manager, from the pytest finalizer that conftest registers, and at interpreter
exit, and QEMU also gets SIGKILL from the kernel if the test process dies (PR_SET_PDEATHSIG), so
no path leaves a QEMU behind.
"""

import atexit
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
QEMU_BIN = "qemu-system-x86_64"
DEFAULT_CPU = "qemu64,+svm,+npt"
DEFAULT_MEM_MB = 512

# Generous for a loaded 2-core machine under TCG (a boot takes about 0.5 s when idle).
# PETREL_TEST_TIMEOUT_SCALE multiplies every default timeout (e.g. 3 on a slow CI machine).
TIMEOUT_SCALE = float(os.environ.get("PETREL_TEST_TIMEOUT_SCALE", "1"))
READY_TIMEOUT = 60.0 * TIMEOUT_SCALE
POLL_INTERVAL = 0.02

READY_RE = r"^petrel: ready$"
HALTED_RE = r"^petrel: kernel halted$"

# One kernel log line: "    0.012363 pci     info  text" (an optional "[vm] " column comes
# later); see log_format() in kernel/log.c.
LOG_LINE_RE = re.compile(r"^\s*(\d+\.\d{6}) (\S+)\s+(error|warn|info|debug|trace)\s{1,2}(.*)$")

_PR_SET_PDEATHSIG = 1
_live = set()


def _die_with_parent():
    """Runs in the child before exec: SIGKILL QEMU if the test process goes away."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except OSError:
        pass


@atexit.register
def _stop_all():
    for q in list(_live):
        q.stop()


class QemuError(AssertionError):
    """A wait that timed out or a QEMU that exited early; the message carries the output tail."""


def log_lines(text):
    """Parses kernel log lines out of serial output: a list of (time, comp, level, text)."""
    out = []
    for line in text.splitlines():
        m = LOG_LINE_RE.match(line)
        if m:
            out.append((float(m.group(1)), m.group(2), m.group(3), m.group(4).rstrip()))
    return out


def make_iso(out, cmdline="", kernel=None, modules=(), timeout=120):
    """Builds an ISO with tools/mkiso (kernel defaults to PETREL_KERNEL or build/petrel.elf);
    returns its path."""
    kernel = Path(kernel or os.environ.get("PETREL_KERNEL", REPO / "build" / "petrel.elf"))
    cmd = [str(REPO / "tools" / "mkiso"), "--kernel", str(kernel), "--cmdline", cmdline,
           "-o", str(out)]
    for m in modules:
        cmd += ["-m", str(m)]
    r = subprocess.run(cmd, cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise QemuError(f"mkiso failed ({r.returncode}) for cmdline {cmdline!r}:\n"
                        f"{r.stdout}{r.stderr}")
    return Path(out)


class Qemu:
    """One QEMU running a Petrel ISO. Use as a context manager or call stop().

    A subclass may override command() and set serial_on_stdout to run a wrapper (tools/run)
    whose console is its standard output."""

    serial_on_stdout = False

    def __init__(self, iso, workdir, extra_args=(), cpu=DEFAULT_CPU, mem=DEFAULT_MEM_MB,
                 name="qemu", qmp=False, smp=None):
        self.iso = Path(iso)
        self.workdir = Path(workdir)
        self.name = name
        self.serial_path = self.workdir / f"{name}.serial"
        self.stderr_path = self.workdir / f"{name}.stderr"
        self.cpu = cpu
        self.mem = mem
        # PETREL_TEST_SMP runs every test that does not choose on that many CPUs (the guest
        # CPU path of the whole suite: PETREL_TEST_SMP=2 make test-system).
        self.smp = int(smp if smp is not None else os.environ.get("PETREL_TEST_SMP", "1"))
        self.extra_args = list(extra_args)
        self.proc = None
        self._qmp_dir = None
        self.qmp_path = None
        self._want_qmp = qmp
        self._stderr_file = None

    def command(self):
        cmd = [QEMU_BIN, "-machine", "pc", "-cpu", self.cpu, "-smp", str(self.smp),
               "-m", str(self.mem), "-display", "none", "-vga", "none", "-no-reboot",
               "-nic", "none", "-monitor", "none", "-cdrom", str(self.iso),
               "-serial", f"file:{self.serial_path}"]
        if self.smp > 1:
            # One host thread per vCPU: the CPUs really run at the same time, as on hardware.
            cmd += ["-accel", "tcg,thread=multi"]
        if self.qmp_path:
            cmd += ["-qmp", f"unix:{self.qmp_path},server=on,wait=off"]
        return cmd + self.extra_args

    def start(self):
        if self.proc is not None:
            raise RuntimeError("already started")
        if shutil.which(QEMU_BIN) is None:
            raise QemuError(f"{QEMU_BIN} not found (run 'make deps')")
        if not self.iso.is_file():
            raise QemuError(f"ISO {self.iso} not found")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.serial_path.unlink(missing_ok=True)
        if self._want_qmp:
            # A unix socket path is limited to 108 bytes: keep it short, outside tmp_path.
            self._qmp_dir = tempfile.mkdtemp(prefix="petrel-qmp.")
            self.qmp_path = os.path.join(self._qmp_dir, "qmp.sock")
        self._stderr_file = open(self.stderr_path, "wb")
        with open(self.serial_path, "wb") as serial:
            # Normally QEMU writes the serial file itself and stdout joins stderr.
            out = serial if self.serial_on_stdout else self._stderr_file
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=self._stderr_file, start_new_session=True,
                                         preexec_fn=_die_with_parent)
        _live.add(self)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def output(self):
        """The serial output so far, decoded, with CR removed (lines end in LF)."""
        try:
            data = self.serial_path.read_bytes()
        except FileNotFoundError:
            return ""
        return data.decode("utf-8", "replace").replace("\r", "")

    def stderr(self):
        try:
            return self.stderr_path.read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def describe(self, tail=40):
        lines = self.output().splitlines()[-tail:]
        state = "running" if self.alive() else f"exited ({self.proc and self.proc.returncode})"
        return (f"QEMU {self.name} {state}: {' '.join(self.command())}\n"
                f"--- serial (last {len(lines)} lines) ---\n" + "\n".join(lines) +
                f"\n--- QEMU stderr ---\n{self.stderr()[-2000:]}")

    def wait_for(self, regex, timeout=READY_TIMEOUT, flags=re.MULTILINE):
        """Waits until the serial output matches regex; returns the match.

        Raises QemuError with the output tail on timeout or when QEMU exits first."""
        pat = re.compile(regex, flags)
        deadline = time.monotonic() + timeout
        while True:
            exited = not self.alive()
            m = pat.search(self.output())
            if m:
                return m
            if exited:
                raise QemuError(f"QEMU exited before /{regex}/ appeared\n{self.describe()}")
            if time.monotonic() >= deadline:
                raise QemuError(f"/{regex}/ not seen within {timeout:.0f} s\n{self.describe()}")
            time.sleep(POLL_INTERVAL)

    def wait_ready(self, timeout=READY_TIMEOUT):
        return self.wait_for(READY_RE, timeout)

    def qmp(self, command, arguments=None, timeout=10.0 * TIMEOUT_SCALE):
        """Runs one QMP command on a fresh connection and returns its 'return' value."""
        if not self.qmp_path:
            raise RuntimeError("started without qmp=True")
        deadline = time.monotonic() + timeout
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            while True:
                try:
                    sock.connect(self.qmp_path)
                    break
                except (FileNotFoundError, ConnectionRefusedError):
                    if time.monotonic() >= deadline or not self.alive():
                        raise QemuError(f"no QMP socket\n{self.describe()}")
                    time.sleep(POLL_INTERVAL)
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            f = sock.makefile("rwb")

            def reply():
                # Events may come before the reply; lines are bounded by the deadline.
                while True:
                    if time.monotonic() >= deadline:
                        raise QemuError(f"QMP {command}: no reply in {timeout} s")
                    line = f.readline()
                    if not line:
                        raise QemuError(f"QMP {command}: connection closed")
                    msg = json.loads(line)
                    if "return" in msg or "error" in msg:
                        return msg

            greeting = json.loads(f.readline())
            assert "QMP" in greeting, greeting
            for cmd, args in (("qmp_capabilities", None), (command, arguments)):
                req = {"execute": cmd}
                if args:
                    req["arguments"] = args
                f.write(json.dumps(req).encode() + b"\n")
                f.flush()
                msg = reply()
                if "error" in msg:
                    raise QemuError(f"QMP {cmd}: {msg['error']}")
            return msg["return"]
        finally:
            sock.close()

    def stop(self):
        """Kills QEMU (TERM, then KILL) and cleans up; safe to call more than once."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)
        _live.discard(self)
        if self._stderr_file is not None:
            self._stderr_file.close()
            self._stderr_file = None
        if self._qmp_dir is not None:
            shutil.rmtree(self._qmp_dir, ignore_errors=True)
            self._qmp_dir = None

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False
