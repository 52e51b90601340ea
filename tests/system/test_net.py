"""System tests of host networking over QEMU user-mode networking (slirp), booted through
tools/run for each NIC model: DHCP, iperf both ways through the host forwards, the console and
log-stream forwards, and the pcap that --capture (QEMU's filter-dump) writes. The TAP lab tests
are in test_net_lab.py.

iperf. The appliance runs its own iperf 2 server (netstack/iperf.c); the host has iperf 2.1.8.
The server reads the client's header (iperf 2.0's 24 bytes or 2.1's longer one), counts every
byte of the connection (headers included, as the client does), and for `-r` (after the client's
run) or `-d` (at once) connects back to the client's -L port and sends iperf's pattern for the
client's -t or -n. So the host's `iperf -c`, `-c -r -L PORT` and `-c -d -L PORT` all move data
both ways, with no workaround. Tests whose client waits for a reply on its own connection (`-R`,
`--full-duplex`, `-X`, `--bounceback`) are refused with a log line and a clean close; UDP (`-u`)
is not served.

Set PETREL_KERNEL=path/to/petrel.elf to test a kernel other than build/petrel.elf.
"""

import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest

import netlab
import qemu as qm

REPO = qm.REPO
RUN = str(REPO / "tools" / "run")

# --nic names of tools/run; ne2k is QEMU's ne2k_pci, ne2k-isa the ISA card at 0x300/IRQ 9,
# virtio QEMU's virtio-net-pci (drivers/virtio_net.c).
NICS = ["rtl8139", "ne2k", "ne2k-isa", "virtio"]
NIC_LOG = {"rtl8139": r"RTL8139 00:\d\d\.0", "ne2k": r"NE2000 PCI 00:\d\d\.0",
           "ne2k-isa": r"NE2000 ISA 0x300", "virtio": r"virtio-net 00:\d\d\.0"}
QEMU_MAC = "52:54:00:12:34:56"
IPERF_SECONDS = 3
MIN_BYTES = 4 * 1024 * 1024  # "some MB": TCG on a busy 2-core machine still moves far more
ADDRESS_TIMEOUT = 30 * qm.TIMEOUT_SCALE
LOG_TIMEOUT = 15 * qm.TIMEOUT_SCALE
# The four default forwards of tools/run (host port = these + offset) and the iperf -L port.
FWD = {"telnet": 2323, "log": 5140, "iperf": 5001, "capture": 5555}
IPERF_LISTEN = 5002

ADDRESS_RE = (r"net     info  address (\S+) netmask (\S+) gateway (\S+) "
              r"mac ([0-9a-f:]{17}) \((dhcp|static)\)")
FATAL_RE = re.compile(r"KERNEL (FAULT|PANIC)|PANIC:|petrel: kernel halted")


def kernel_for_tests(petrel_kernel):
    """The kernel the ISOs are made from: PETREL_KERNEL or build/petrel.elf (the fixture)."""
    return petrel_kernel


def assert_no_fatal(q):
    out = q.output()
    m = FATAL_RE.search(out)
    assert m is None, f"fatal line {m.group(0)!r}\n{q.describe()}"
    assert q.alive(), f"QEMU exited\n{q.describe()}"
    assert len(re.findall(qm.READY_RE, out, re.MULTILINE)) == 1, q.describe()


def need(tool):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} not installed (run 'make deps')")


# ---- tools/run: the command lines it builds (no boot) ------------------------------------------

@pytest.fixture(scope="module")
def dummy_iso(tmp_path_factory):
    """--dry-run still checks that the ISO exists; any file will do."""
    p = tmp_path_factory.mktemp("dry") / "dummy.iso"
    p.write_bytes(b"")
    return p


@pytest.fixture
def dry_run(dummy_iso):
    def run(*args, env=None):
        e = dict(os.environ)
        for k in ("NET", "NIC", "CAPTURE", "TAP", "NETNS", "HOSTFWD_OFFSET"):
            e.pop(k, None)
        e.update(env or {})
        return subprocess.run([RUN, "--dry-run", "--iso", str(dummy_iso)] + list(args),
                              capture_output=True, text=True, timeout=30, env=e,
                              stdin=subprocess.DEVNULL)

    return run


