"""Helpers for the networking system tests: namespace labs, QEMU through tools/run, iperf, the
telnet console, and a frame flooder.

Lab wraps tap-setup/lab-netns. Every lab gets a fresh name (prefix "pt", random, so two test runs
never share one), is recorded in a marker file with the pid of the test process, and is always
removed: by the fixture's finalizer, at interpreter exit, and, if a run was killed outright, by
reap_stale_labs() at the start of the next run (labs whose owner is gone). Every command has a
timeout.

Run as a program, this file is the flooder that a lab host runs in its own namespace:
    ip netns exec LAB-h2 python3 netlab.py flood --iface eth0 --dst-mac MAC --dst-ip IP ...
"""

import argparse
import atexit
import csv
import io
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LAB_NETNS = REPO / "tap-setup" / "lab-netns"
TOOLS_RUN = REPO / "tools" / "run"
MKPASSWD = REPO / "tools" / "mkpasswd"
PYTHON = "/usr/bin/python3"  # Debian's, which has scapy and pexpect

TIMEOUT_SCALE = float(os.environ.get("PETREL_TEST_TIMEOUT_SCALE", "1"))
CMD_TIMEOUT = 30.0 * TIMEOUT_SCALE

# Marker files: one per lab this module made, holding the pid of the process that made it.
MARKER_DIR = Path("/run/petrel-lab-tests")
LAB_PREFIX = "pt"

_live_labs = set()


class LabError(AssertionError):
    """A lab command that failed or timed out; the message carries its output."""


