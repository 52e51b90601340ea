"""System tests of the debug-log stream (TCP 5140) and syslog (RFC 5424 over UDP): a socket
reader gets the ring's backlog and then a live line caused by a console command; two readers
at once; a reader that never reads does not slow the console and later finds a
"[N lines dropped]" marker; a fifth reader is refused; syslog datagrams reach a UDP listener
with the right priority field.

Syslog goes to 10.0.2.2, which QEMU's user networking delivers to the host's loopback, so
the listener is a UDP socket on 127.0.0.1 (nothing leaves the machine).

PETREL_KERNEL points the tests at another build (default build/petrel.elf)."""

import re
import socket
import threading
import time

import pytest

import qemu as qm
from test_console import (PASSWORD, PROMPT, SECRET, T, Raw, boot_appliance, raw_login, run)

LINE_RE = re.compile(r"^ *\d+\.\d{6} (\S+) +(error|warn|info|debug|trace) +(.*)$")


class Reader:
    """A log stream client: lines as they arrive."""

    def __init__(self, port, rcvbuf=None):
        self.s = socket.socket()
        if rcvbuf is not None:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(T)
        self.s.connect(("127.0.0.1", port))
        self.data = b""

    def lines(self):
        return self.data.decode("latin1").split("\n")

    def read_until(self, regex, timeout=T):
        pat = re.compile(regex, re.M)
        deadline = time.monotonic() + timeout
        while True:
            text = self.data.decode("latin1")
            m = pat.search(text)
            if m:
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"/{regex}/ not in the log stream after {timeout:.0f} s; "
                                     f"last: {text[-800:]!r}")
            self.s.settimeout(min(1.0, left))
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise AssertionError(f"log stream closed before /{regex}/")
            self.data += chunk

    def close(self):
        self.s.close()


@pytest.fixture(scope="module")
def appl(module_boot, tmp_path_factory):
    a = boot_appliance(module_boot, tmp_path_factory.mktemp("logstream"), "logstream",
                       f"console.password={SECRET}")
    a.q.wait_for(r"console info  log stream on TCP port 5140")
    yield a
    a.close_all()


def test_backlog_then_live_line(appl):
    r = Reader(appl.log_port)
    try:
        # The backlog starts with the boot banner and includes the network coming up.
        m = r.read_until(r"^ *\d+\.\d{6} boot +info +Petrel \S+ \(\S+\), x86-64 virtualization "
                         r"appliance$")
        assert r.data.decode("latin1").startswith(m.group(0)), r.data[:200]
        r.read_until(r" net +info +address 10\.0\.2\.15 ")
        # The command line is in the backlog, but never the password's hash.
        r.read_until(r" boot +info +cmdline: .*console\.password=\*\*\*\*\*")
        assert SECRET.split(":")[2] not in r.data.decode("latin1")
        # A console command logs a line: it arrives live.
        t = appl.telnet()
        assert run(t, "log level vnet debug").strip() == "vnet: debug"
        r.read_until(r" console +info +log level of vnet set to debug from the console$")
        run(t, "log level vnet info")
        t.send("exit\r")
        for line in r.lines()[:-1]:
            assert LINE_RE.match(line), line
    finally:
        r.close()


def test_two_readers(appl):
    r1 = Reader(appl.log_port)
    r2 = Reader(appl.log_port)
    try:
        for r in (r1, r2):
            r.read_until(r" boot +info +ready$")
        t = appl.telnet()
        run(t, "log level pit debug")
        for r in (r1, r2):
            r.read_until(r"log level of pit set to debug from the console$")
        out = run(t, "who")
        assert len(re.findall(r"^log stream reader 10\.0\.2\.2:\d+: ", out, re.M)) == 2, out
        run(t, "log level pit info")
        t.send("exit\r")
    finally:
        r1.close()
        r2.close()


def test_too_many_readers(appl):
    readers = [Reader(appl.log_port) for _ in range(4)]
    try:
        for r in readers:
            r.read_until(r" boot +info +ready$")
        extra = Reader(appl.log_port)
        extra.read_until("too many log stream readers")
        extra.close()
    finally:
        for r in readers:
            r.close()
    appl.q.wait_for(r"log stream: connection from 10\.0\.2\.2 refused: 4 readers already")