def test_run_user_forwards_offset(dry_run):
    r = dry_run("--nic", "ne2k", "--hostfwd-offset", "20000", "--hostfwd", "8080:80")
    assert r.returncode == 0, r.stderr
    want = ("-netdev user,id=n0,hostfwd=tcp:127.0.0.1:22323-:23,hostfwd=tcp:127.0.0.1:25140-:5140,"
            "hostfwd=tcp:127.0.0.1:25001-:5001,hostfwd=tcp:127.0.0.1:25555-:5555,"
            "hostfwd=tcp:127.0.0.1:8080-:80 -device ne2k_pci,netdev=n0")
    assert want in r.stdout, r.stdout


def test_run_nic_models_and_capture(tmp_path, dry_run):
    cap = tmp_path / "x.pcap"
    r = dry_run("--nic", "ne2k-isa", "--no-hostfwd", "--capture", str(cap))
    assert r.returncode == 0, r.stderr
    assert ("-netdev user,id=n0 -device ne2k_isa,iobase=0x300,irq=9,netdev=n0 "
            f"-object filter-dump,id=cap0,netdev=n0,file={cap}") in r.stdout, r.stdout
    r = dry_run("--nic", "none")
    assert r.returncode == 0 and "-nic none" in r.stdout and "-netdev" not in r.stdout


def test_run_env_like_make(tmp_path, dry_run):
    """make run NET=... NIC=... CAPTURE=... reaches tools/run as options and as environment."""
    cap = tmp_path / "y.pcap"
    r = dry_run(env={"NIC": "ne2k", "CAPTURE": str(cap), "HOSTFWD_OFFSET": "1"})
    assert r.returncode == 0, r.stderr
    assert "hostfwd=tcp:127.0.0.1:2324-:23" in r.stdout and "-device ne2k_pci,netdev=n0" in r.stdout
    assert f"filter-dump,id=cap0,netdev=n0,file={cap}" in r.stdout


def test_run_tap_modes(dry_run):
    r = dry_run("--tap", "tap0", "--netns", "lab")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ip netns exec lab qemu-system-x86_64 "), r.stdout
    assert "-netdev tap,id=n0,ifname=tap0,script=no,downscript=no -device rtl8139,netdev=n0" \
        in r.stdout
    r = dry_run("--net", "tap", "--nic", "ne2k")
    assert r.returncode == 0, r.stderr
    assert (f"-netdev tap,id=n0,script={REPO}/tap-setup/qemu-ifup,"
            f"downscript={REPO}/tap-setup/qemu-ifdown -device ne2k_pci,netdev=n0") in r.stdout


@pytest.mark.parametrize("args,msg", [
    (["--net", "slirp"], "unknown --net 'slirp'"),
    (["--nic", "e1000"], "unknown --nic 'e1000'"),
    (["--nic", "none", "--capture", "/tmp/x.pcap"], "--capture needs a NIC"),
    (["--hostfwd-offset", "63300"], "above 65535"),
    (["--hostfwd", "80"], "--hostfwd wants HOST:GUEST"),
    (["--net", "user", "--tap", "tap0"], "need --net tap"),
    (["--capture", "/nonexistent/dir/x.pcap"], "not writable"),
])
def test_run_rejects(args, msg, dry_run):
    r = dry_run(*args)
    assert r.returncode != 0 and msg in r.stderr, (args, r.stderr)


