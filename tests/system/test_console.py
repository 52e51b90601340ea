"""System tests of the telnet console (console/): Petrel boots in QEMU with user networking and
host forwards 127.0.0.1:<free port> -> 23 (telnet) and -> 5140 (log stream); the Debian
`telnet` client (driven by pexpect) and raw sockets connect through them.

Covered: login with the right and wrong password, the close after three failures and the rate
limit that follows, a read-only console without a password, help/version/ifconfig, line
editing keys, history and completion, Ctrl-D, eight concurrent sessions, a client that never
reads while another session works, and the telnet layer under raw input (IAC split across
segments, unknown options, IAC IAC, a 64 KiB line, binary garbage).

All connections arrive from 10.0.2.2 (QEMU's user-net host address), so the tests that fail
logins on purpose get boots of their own: the rate limit is per source address.

PETREL_KERNEL points the tests at another build (default build/petrel.elf)."""

import os
import random
import re
import socket
import threading
import time
from pathlib import Path

import pexpect
import pytest

import qemu as qm

REPO = qm.REPO
KERNEL = Path(os.environ.get("PETREL_KERNEL", REPO / "build" / "petrel.elf"))
T = 20.0 * qm.TIMEOUT_SCALE      # one console answer, generously (TCG, loaded machine)
NET_TIMEOUT = 40.0 * qm.TIMEOUT_SCALE

PASSWORD = "s3cret-Petrel"
SALT = "testsalt42"
# tools/mkpasswd --salt testsalt42 --stdin <<< s3cret-Petrel
SECRET = "sha256:testsalt42:f4d6694573bb8aa3dca3f311c333694b3e63d9a9317a33557e1a982752c2221f"
PROMPT = "petrel> "
RO_PROMPT = r"petrel\(ro\)> "

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240


def make_secret(password=PASSWORD, salt=SALT):
    """The console.password value, made by tools/mkpasswd as an operator would."""
    import subprocess

    r = subprocess.run([str(REPO / "tools" / "mkpasswd"), "--salt", salt, "--stdin"],
                       input=password + "\n", capture_output=True, text=True, timeout=30,
                       check=True)
    return r.stdout.strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Appliance:
    """A booted Petrel with its console and log stream forwarded to local ports."""

    def __init__(self, q, telnet_port, log_port, extra=None):
        self.q = q
        self.telnet_port = telnet_port
        self.log_port = log_port
        self.extra = extra or {}
        self._spawned = []

    def telnet(self, password=PASSWORD, prompt=PROMPT):
        """A logged-in pexpect session of the Debian telnet client (password None: expect a
        read-only console and no password prompt)."""
        t = self.spawn()
        try:
            if password is None:
                t.expect("No console password is set")
                t.expect("this session is read-only")
                t.expect(prompt)
                return t
            t.expect("Password: ")
            t.send(password + "\r")
            t.expect("Logged in")
            t.expect(prompt)
        except pexpect.TIMEOUT:
            # Say what the appliance saw (was the connection accepted at all?).
            pytest.fail(f"no login within {T:.0f} s; the client got {t.before!r}\n"
                        f"{self.q.describe(tail=60)}")
        return t

    def spawn(self):
        t = pexpect.spawn("telnet", ["127.0.0.1", str(self.telnet_port)], encoding="latin1",
                          timeout=T, echo=False)
        self._spawned.append(t)
        return t

    def raw(self, port=None, timeout=T):
        s = socket.create_connection(("127.0.0.1", port or self.telnet_port), timeout=timeout)
        self._spawned.append(s)
        return s

    def close_all(self):
        for t in self._spawned:
            try:
                t.close(force=True) if isinstance(t, pexpect.spawn) else t.close()
            except Exception:
                pass
        self._spawned.clear()