def _pump_commands(a, count, stop):
    """Runs `count` pipelined log-producing commands in one raw session, reading its
    answers. Returns nothing; sets stop when done."""
    r = raw_login(a)
    cmds = b"".join(b"log level net info\r\n" for _ in range(count))

    def reader():
        while not stop.is_set():
            try:
                r.s.settimeout(0.5)
                if not r.s.recv(65536):
                    return
            except socket.timeout:
                continue
            except OSError:
                return

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    r.s.settimeout(120)
    r.s.sendall(cmds + b"exit\r\n")
    th.join(120)
    stop.set()


def test_stalled_reader_does_not_block(appl):
    stalled = Reader(appl.log_port, rcvbuf=4096)
    stop = threading.Event()
    count = 3000
    pump = threading.Thread(target=_pump_commands, args=(appl, count, stop), daemon=True)
    try:
        start = time.monotonic()
        pump.start()
        # The console keeps answering while thousands of lines pile up for a reader that
        # does not read.
        t = appl.telnet()
        for _ in range(5):
            t0 = time.monotonic()
            assert "virtualization appliance" in run(t, "version")
            assert time.monotonic() - t0 < 5
        pump.join(180)
        assert stop.is_set(), "the command pump did not finish"
        appl.q.wait_for(r"log level of net set to info from the console", timeout=T)
        elapsed = time.monotonic() - start
        # The stalled reader now reads: it fell behind the ring and was told so.
        m = stalled.read_until(r"^\[(\d+) lines dropped\]$", timeout=60)
        assert int(m.group(1)) > 0
        stalled.read_until(r"log level of net set to info from the console$")
        out = run(t, "who")
        m2 = re.search(r"^log stream reader 10\.0\.2\.2:\d+: \d+ lines sent, (\d+) dropped", out,
                       re.M)
        assert m2 and int(m2.group(1)) > 0, out
        t.send("exit\r")
        assert elapsed < 170
    finally:
        stop.set()
        stalled.close()


def test_syslog_priorities(boot, tmp_path):
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(1.0)
    port = udp.getsockname()[1]
    try:
        a = boot_appliance(boot, tmp_path, "syslog",
                           f"console.password={SECRET} syslog=10.0.2.2:{port}")
        a.q.wait_for(rf"console info  syslog \(RFC 5424 over UDP\) to 10\.0\.2\.2:{port}")
        # A failed login: console (local2 = 18) warning (4) -> <148>.
        t = a.spawn()
        t.expect("Password: ")
        t.send("wrong\r")
        t.expect("Login incorrect")
        t.close(force=True)
        got = []
        deadline = time.monotonic() + T
        want_boot = want_fail = None
        while time.monotonic() < deadline and not (want_boot and want_fail):
            try:
                data, _ = udp.recvfrom(4096)
            except socket.timeout:
                continue
            msg = data.decode("utf-8", "replace")
            got.append(msg)
            m = re.fullmatch(r"<(\d+)>1 - (\S+) petrel - (\S+) \[meta sequenceId=\"(\d+)\" "
                             r"sysUpTime=\"(\d+)\"\] (.*)", msg)
            assert m, msg
            if m.group(3) == "boot" and m.group(6).startswith("Petrel "):
                want_boot = m  # the ring's backlog comes first
            if m.group(3) == "console" and m.group(6).startswith("failed login from"):
                want_fail = m
        assert want_boot, got[:5]
        assert want_fail, got[-5:]
        assert want_boot.group(1) == "6"      # kern (0) info (6)
        assert want_fail.group(1) == "148"    # local2 (18) warning (4)
        assert want_fail.group(2) == "10.0.2.15"
        assert int(want_fail.group(4)) > int(want_boot.group(4))
        # No datagram carried the password's hash.
        assert not any(SECRET.split(":")[2] in g for g in got)
    finally:
        udp.close()