def run(cmd, timeout=CMD_TIMEOUT, check=True, **kw):
    """subprocess.run with a timeout, text output and a readable error."""
    if "input" not in kw:
        kw["stdin"] = subprocess.DEVNULL
    try:
        r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                           timeout=timeout, **kw)
    except subprocess.TimeoutExpired as e:
        raise LabError(f"{' '.join(map(str, cmd))}: no answer in {timeout:.0f} s\n"
                       f"{e.stdout or ''}{e.stderr or ''}") from None
    if check and r.returncode != 0:
        raise LabError(f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return r


def is_root():
    return os.geteuid() == 0


def netns_list():
    r = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def free_port_block(offsets, lo=20000, hi=60000, tries=50):
    """A base B such that every B+o (o in offsets) is a free TCP port on 127.0.0.1 right now."""
    rng = random.Random()
    for _ in range(tries):
        base = rng.randrange(lo, hi - max(offsets))
        socks = []
        try:
            for o in offsets:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind(("127.0.0.1", base + o))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise LabError("no block of free TCP ports found on 127.0.0.1")


# ---- labs -------------------------------------------------------------------------------------

def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_stale_labs():
    """Removes labs that an earlier, killed test run made (its marker names a dead pid)."""
    if not MARKER_DIR.is_dir():
        return []
    reaped = []
    for marker in MARKER_DIR.glob(f"{LAB_PREFIX}*"):
        try:
            pid = int(marker.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pid = 0
        if pid and _pid_alive(pid):
            continue
        Lab(marker.name, adopt=True).down()
        reaped.append(marker.name)
    return reaped


class Lab:
    """A tap-setup/lab-netns lab: namespace NAME (bridge .1, TAP), hosts NAME-h1..NAME-hN (.11..).

    The appliance gets .2 (static) unless the lab runs dnsmasq (--dhcp)."""

    def __init__(self, name=None, hosts=2, subnet="10.77.0.0/24", dhcp=False, tap="tap0",
                 adopt=False):
        if name is None:
            name = LAB_PREFIX + secrets.token_hex(3)  # 8 characters; lab-netns allows 10
        self.name = name
        self.hosts = hosts
        self.subnet = subnet
        self.dhcp = dhcp
        self.tap = tap
        self.marker = MARKER_DIR / name
        self._up = adopt
        net, self.prefix = subnet.split("/")
        self._net = struct.unpack("!I", socket.inet_aton(net))[0]

    def addr(self, host_part):
        return socket.inet_ntoa(struct.pack("!I", self._net + host_part))

    @property
    def bridge_ip(self):
        return self.addr(1)

    @property
    def appliance_ip(self):
        return self.addr(2)

    def host_ns(self, i):
        return f"{self.name}-h{i}"

    def host_ip(self, i):
        return self.addr(10 + i)

    def up(self):
        if not is_root():
            raise LabError("lab-netns needs root")
        MARKER_DIR.mkdir(mode=0o755, exist_ok=True)
        self.marker.write_text(f"{os.getpid()}\n")
        _live_labs.add(self)
        self._up = True
        cmd = [LAB_NETNS, "up", self.name, "--hosts", self.hosts, "--subnet", self.subnet,
               "--tap", self.tap]
        if self.dhcp:
            cmd.append("--dhcp")
        run(cmd)
        return self

    def down(self):
        """Removes the lab whatever state it is in; safe to call more than once."""
        if not self._up:
            return
        errors = []
        r = run([LAB_NETNS, "down", self.name, "--force"], check=False, timeout=60)
        if r.returncode != 0:
            errors.append(r.stdout + r.stderr)
        # Belt and braces: whatever lab-netns left of *our* namespaces goes too.
        mine = re.compile(rf"^{re.escape(self.name)}(-h\d+)?$")
        for ns in netns_list():
            if mine.match(ns):
                pids = run(["ip", "netns", "pids", ns], check=False).stdout.split()
                for pid in pids:
                    try:
                        os.kill(int(pid), signal.SIGKILL)
                    except (ProcessLookupError, ValueError):
                        pass
                run(["ip", "netns", "del", ns], check=False)
                errors.append(f"namespace {ns} had to be deleted by hand")
        shutil.rmtree(Path("/run/petrel-lab") / self.name, ignore_errors=True)
        self.marker.unlink(missing_ok=True)
        self._up = False
        _live_labs.discard(self)
        return errors

    def exists(self):
        return self.name in netns_list()

    def ns_cmd(self, ns, cmd):
        return ["ip", "netns", "exec", ns] + [str(c) for c in cmd]

    def run_in(self, ns, cmd, timeout=CMD_TIMEOUT, check=True):
        return run(self.ns_cmd(ns, cmd), timeout=timeout, check=check)

    def ip(self, ns, *args, check=True):
        return run(["ip", "-n", ns] + [str(a) for a in args], check=check)

    def mac(self, ns, ifname):
        info = json.loads(self.ip(ns, "-j", "link", "show", "dev", ifname).stdout)
        return info[0]["address"]

    def no_tcp_metrics(self):
        """Hosts forget TCP metrics (cwnd, ssthresh) between connections, so one lossy iperf run
        does not slow down the next one to the same appliance address."""
        for i in range(1, self.hosts + 1):
            self.run_in(self.host_ns(i), ["sysctl", "-qw", "net.ipv4.tcp_no_metrics_save=1"])
            self.ip(self.host_ns(i), "tcp_metrics", "flush", "all", check=False)

    def set_mtu(self, mtu):
        """Lets frames up to mtu+14 bytes cross the lab: TAP, bridge, veths and hosts' eth0."""
        for i in range(1, self.hosts + 1):
            self.ip(self.host_ns(i), "link", "set", "dev", "eth0", "mtu", mtu)
            self.ip(self.name, "link", "set", "dev", f"vh{i}", "mtu", mtu)
        self.ip(self.name, "link", "set", "dev", self.tap, "mtu", mtu)
        self.ip(self.name, "link", "set", "dev", "petrelbr0", "mtu", mtu)

    def wait_answer(self, host, target, timeout=15.0 * TIMEOUT_SCALE):
        """Pings once a second until target answers; returns the seconds it took (bounded)."""
        start = time.monotonic()
        while True:
            r = self.run_in(self.host_ns(host), ["ping", "-n", "-c", "1", "-W", "1", target],
                            timeout=10, check=False)
            if r.returncode == 0:
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                raise LabError(f"{target} did not answer ping from {self.host_ns(host)} within "
                               f"{timeout:.0f} s")

    def ping(self, host, target, count=20, interval=0.2, timeout=None):
        """Pings target from lab host `host` (iputils ping); returns (sent, received, output)."""
        deadline = 1 + 2 * count * max(interval, 0.2) + 5
        r = self.run_in(self.host_ns(host), ["ping", "-n", "-c", count, "-i", interval,
                                              "-W", "1", "-w", int(deadline), target],
                        timeout=timeout or deadline + 10 * TIMEOUT_SCALE, check=False)
        m = re.search(r"(\d+) packets transmitted, (\d+) received", r.stdout)
        if not m:
            raise LabError(f"no ping summary:\n{r.stdout}{r.stderr}")
        return int(m.group(1)), int(m.group(2)), r.stdout


@atexit.register
def _down_all():
    for lab in list(_live_labs):
        lab.down()


# ---- QEMU through tools/run -------------------------------------------------------------------

def run_qemu_class(qm):
    """A qemu.Qemu subclass that starts tools/run with the given arguments; the console (its
    stdout) goes to the serial file. Built on demand to avoid importing qemu here."""

    class RunQemu(qm.Qemu):
        serial_on_stdout = True

        def __init__(self, iso, workdir, args, name="run", smp=None):
            super().__init__(iso, workdir, name=name, smp=smp)
            self.args = [str(a) for a in args]

        def command(self):
            return [str(TOOLS_RUN), "--iso", str(self.iso), "--mem", "256",
                    "--smp", str(self.smp)] + self.args

    return RunQemu


# ---- iperf ------------------------------------------------------------------------------------

def iperf_csv(text):
    """Rows of `iperf -y C` output: dicts with src/dst address and port, interval, bytes, bps."""
    rows = []
    for rec in csv.reader(io.StringIO(text)):
        if len(rec) < 9 or not rec[7].isdigit():
            continue
        rows.append({"src": rec[1], "sport": int(rec[2]), "dst": rec[3], "dport": int(rec[4]),
                     "id": rec[5], "interval": rec[6], "bytes": int(rec[7]), "bps": int(rec[8])})
    return rows


def iperf_to(host, port, seconds, prefix=(), timeout=None):
    """Host -> appliance: a plain `iperf -c`. Returns (bytes, bps, output) as the client
    reports them."""
    cmd = list(prefix) + ["iperf", "-c", host, "-p", str(port), "-t", str(seconds), "-y", "C"]
    r = run(cmd, timeout=timeout or seconds + 30 * TIMEOUT_SCALE, check=False)
    rows = [x for x in iperf_csv(r.stdout) if x["dport"] == port]
    if r.returncode != 0 or not rows:
        raise LabError(f"{' '.join(cmd)} ({r.returncode}):\n{r.stdout}{r.stderr}")
    return rows[-1]["bytes"], rows[-1]["bps"], r.stdout + r.stderr


def iperf_two_way(host, port, listen_port, seconds, mode="-d", prefix=(), timeout=None,
                  attempts=1, need_forward=True):
    """`iperf -c HOST -d|-r -L listen_port`: the appliance's server (netstack/iperf.c) reads
    the client's header and connects back to listen_port, at once for -d, after the client's
    own run for -r, and sends for `seconds`. Returns (forward bytes as the client sent them,
    reverse bytes as the host received them, output). With attempts > 1, a run without the
    reverse stream (or, with need_forward, without the forward one) is repeated: on a lossy
    link a lost SYN or header can cost a run."""
    assert mode in ("-d", "-r"), mode
    cmd = list(prefix) + ["iperf", "-c", host, "-p", str(port), "-t", str(seconds), mode,
                          "-L", str(listen_port), "-y", "C"]
    # -r runs the two directions one after the other.
    budget = timeout or (2 if mode == "-r" else 1) * seconds + 30 * TIMEOUT_SCALE
    log = ""
    for attempt in range(1, attempts + 1):
        r = run(cmd, timeout=budget, check=False)
        log += f"--- attempt {attempt} ({r.returncode})\n{r.stdout}{r.stderr}"
        rows = iperf_csv(r.stdout)
        fwd = [x for x in rows if x["dport"] == port]
        rev = [x for x in rows if x["dport"] == listen_port]
        if rev and (fwd or not need_forward):
            if attempt > 1:
                print(f"iperf_two_way: both streams only on attempt {attempt}:\n{log}",
                      file=sys.stderr)
            return (fwd[-1]["bytes"] if fwd else 0), rev[-1]["bytes"], log
        time.sleep(1)
    raise LabError(f"{' '.join(cmd)}: no {'two-way' if need_forward else 'reverse'} run in "
                   f"{attempts} attempt(s)\n{log}")


def iperf_from(host, port, listen_port, seconds, prefix=(), timeout=None, attempts=1):
    """Appliance -> host: the reverse stream of `iperf -c -d -L listen_port` (see
    iperf_two_way; the forward half is not looked at). Returns (bytes, bps, output) of the
    reverse stream as the host received it; bps is derived from the bytes and `seconds`."""
    _, got, log = iperf_two_way(host, port, listen_port, seconds, "-d", prefix=prefix,
                                timeout=timeout, attempts=attempts, need_forward=False)
    return got, got * 8 / seconds, log


# ---- the appliance's telnet console -----------------------------------------------------------

def make_password(password, salt):
    """console.password=... value made by tools/mkpasswd."""
    r = run([PYTHON, MKPASSWD, "--stdin", "--salt", salt], input=password + "\n", check=True)
    return r.stdout.strip()


class Console:
    """A telnet session to the appliance's console (pexpect), logged in with the password."""

    PROMPT = r"petrel(\(ro\))?> "

    def __init__(self, argv, password=None, timeout=15 * TIMEOUT_SCALE):
        import pexpect

        self.pexpect = pexpect
        self.timeout = timeout
        self.child = pexpect.spawn(argv[0], argv[1:], encoding="utf-8", codec_errors="replace",
                                   timeout=timeout)
        self.transcript = io.StringIO()
        self.child.logfile_read = self.transcript
        i = self.child.expect([r"Password: ?", self.PROMPT, pexpect.EOF])
        if i == 2:
            raise LabError(f"telnet closed before a prompt:\n{self.transcript.getvalue()}")
        if i == 0:
            if password is None:
                raise LabError("the console asks for a password and none was given")
            self.child.sendline(password)
            self.child.expect(self.PROMPT)

    def cmd(self, line):
        """Runs one command line and returns its output (without the echo and the prompt)."""
        self.child.sendline(line)
        self.child.expect(self.PROMPT)
        out = self.child.before.replace("\r", "")
        lines = out.split("\n")
        if lines and lines[0].strip() == line.strip():
            lines = lines[1:]
        return "\n".join(lines)

    def close(self):
        try:
            self.child.sendline("exit")
            self.child.expect(self.pexpect.EOF, timeout=5)
        except Exception:  # noqa: BLE001 (best effort: the session may be gone already)
            pass
        self.child.close(force=True)


def parse_counters(ifconfig_out):
    """The COUNTER/RX/TX table of `ifconfig`: {name: (rx, tx)}."""
    rows = {}
    for line in ifconfig_out.splitlines():
        m = re.match(r"^(\S.*?)\s+(\d+)\s+(\d+)\s*$", line)
        if m:
            rows[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return rows


# ---- the flooder (runs inside a lab host's namespace) ----------------------------------------

ETH_P_ALL = 0x0003
SERVICE_PORTS = {23, 5001, 5140, 5555}  # the appliance's listeners: no valid SYN floods here


def _csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def _mac(text):
    return bytes(int(x, 16) for x in text.split(":"))


class Flood:
    """Generates malformed and random frames towards one appliance (deterministic per seed).

    Source IPs are never the lab's real hosts or its bridge, and ARP never claims their
    addresses, so the appliance's view of the lab stays true and ping still works after."""

    KINDS = ("runt", "giant", "junk", "bad_ip", "bad_l4", "fragment", "bad_arp", "odd_eth")

    def __init__(self, dst_mac, dst_ip, src_mac, max_len, seed):
        self.rng = random.Random(seed)
        self.dst_mac = _mac(dst_mac)
        self.dst_ip = socket.inet_aton(dst_ip)
        self.src_mac = _mac(src_mac)
        self.max_len = max_len
        net = struct.unpack("!I", self.dst_ip)[0] & 0xFFFFFF00
        # Unused addresses of the lab subnet (.200-.250) and documentation networks.
        self.spoof_ips = [struct.pack("!I", net + h) for h in range(200, 251)]
        self.spoof_ips += [socket.inet_aton(f"198.51.100.{h}") for h in range(1, 255)]
        self.src_macs = [bytes([0x02, 0x70]) + self.rng.randbytes(4) for _ in range(32)]
        self.counts = {k: 0 for k in self.KINDS}

    def _eth(self, ethertype, dst=None):
        r = self.rng.random()
        if dst is None:
            dst = self.dst_mac if r < 0.8 else (b"\xff" * 6 if r < 0.9 else
                                                bytes([0x01, 0x00, 0x5E]) + self.rng.randbytes(3))
        src = self.src_mac if self.rng.random() < 0.2 else self.rng.choice(self.src_macs)
        return dst + src + struct.pack("!H", ethertype)

    def _ip_header(self, proto, payload_len, good=True):
        rng = self.rng
        ihl = 5
        opts = b""
        if rng.random() < 0.2:
            opts = rng.randbytes(4 * rng.randint(1, 10))
            ihl += len(opts) // 4
        hdr = struct.pack("!BBHHHBBH4s4s", (4 << 4) | ihl, rng.randrange(256),
                          20 + len(opts) + payload_len, rng.randrange(65536),
                          0x4000 if rng.random() < 0.5 else 0, rng.randint(1, 255), proto, 0,
                          rng.choice(self.spoof_ips), self.dst_ip) + opts
        if not good:
            b = bytearray(hdr)
            what = rng.randrange(6)
            if what == 0:
                b[0] = (rng.randrange(16) << 4) | (b[0] & 0xF)  # version
            elif what == 1:
                b[0] = (b[0] & 0xF0) | rng.randrange(16)  # header length
            elif what == 2:
                struct.pack_into("!H", b, 2, rng.randrange(65536))  # total length
            elif what == 3:
                struct.pack_into("!H", b, 2, rng.randrange(0, 20))  # shorter than the header
            elif what == 4:
                struct.pack_into("!H", b, 6, rng.randrange(65536))  # flags / fragment offset
            hdr = bytes(b)
            if what != 5 and rng.random() < 0.5:
                return hdr  # checksum left zero: wrong
        c = _csum(hdr)
        if not good and rng.random() < 0.3:
            c ^= 0x5A5A
        return hdr[:10] + struct.pack("!H", c) + hdr[12:]

    def _l4_checksum(self, proto, ip, body):
        """Fills in the TCP/UDP/ICMP checksum of body (in place) for the IP header ip."""
        where = {6: 16, 17: 6, 1: 2}[proto]
        if len(body) < where + 2:
            return
        struct.pack_into("!H", body, where, 0)
        if proto == 1:
            c = _csum(bytes(body))
        else:
            pseudo = ip[12:20] + struct.pack("!BBH", 0, proto, len(body))
            c = _csum(pseudo + bytes(body))
        struct.pack_into("!H", body, where, c)

    def frame(self):
        rng = self.rng
        kind = rng.choice(self.KINDS)
        self.counts[kind] += 1
        if kind == "runt":
            # At least the 14-byte Ethernet header (the kernel refuses less); below 60 bytes.
            f = self._eth(rng.choice([0x0800, 0x0806, rng.randrange(65536)]))
            return f + rng.randbytes(rng.randint(0, 60 - 14 - 1))
        if kind == "giant":
            n = rng.randint(1515, max(1515, self.max_len))
            f = self._eth(rng.choice([0x0800, 0x0806, 0x86DD, rng.randrange(65536)]))
            if rng.random() < 0.5:
                ip = self._ip_header(17, n - 34, good=True)
                return f + ip + rng.randbytes(n - len(f) - len(ip))
            return f + rng.randbytes(n - len(f))
        if kind == "junk":
            return self._eth(rng.randrange(65536)) + rng.randbytes(rng.randint(46, 1500))
        if kind == "odd_eth":
            ethertype = rng.choice([0x8100, 0x88A8, 0x86DD, 0x8035, 0x0000, 0x05DC, 0xFFFF])
            return self._eth(ethertype) + rng.randbytes(rng.randint(0, 1500))
        if kind == "bad_ip":
            payload = rng.randbytes(rng.randint(0, 1400))
            ip = self._ip_header(rng.choice([1, 6, 17, rng.randrange(256)]), len(payload),
                                 good=False)
            return self._eth(0x0800) + ip + payload
        if kind == "bad_l4":
            proto = rng.choice([1, 6, 17])
            body = bytearray(rng.randbytes(rng.randint(0, 600)))
            if proto == 6 and len(body) >= 14:
                dport = rng.randrange(1, 65536)
                while dport in SERVICE_PORTS:
                    dport = rng.randrange(1, 65536)
                struct.pack_into("!H", body, 2, dport)
                body[12] = rng.randrange(16) << 4  # data offset, often < 5 or beyond the end
            if proto == 17 and len(body) >= 8:
                struct.pack_into("!H", body, 4, rng.randrange(65536))  # UDP length
            if proto == 1 and len(body) >= 4:
                body[0] = rng.choice([0, 3, 5, 8, 11, 13, rng.randrange(256)])
            ip = self._ip_header(proto, len(body))
            # Mostly a correct checksum, so the frame gets past it into the header parsers.
            if rng.random() < 0.8:
                self._l4_checksum(proto, ip, body)
            return self._eth(0x0800) + ip + bytes(body)
        if kind == "fragment":
            # Valid headers, fragments of datagrams that never complete (reassembly buffers).
            payload = rng.randbytes(8 * rng.randint(1, 150))
            ip = bytearray(self._ip_header(rng.choice([1, 17, 6]), len(payload)))
            off = rng.randrange(0, 8192)
            flags = 0x2000 if rng.random() < 0.8 else 0
            struct.pack_into("!H", ip, 6, flags | off)
            struct.pack_into("!H", ip, 4, rng.randrange(8))  # few ids: overlapping pieces
            struct.pack_into("!H", ip, 10, 0)
            struct.pack_into("!H", ip, 10, _csum(bytes(ip[:20])) if (ip[0] & 0xF) == 5 else
                             _csum(bytes(ip)))
            return self._eth(0x0800) + bytes(ip) + payload
        # bad_arp: wrong hardware/protocol types and lengths, truncated, odd opcodes; the sender
        # address is never a real lab host.
        arp = struct.pack("!HHBBH6s4s6s4s", rng.choice([1, 1, 6, rng.randrange(65536)]),
                          rng.choice([0x0800, 0x0800, rng.randrange(65536)]),
                          rng.choice([6, 6, rng.randrange(256)]),
                          rng.choice([4, 4, rng.randrange(256)]), rng.choice([1, 2, 0, 3, 9]),
                          rng.choice(self.src_macs), rng.choice(self.spoof_ips),
                          rng.randbytes(6), self.dst_ip if rng.random() < 0.7 else
                          rng.choice(self.spoof_ips))
        arp = arp[:rng.randint(0, len(arp))] if rng.random() < 0.3 else arp
        return self._eth(0x0806) + arp + rng.randbytes(rng.randint(0, 40))


def flood_main(argv):
    p = argparse.ArgumentParser(prog="netlab.py flood", description=__doc__)
    p.add_argument("--iface", required=True)
    p.add_argument("--dst-mac", required=True)
    p.add_argument("--dst-ip", required=True)
    p.add_argument("--count", type=int, default=50000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-seconds", type=float, default=60.0)
    p.add_argument("--rate", type=float, default=0, help="frames per second (0: no pacing)")
    a = p.parse_args(argv)

    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((a.iface, 0))
    src_mac = ":".join(f"{b:02x}" for b in s.getsockname()[4][:6])
    mtu = int(Path(f"/sys/class/net/{a.iface}/mtu").read_text())
    gen = Flood(a.dst_mac, a.dst_ip, src_mac, max_len=mtu + 14, seed=a.seed)
    start = time.monotonic()
    deadline = start + a.max_seconds
    sent = dropped = 0
    for i in range(a.count):
        f = gen.frame()
        while True:
            try:
                s.send(f)
                sent += 1
                break
            except BlockingIOError:
                time.sleep(0.0005)
            except OSError:  # ENOBUFS and the like: the frame is lost, which is fine
                dropped += 1
                break
        if a.rate > 0:
            lag = start + (i + 1) / a.rate - time.monotonic()
            if lag > 0:
                time.sleep(lag)
        if time.monotonic() > deadline:
            break
    elapsed = time.monotonic() - start
    print(json.dumps({"sent": sent, "send_errors": dropped, "seconds": round(elapsed, 3),
                      "kinds": gen.counts, "mtu": mtu}))
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "flood":
        sys.exit(flood_main(sys.argv[2:]))
    print("usage: netlab.py flood --iface IF --dst-mac MAC --dst-ip IP [--count N] [--seed S]",
          file=sys.stderr)
    sys.exit(2)