def boot_appliance(boot_fn, tmp_dir, name, cmdline, hostfwd=(), wait_address=True):
    """Boots Petrel with an RTL8139 on user networking; waits for ready, the DHCP address and
    the console. `hostfwd` adds forwards ("tcp:127.0.0.1:PORT-:2301")."""
    if not KERNEL.is_file():
        pytest.skip(f"kernel {KERNEL} does not exist: run 'make' first")
    tport, lport = free_port(), free_port()
    iso = qm.make_iso(Path(tmp_dir) / f"{name}.iso", cmdline=cmdline, kernel=KERNEL)
    fwd = [f"tcp:127.0.0.1:{tport}-:23", f"tcp:127.0.0.1:{lport}-:5140", *hostfwd]
    netdev = "user,id=n0," + ",".join(f"hostfwd={f}" for f in fwd)
    q = boot_fn(iso=iso, name=name, extra_args=["-netdev", netdev, "-device",
                                                 "rtl8139,netdev=n0"])
    q.wait_ready()
    if wait_address:
        out = q.output()
        if "lwIP" not in out:
            pytest.skip("this kernel has no network stack yet (no lwIP line in the boot log)")
        q.wait_for(r" net +info  address \d+\.\d+\.\d+\.\d+ ", timeout=NET_TIMEOUT)
    return Appliance(q, tport, lport)


@pytest.fixture(scope="module")
def appl(module_boot, tmp_path_factory):
    """The shared boot: a password set, default ports."""
    a = boot_appliance(module_boot, tmp_path_factory.mktemp("console"), "console",
                       f"console.password={SECRET}")
    a.q.wait_for(r"console info  telnet console on TCP port 23, password set")
    yield a
    a.close_all()


@pytest.fixture
def fresh(boot, tmp_path):
    """A boot of its own (for tests that fail logins on purpose): make(cmdline, hostfwd=())."""
    made = []

    def make(cmdline=f"console.password={SECRET}", hostfwd=()):
        a = boot_appliance(boot, tmp_path, f"fresh{len(made)}", cmdline, hostfwd)
        made.append(a)
        return a

    yield make
    for a in made:
        a.close_all()


# ---- raw-socket helpers -------------------------------------------------------------------

def nvt_text(data):
    """Undoes the server's telnet encoding: drops IAC commands, IAC IAC -> 255, CR LF -> LF,
    CR NUL -> CR. Returns (text as latin-1, list of (verb, option) negotiations seen)."""
    out = bytearray()
    cmds = []
    i = 0
    while i < len(data):
        b = data[i]
        if b == IAC and i + 1 < len(data):
            v = data[i + 1]
            if v == IAC:
                out.append(IAC)
                i += 2
                continue
            if v in (WILL, WONT, DO, DONT) and i + 2 < len(data):
                cmds.append((v, data[i + 2]))
                i += 3
                continue
            i += 2
            continue
        if b == 13 and i + 1 < len(data) and data[i + 1] in (10, 0):
            out.append(10 if data[i + 1] == 10 else 13)
            i += 2
            continue
        out.append(b)
        i += 1
    return out.decode("latin1"), cmds