def test_run_tap_checks_namespace(dummy_iso):
    if not netlab.is_root():
        pytest.skip("needs root")
    name = "ptnone" + str(os.getpid() % 1000)
    r = subprocess.run([RUN, "--iso", str(dummy_iso), "--tap", "tap0", "--netns", name],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode != 0 and f"namespace '{name}' does not exist" in r.stderr, r.stderr


# ---- user networking: one boot per NIC model -------------------------------------------------

@pytest.fixture(scope="module", params=NICS)
def user_boot(request, tmp_path_factory, iso_factory, petrel_kernel):
    """The appliance on slirp through tools/run: forwards at a free random offset, capture on.
    Yields (qemu, offset, pcap path)."""
    nic = request.param
    iso = iso_factory("", kernel=kernel_for_tests(petrel_kernel))
    work = tmp_path_factory.mktemp(f"user-{nic}")
    pcap = work / "capture.pcap"
    ports = sorted(set(FWD.values()) | {IPERF_LISTEN})
    offset = netlab.free_port_block(ports, lo=10000, hi=65000)
    q = netlab.run_qemu_class(qm)(iso, work, ["--nic", nic, "--net", "user",
                                              "--hostfwd-offset", offset, "--capture", pcap],
                                  name=f"user-{nic}")
    request.addfinalizer(q.stop)
    q.start()
    q.wait_ready()
    q.wait_for(ADDRESS_RE, ADDRESS_TIMEOUT)
    return q, offset, pcap


def test_user_dhcp_address(user_boot, request):
    q, _, _ = user_boot
    nic = request.node.callspec.params["user_boot"]
    out = q.output()
    assert re.search(rf"drv     info  {NIC_LOG[nic]}: MAC {QEMU_MAC}", out), q.describe()
    m = re.search(ADDRESS_RE, out)
    assert m.groups() == ("10.0.2.15", "255.255.255.0", "10.0.2.2", QEMU_MAC, "dhcp"), m.group(0)
    assert_no_fatal(q)


def appliance_iperf_line(q, what, peer_port=None, timeout=LOG_TIMEOUT, after=0, equal=None):
    """Waits for the iperf server's report ('received'/'sent' N bytes) after `after`
    characters of output; returns the byte count (the largest, if retries left several
    reports). With `equal`, waits for a report of exactly that many bytes (the run that
    counted, when a retried run left an earlier report) and returns it, or the largest
    report when none matches by the timeout."""
    port = rf":{peer_port}" if peer_port else r":\d+"
    pat = re.compile(rf"net     info  iperf: {what} (\d+) bytes in \d+ ms \(\d+ kbit/s\) "
                     rf"with [\d.]+{port}$", re.MULTILINE)
    deadline = time.monotonic() + timeout
    while True:
        found = [int(m.group(1)) for m in pat.finditer(q.output(), after)]
        if found and (equal is None or equal in found):
            return equal if equal is not None else max(found)
        if time.monotonic() > deadline or not q.alive():
            if found:
                return max(found)
            raise qm.QemuError(f"no 'iperf: {what}' line\n{q.describe()}")
        time.sleep(0.1)


def test_user_iperf_host_to_appliance(user_boot):
    need("iperf")
    q, offset, _ = user_boot
    mark = len(q.output())
    sent, bps, out = netlab.iperf_to("127.0.0.1", offset + FWD["iperf"], IPERF_SECONDS)
    assert sent > MIN_BYTES, out
    received = appliance_iperf_line(q, "received", after=mark)
    # The server counts every byte, header included, like the client: all must arrive.
    assert MIN_BYTES < received == sent, (received, sent, out)
    assert_no_fatal(q)


def wait_log(q, regex, after=0, timeout=LOG_TIMEOUT):
    """Waits for regex in the serial output after `after` characters; returns the match."""
    pat = re.compile(regex, re.MULTILINE)
    deadline = time.monotonic() + timeout
    while True:
        m = pat.search(q.output(), after)
        if m:
            return m
        if time.monotonic() > deadline or not q.alive():
            raise qm.QemuError(f"no /{regex}/ in the log\n{q.describe()}")
        time.sleep(0.1)


def check_two_way(q, mode, fwd_sent, rev_got, listen, mark, out, min_bytes=MIN_BYTES):
    """The appliance's two reports of an `iperf -c -r|-d -L listen` run match what the host
    saw: it received all the client sent, and sent at least what the host received."""
    received = appliance_iperf_line(q, "received", after=mark, equal=fwd_sent)
    sent = appliance_iperf_line(q, "sent", peer_port=listen, after=mark)
    print(f"{mode}: host -> appliance {received} bytes, appliance -> host {rev_got} bytes",
          file=sys.stderr)
    assert min_bytes < received == fwd_sent, (mode, received, fwd_sent, out)
    assert min_bytes < rev_got <= sent, (mode, rev_got, sent, out)
    wait_log(q, rf"iperf: {re.escape(mode)} test from [\d.]+:\d+: sending back to port {listen} "
                rf"for {IPERF_SECONDS * 1000} ms", after=mark)


@pytest.mark.parametrize("mode", ["-r", "-d"])
def test_user_iperf_both_ways(user_boot, mode):
    """`iperf -c -r` (one direction after the other) and `-d` (both at once) with the host's
    iperf 2.1.8: data moves both ways, and each direction is reported on both ends."""
    need("iperf")
    q, offset, _ = user_boot
    mark = len(q.output())
    listen = offset + IPERF_LISTEN
    fwd, rev, out = netlab.iperf_two_way("127.0.0.1", offset + FWD["iperf"], listen,
                                         IPERF_SECONDS, mode, attempts=2)
    check_two_way(q, mode, fwd, rev, listen, mark, out)
    assert_no_fatal(q)


def test_user_iperf_refuses_unsupported(user_boot):
    """-R and --full-duplex want the server to send on the client's own connection: refused with
    a log line and a clean close; the server goes on serving."""
    need("iperf")
    q, offset, _ = user_boot
    port = offset + FWD["iperf"]
    for opt, why in (("-R", "-R (reverse"), ("--full-duplex", "--full-duplex is not served")):
        mark = len(q.output())
        netlab.run(["iperf", "-c", "127.0.0.1", "-p", str(port), "-t", "1", opt],
                   timeout=20 * qm.TIMEOUT_SCALE, check=False)
        wait_log(q, r"iperf: refusing the test from [\d.]+:\d+: " + re.escape(why), after=mark)
    mark = len(q.output())
    sent, _, out = netlab.iperf_to("127.0.0.1", port, 1)
    assert appliance_iperf_line(q, "received", after=mark) == sent, out
    assert_no_fatal(q)


def test_user_console_and_log_forwards(user_boot):
    """127.0.0.1:2323+offset reaches the telnet console, :5140+offset the log stream."""
    q, offset, _ = user_boot
    if not re.search(r"console info  telnet console on TCP port 23", q.output()):
        pytest.skip("the telnet console is not in this build (issue 4)")
    with socket.create_connection(("127.0.0.1", offset + FWD["telnet"]), timeout=10) as s:
        s.settimeout(10)
        data = b""
        deadline = time.monotonic() + 10 * qm.TIMEOUT_SCALE
        while b"management console" not in data and time.monotonic() < deadline:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    assert b"management console" in data, data
    if not re.search(r"console info  log stream on TCP port 5140", q.output()):
        return
    with socket.create_connection(("127.0.0.1", offset + FWD["log"]), timeout=10) as s:
        s.settimeout(10)
        data = b""
        deadline = time.monotonic() + 10 * qm.TIMEOUT_SCALE
        while b"10.0.2.15" not in data and time.monotonic() < deadline:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    # The stream starts with the kept log, which holds the address line.
    assert b"net     info  address 10.0.2.15" in data or b"address 10.0.2.15" in data, data[-2000:]


def tshark_fields(pcap, display_filter, fields, timeout=60, first=None):
    """Decoded fields of the packets matching display_filter; with first=N only the capture's
    first N packets are read (the capture also holds the iperf runs: hundreds of MB)."""
    if first is not None:
        head = pathlib.Path(str(pcap) + f".first{first}")
        subprocess.run(["editcap", "-r", str(pcap), str(head), f"1-{first}"], check=True,
                       capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        pcap = head
    cmd = ["tshark", "-n", "-r", str(pcap), "-Y", display_filter, "-T", "fields"]
    for f in fields:
        cmd += ["-e", f]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    return [line.split("\t") for line in r.stdout.splitlines() if line.strip()]


def test_user_capture_shows_dhcp(user_boot):
    need("tshark")
    _, _, pcap = user_boot
    rows = tshark_fields(pcap, "dhcp", ["dhcp.option.dhcp", "eth.src", "dhcp.ip.your",
                                        "dhcp.option.requested_ip_address"], first=500)
    types = [r[0] for r in rows]
    # Discover, Offer, Request, ACK (message types 1, 2, 3, 5), in that order.
    assert types[:4] == ["1", "2", "3", "5"], rows
    assert rows[0][1] == QEMU_MAC and rows[2][1] == QEMU_MAC, rows
    assert rows[1][2] == "10.0.2.15" and rows[3][2] == "10.0.2.15", rows
    assert rows[2][3] == "10.0.2.15", rows