class Raw:
    """A raw TCP client of the console that collects everything the server sends."""

    def __init__(self, sock):
        self.s = sock
        self.buf = bytearray()

    def send(self, data):
        self.s.sendall(data)

    def read_until(self, regex, timeout=T):
        """Reads until the decoded text matches regex; returns the match."""
        pat = re.compile(regex, re.S)
        deadline = time.monotonic() + timeout
        while True:
            text, _ = nvt_text(bytes(self.buf))
            m = pat.search(text)
            if m:
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"/{regex}/ not seen in {timeout:.0f} s; got {text[-600:]!r}")
            self.s.settimeout(min(left, 1.0))
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                text, _ = nvt_text(bytes(self.buf))
                m = pat.search(text)
                if m:
                    return m
                raise AssertionError(f"connection closed before /{regex}/; got {text[-600:]!r}")
            self.buf.extend(chunk)

    def drain(self, quiet=0.5):
        """Reads until the server is quiet for `quiet` seconds; returns the new bytes."""
        start = len(self.buf)
        self.s.settimeout(quiet)
        while True:
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            self.buf.extend(chunk)
        return bytes(self.buf[start:])

    def text(self):
        return nvt_text(bytes(self.buf))[0]

    def negotiations(self):
        return nvt_text(bytes(self.buf))[1]

    def closed(self, timeout=T):
        """True when the server closes the connection within timeout (data is collected)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return True
            if not chunk:
                return True
            self.buf.extend(chunk)
        return False


def raw_login(a, password=PASSWORD):
    r = Raw(a.raw())
    r.read_until("Password: ")
    r.send(password.encode() + b"\r\n")
    r.read_until(PROMPT)
    return r


def run(t, command, prompt=PROMPT):
    """Runs a command in a pexpect telnet session; returns its output (CR removed)."""
    t.send(command + "\r")
    t.expect(re.escape(command) + r"\r\n")
    t.expect(prompt)
    return t.before.replace("\r", "")


# ---- login and the basic commands -----------------------------------------------------------

def test_mkpasswd_matches():
    assert make_secret() == SECRET


def test_login_help_version_ifconfig(appl):
    t = appl.telnet()
    out = run(t, "help")
    for cmd in ("help [COMMAND]", "version", "uptime", "mem", "cpu", "pci", "ifconfig", "arp",
                "netstat", "ping ADDRESS [COUNT]", "log [N", "who", "reboot", "halt", "exit"):
        assert cmd in out, (cmd, out)
    # Aligned: the help texts of the one-line entries start in one column.
    cols = set()
    for line in out.splitlines():
        m = re.match(r"  (\S+(?: \S+)*?)\s{2,}(\S)", line)
        if m:
            cols.add(m.start(2))
    assert len(cols) == 1, out
    out = run(t, "version")
    version = re.search(r'#define PETREL_VERSION "([^"]+)"',
                        (REPO / "kernel" / "version.h").read_text()).group(1)
    assert re.search(rf"^Petrel {re.escape(version)} \(\S+\), x86-64 virtualization appliance$",
                     out, re.M), out
    assert "lwIP 2.1.3" in out
    out = run(t, "ifconfig")
    assert re.search(r"^link +up, mtu 1500, mac 52:54:00:12:34:56$", out, re.M), out
    assert re.search(r"^address +10\.0\.2\.15/24 \(dhcp\), gateway 10\.0\.2\.2$", out, re.M), out
    assert re.search(r"^nic frames +\d+ +\d+$", out, re.M), out
    out = run(t, "help ping")
    assert out.startswith("usage: ping ADDRESS [COUNT]\n"), out
    t.sendcontrol("d")
    t.expect("logout")
    t.expect(pexpect.EOF)


def test_other_commands(appl):
    t = appl.telnet()
    assert re.search(r"^up \d\d:\d\d:\d\d \(\d+\.\d{3} s\), \d+ console session", run(t, "uptime"),
                     re.M)
    out = run(t, "pci")
    assert re.search(r"^ADDR +ID +CLASS +IRQ +BARS$", out, re.M), out
    assert re.search(r"^00:0\d\.0 +10ec:8139 +ethernet +\d+ +io:0x", out, re.M), out
    out = run(t, "mem")
    assert re.search(r"^heap +\d+ KiB +\d+ KiB +\d+ KiB +\d+ allocations", out, re.M), out
    assert "SVM" in run(t, "cpu").upper()
    out = run(t, "netstat")
    assert re.search(r"^tcp +0\.0\.0\.0:23 +0\.0\.0\.0:\* +LISTEN", out, re.M), out
    assert re.search(r"^tcp +10\.0\.2\.15:23 +10\.0\.2\.2:\d+ +ESTABLISHED", out, re.M), out
    out = run(t, "ping 10.0.2.2 2")
    assert re.search(r"bytes from 10\.0\.2\.2: icmp_seq=1 ", out), out
    assert "2 packets transmitted, 2 received, 0% packet loss" in out, out
    out = run(t, "arp")
    assert re.search(r"^10\.0\.2\.2 +52:55:0a:00:02:02", out, re.M), out
    out = run(t, "who")
    assert re.search(r"^\* +\d+ +10\.0\.2\.2:\d+ +admin +shell ", out, re.M), out
    out = run(t, "log 3")
    assert len(out.strip().splitlines()) == 3, out
    out = run(t, "log level")
    assert re.search(r"^console +info$", out, re.M), out
    assert run(t, "log level vnet debug").strip() == "vnet: debug"
    assert re.search(r"^vnet +debug$", run(t, "log level"), re.M)
    run(t, "log level vnet info")
    t.send("exit\r")
    t.expect(pexpect.EOF)


def test_bad_commands(appl):
    t = appl.telnet()
    out = run(t, "frobnicate now")
    assert out.strip().splitlines() == [
        "error: unknown command 'frobnicate'",
        "usage: COMMAND [ARGS...]; 'help' lists the commands"], out
    out = run(t, "ping nowhere")
    assert out.strip().splitlines() == [
        "error: 'nowhere' is not an IPv4 address A.B.C.D (there is no DNS)",
        "usage: ping ADDRESS [COUNT]"], out
    out = run(t, "log level nosuch debug")
    assert "error: no log component 'nosuch'" in out
    out = run(t, 'version "unterminated')
    assert out.strip() == 'error: unterminated " quote'
    t.send("exit\r")
    t.expect(pexpect.EOF)


def test_wrong_then_right_password(appl):
    t = appl.spawn()
    t.expect("Password: ")
    t.send("not-the-password\r")
    t.expect("Login incorrect")
    t.expect("Password: ")
    t.send(PASSWORD + "\r")
    t.expect("Logged in")
    t.expect(PROMPT)
    # The password was never echoed.
    assert "not-the-password" not in t.before and PASSWORD not in t.before
    t.send("exit\r")
    t.expect(pexpect.EOF)
    appl.q.wait_for(r"console warn  failed login from 10\.0\.2\.2:\d+ \(1 in this session, 1 "
                    r"recent from this address\)")


def test_lockout_after_three_and_rate_limit(fresh):
    a = fresh()
    t = a.spawn()
    for i in range(3):
        t.expect("Password: ")
        t.send(f"wrong{i}\r")
        t.expect("Login incorrect")
    t.expect("Too many failures; closing the connection")
    t.expect(pexpect.EOF)
    a.q.wait_for(r"console warn  failed login from 10\.0\.2\.2:\d+ \(3 in this session, 3 recent")
    a.q.wait_for(r"console warn  rate limiting 10\.0\.2\.2:\d+: its next login attempt waits "
                 r"1000 ms")
    # The address is delayed now: the next connection waits before its prompt...
    t = a.spawn()
    t.expect(r"Too many failed logins from 10\.0\.2\.2: wait 1 s")
    start = time.monotonic()
    t.expect("Password: ")
    assert time.monotonic() - start > 0.5
    # ...a fourth failure doubles the wait, and the right password still works after it.
    t.send("wrong3\r")
    t.expect("Login incorrect")
    start = time.monotonic()
    t.expect("Password: ")
    assert time.monotonic() - start > 1.5
    t.send(PASSWORD + "\r")
    t.expect(PROMPT)
    t.send("exit\r")
    t.expect(pexpect.EOF)
    # A successful login forgave the address.
    t = a.spawn()
    t.expect("Password: ")
    assert "Too many" not in t.before


def test_read_only_without_password(fresh):
    a = fresh(cmdline="")
    a.q.wait_for(r"console info  telnet console on TCP port 23, read-only \(no console.password\)")
    t = a.telnet(password=None, prompt=RO_PROMPT)
    out = run(t, "help", RO_PROMPT)
    assert "version" in out and "ifconfig" in out and "who" in out
    assert "reboot" not in out and "halt" not in out and "ping" not in out
    assert re.search(r"\(\d+ more commands need a console password", out), out
    out = run(t, "reboot", RO_PROMPT)
    assert "error: 'reboot' is not allowed in a read-only session" in out
    assert "Petrel" in run(t, "version", RO_PROMPT)
    out = run(t, "log level net debug", RO_PROMPT)
    assert "not allowed in a read-only session" in out
    t.send("exit\r")
    t.expect(pexpect.EOF)
    assert a.q.alive()


def test_acl_refuses_other_networks(fresh):
    a = fresh(cmdline=f"console.password={SECRET} console.allow=192.168.77.0/24")
    s = a.raw()
    r = Raw(s)
    assert r.closed(), r.text()
    assert "Password" not in r.text()
    a.q.wait_for(r"connection from 10\.0\.2\.2:\d+ refused: not in console.allow")


# ---- line editing -----------------------------------------------------------------------------

def test_line_editing_keys(appl):
    t = appl.telnet()
    # A typo fixed with Left and an insert.
    t.send("verion\x1b[D\x1b[D\x1b[Ds\r")
    t.expect("Petrel .* virtualization appliance")
    t.expect(PROMPT)
    # Backspace (DEL) and Ctrl-H.
    t.send("uptimex\x7fz\x08\r")
    t.expect(r"up \d\d:")
    t.expect(PROMPT)
    # Ctrl-U kills the line, Ctrl-W the last word.
    t.send("garbage words\x15version\r")
    t.expect("virtualization appliance")
    t.expect(PROMPT)
    t.send("version extra\x17\x17version\r")
    t.expect("virtualization appliance")
    t.expect(PROMPT)
    # Ctrl-C abandons a line.
    t.send("reboot\x03")
    t.expect(r"\^C")
    t.expect(PROMPT)
    # Tab completes a command name.
    t.send("upt\t\r")
    t.expect(r"uptime \r\nup \d\d:")
    t.expect(PROMPT)
    # Up recalls the last line; Up Up Up Down the one before it (the history is, newest first:
    # "uptime ", "version", "uptime", "version").
    t.send("\x1b[A\r")
    t.expect(r"up \d\d:")
    t.expect(PROMPT)
    t.send("\x1b[A\x1b[A\x1b[A\x1b[B\r")
    t.expect("virtualization appliance")
    t.expect(PROMPT)
    # Home, End, Right.
    t.send("ersio\x1b[Hv\x1b[Fn\r")
    t.expect("virtualization appliance")
    t.expect(PROMPT)
    t.send("exit\r")
    t.expect(pexpect.EOF)


def test_ctrl_d_logout_and_history_is_per_session(appl):
    t = appl.telnet()
    run(t, "uptime")
    t2 = appl.telnet()
    t2.send("\x1b[A")  # a new session has no history: the bell
    t2.expect("\x07")
    t2.sendcontrol("d")
    t2.expect("logout")
    t2.expect(pexpect.EOF)
    t.sendcontrol("d")
    t.expect(pexpect.EOF)


# ---- several sessions, slow clients -----------------------------------------------------------

def test_eight_concurrent_sessions(appl):
    sessions = [appl.telnet() for _ in range(8)]
    for i, t in enumerate(sessions):
        t.send("version\r")
    for t in sessions:
        t.expect("virtualization appliance")
        t.expect(PROMPT)
    out = run(sessions[0], "who")
    rows = re.findall(r"^[* ] +\d+ +10\.0\.2\.2:\d+ +admin +shell ", out, re.M)
    assert len(rows) >= 8, out
    for t in sessions:
        assert "up " in run(t, "uptime")
    for t in sessions:
        t.send("exit\r")
        t.expect(pexpect.EOF)


def test_too_many_sessions_refused(appl):
    conns = [Raw(appl.raw()) for _ in range(10)]
    for r in conns:
        r.read_until("Password: ")
    extra = Raw(appl.raw())
    assert extra.closed()
    assert "all console sessions are in use" in extra.text()
    for r in conns:
        r.s.close()
    # The slots come back once those connections are gone.
    deadline = time.monotonic() + T
    while True:
        r = Raw(appl.raw())
        try:
            r.read_until("Password: ", timeout=5)
            break
        except AssertionError:
            r.s.close()  # a late session on it would hold a slot into the next tests
            assert time.monotonic() < deadline, "sessions never freed"
            time.sleep(0.5)
    r.s.close()


def test_stalled_client_does_not_block(appl):
    stalled = raw_login(appl)
    stalled.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    # It keeps asking for output and never reads: hundreds of KiB of answers.
    cmd = b"help\r\nnetstat\r\npci\r\n" * 300
    sender = threading.Thread(target=lambda: _send_quietly(stalled.s, cmd), daemon=True)
    sender.start()
    time.sleep(2)
    t = appl.telnet()
    for _ in range(5):
        start = time.monotonic()
        assert "virtualization appliance" in run(t, "version")
        assert time.monotonic() - start < 5
    out = run(t, "who")
    assert len(re.findall(r"10\.0\.2\.2:\d+ +admin", out)) >= 2, out
    t.send("exit\r")
    t.expect(pexpect.EOF)
    stalled.s.close()


def _send_quietly(sock, data):
    try:
        sock.settimeout(60)
        sock.sendall(data)
    except OSError:
        pass


# ---- the telnet layer under raw input ----------------------------------------------------------

def test_negotiation_opening_and_refusals(appl):
    r = Raw(appl.raw())
    r.read_until("Password: ")
    assert r.negotiations()[:3] == [(WILL, 1), (WILL, 3), (DO, 31)]
    r.buf.clear()
    # Unknown options are refused once each; repeating them or acknowledging ours starts no
    # loop.
    r.send(bytes([IAC, DO, 0x99, IAC, WILL, 0x42, IAC, DO, 1, IAC, DO, 3, IAC, WILL, 31]))
    r.drain(1.0)
    assert r.negotiations() == [(WONT, 0x99), (DONT, 0x42)], r.buf
    r.buf.clear()
    r.send(bytes([IAC, DO, 1, IAC, DO, 3, IAC, WILL, 31, IAC, WONT, 0x42, IAC, DONT, 0x99]))
    assert r.drain(1.0) == b""
    r.s.close()


def test_iac_split_across_segments(appl):
    r = Raw(appl.raw())
    r.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    r.read_until("Password: ")
    for piece in ([IAC], [DO], [1, IAC], [WILL], [31], [IAC, SB], [31, 0], [120, 0],
                  [40, IAC], [SE]):
        r.send(bytes(piece))
        time.sleep(0.15)
    for ch in PASSWORD.encode() + b"\r\n":
        r.send(bytes([ch]))
        time.sleep(0.01)
    r.read_until(PROMPT)
    r.send(b"\r")
    r.send(b"\n")
    r.send(b"version\r")
    time.sleep(0.2)
    r.send(b"\0")
    r.read_until("virtualization appliance.*" + PROMPT)
    # IAC IAC is a 255 data byte, which the line editor ignores: still "version".
    r.buf.clear()
    r.send(b"ver\xff\xffsion\r\n")
    r.read_until("virtualization appliance")
    r.s.close()


def test_64k_line(appl):
    r = raw_login(appl)
    r.buf.clear()
    sender = threading.Thread(target=lambda: _send_quietly(r.s, b"A" * 65536 + b"\r\n"),
                              daemon=True)
    sender.start()
    r.read_until(r"error: line longer than 255 characters; ignored\n" + PROMPT, timeout=60)
    sender.join(30)
    r.buf.clear()
    r.send(b"version\r\n")
    r.read_until("virtualization appliance")
    r.s.close()


def test_binary_garbage(appl):
    rnd = random.Random(1234)
    for round_ in range(3):
        r = Raw(appl.raw())
        r.read_until("Password: ")
        garbage = bytes(rnd.randrange(256) for _ in range(65536))
        _send_quietly(r.s, garbage)
        # The session survives (or is closed with a message); never a hang or a crash.
        r.drain(1.0)
        r.s.close()
    # The garbage held failed logins: the rate limiter may make this address wait (up to
    # AUTH_DELAY_MAX_MS, 60 s) before the prompt, which it says at once after the banner.
    t = appl.spawn()
    try:
        t.expect("management console")
        if t.expect(["Password: ", r"wait (\d+) s"]) == 1:
            t.expect("Password: ", timeout=int(t.match.group(1)) + T)
    except pexpect.TIMEOUT:
        pytest.fail("no banner and prompt after the garbage sessions:\n"
                    f"{t.before!r}\n{appl.q.describe(tail=80)}")
    t.send(PASSWORD + "\r")
    t.expect("Logged in")
    t.expect(PROMPT)
    assert "virtualization appliance" in run(t, "version")
    t.send("exit\r")
    t.expect(pexpect.EOF)
    assert appl.q.alive()
    assert "KERNEL PANIC" not in appl.q.output()


def test_nc_style_client(appl):
    """A client that speaks no telnet at all (nc): LF line ends, no negotiation answers."""
    r = Raw(appl.raw())
    r.read_until("Password: ")
    r.send(PASSWORD.encode() + b"\n")
    r.read_until(PROMPT)
    r.send(b"uptime\nversion\n")
    r.read_until(r"up \d\d:.*virtualization appliance.*" + PROMPT)
    r.send(b"exit\n")
    assert r.closed()


# ---- idle timeout and VM commands ---------------------------------------------------------------

def test_idle_timeout(fresh):
    a = fresh(cmdline=f"console.password={SECRET} console.idle=3")
    t = a.telnet()
    start = time.monotonic()
    t.expect("No input for 3 s; closing the session", timeout=T)
    t.expect(pexpect.EOF)
    assert 2.5 < time.monotonic() - start < 15
    a.q.wait_for(r"session \d+ from 10\.0\.2\.2:\d+ closed: idle timeout")


def test_halt(fresh):
    a = fresh()
    t = a.telnet()
    t.send("halt\r")
    t.expect("Halting")
    a.q.wait_for(r"^petrel: halted from the console$")
    a.q.wait_for(r"console warn  halt requested from the console")


def test_reboot(fresh):
    a = fresh()
    t = a.telnet()
    t.send("reboot\r")
    t.expect("Rebooting")
    a.q.wait_for(r"^petrel: rebooting \(console\)$")
    # QEMU runs with -no-reboot: the reset ends it.
    deadline = time.monotonic() + T
    while a.q.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not a.q.alive()


GUESTS = Path(os.environ.get("PETREL_GUESTS", REPO / "build" / "guests"))

# A flat 32-bit guest that echoes COM1 forever: poll LSR (0x3FD) for data ready, read RBR
# (0x3F8), write it back to THR, repeat.
ECHO_GUEST = bytes([
    0x66, 0xBA, 0xFD, 0x03,        # 0: mov dx, 0x3fd
    0xEC,                          # 4: in al, dx
    0xA8, 0x01,                    # 5: test al, 1
    0x74, 0xFB,                    # 7: jz 4
    0x66, 0xBA, 0xF8, 0x03,        # 9: mov dx, 0x3f8
    0xEC,                          # 13: in al, dx
    0xEE,                          # 14: out dx, al
    0xEB, 0xEF,                    # 15: jmp 0
])


def test_vm_commands_and_console(boot, tmp_path):
    """vms, vm info/pause/resume/stop and console NAME with the VMM's serial test guest and a
    COM1 echo guest."""
    serial = GUESTS / "serial.bin"
    if not serial.is_file():
        pytest.skip(f"guests not built in {GUESTS}: run 'make guests'")
    if not KERNEL.is_file():
        pytest.skip(f"kernel {KERNEL} does not exist")
    echo = tmp_path / "echo.bin"
    echo.write_bytes(ECHO_GUEST)
    tport, lport = free_port(), free_port()
    iso = qm.make_iso(tmp_path / "vms.iso",
                      cmdline=f"console.password={SECRET} vm=ser:serial.bin "
                              "vm=echo:echo.bin:flat=0x100000",
                      kernel=KERNEL, modules=[serial, echo])
    netdev = (f"user,id=n0,hostfwd=tcp:127.0.0.1:{tport}-:23,"
              f"hostfwd=tcp:127.0.0.1:{lport}-:5140")
    q = boot(iso=iso, name="vms", extra_args=["-netdev", netdev, "-device", "rtl8139,netdev=n0"])
    q.wait_ready()
    q.wait_for(r" net +info  address ", timeout=NET_TIMEOUT)
    a = Appliance(q, tport, lport)
    try:
        t = a.telnet()
        out = run(t, "vms")
        assert re.search(r"^NAME +STATE +MEMORY +EXITS +GUEST TIME +NOTE$", out, re.M), out
        assert re.search(r"^echo +running +16 MiB ", out, re.M), out
        assert re.search(r"^ser +exited +16 MiB .*exit code 1$", out, re.M), out
        out = run(t, "vm info ser")
        assert re.search(r"^state +exited", out, re.M) and "EXIT" in out, out
        assert run(t, "vm pause echo").strip() == "echo: pause"
        assert re.search(r"^echo +paused", run(t, "vms"), re.M)
        assert run(t, "vm resume echo").strip() == "echo: resume"
        out = run(t, "vm start ser")
        assert "error: cannot start VM ser: it is exited" in out, out
        out = run(t, "vm info nosuch")
        assert "error: no VM named 'nosuch'" in out
        # The serial guest's console: its output, then the note that it has ended.
        t.send("console ser\r")
        t.expect(r"attached to ser's console")
        t.expect("hello from COM1")
        t.expect("second line in one exit")
        t.expect(r"\[VM ser exited")
        t.expect(PROMPT)
        # The echo guest: what is typed comes back through the guest's UART; Ctrl-] detaches.
        t.send("console echo\r")
        t.expect(r"attached to echo's console")
        t.send("ping-pong")
        t.expect("ping-pong")
        # The Debian client takes Ctrl-] for itself (its telnet> prompt); `send escape` there
        # passes one to the appliance.
        t.send("\x1d")
        t.expect("telnet> ")
        t.send("send escape\n")
        t.expect(r"detached from echo")
        t.expect(PROMPT)
        assert run(t, "vm stop echo").strip() == "echo: stop"
        assert re.search(r"^echo +stopped", run(t, "vms"), re.M)
        t.send("exit\r")
        t.expect(pexpect.EOF)
    finally:
        a.close_all()
