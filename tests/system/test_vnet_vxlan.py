"""System tests of VXLAN links between real peers, in a namespace lab (tap-setup/lab-netns).

Two appliances run in the lab namespace, each a QEMU process with its own TAP on the lab
bridge and a static address: A (10.77.0.2) on the lab's TAP, B (10.77.0.3) on a TAP that QEMU
makes and tap-setup/qemu-ifup puts into the bridge. Each runs one Linux guest (tools/mkguest-
linux) with a virtio NIC on VNET network 42, whose only other member is the VXLAN link (VNI 42)
that petrel.conf's [vnet] section configures. So the guests (192.168.42.10 on A, .20 on B) meet
only across the tunnel:

  guest ga --virtio-- A [net 42: ga.eth0, vx:peer] ==UDP 4789== B [net 42: gb.eth0, vx:peer] -- gb

eth0 keeps the default MTU of a network a link carries: 1450 (outer MTU 1500 - 50), offered
through VIRTIO_NET_F_MTU. Each guest has a second virtio NIC, eth1 with `mtu=1500` in its nic
line, on network 43 that a second link (vx:big, VNI 43) carries: 192.168.43.10 and .20, full-size
frames that fragment outside.

- ga pings gb and back (typed on the guests' serial consoles over the appliances' telnet
  consoles); tshark on the lab bridge decodes the outer datagrams as VXLAN with VNI 42 carrying
  the guests' ICMP.
- A's capture stream (TCP 5555) shows the inner ICMP on ga.eth0 and vx:peer and the outer
  VXLAN datagrams on local and edge.
- MTU 1450 on eth0 (the guests' `ip link` says so, and `vnet ports`): full-size pings and an
  HTTP transfer each way at once, checked with sha256sum, cross without outer fragmentation
  (the links' `fragmented` counters do not move).
- Full-size frames on eth1 (mtu=1500): big pings both ways and an HTTP transfer each way at
  once, checked with sha256sum, cross as fragmented outer datagrams.
- A Linux vxlan device in lab host h1 (`ip link add vx0 type vxlan id 42 remote A`) joins the
  VNI: it pings ga, and ga pings it (also with full-size echoes, inner IP fragments both ways).

Both boots are shared by the tests (module fixtures). Needs root, tshark and the Linux guest.
PETREL_LINUX_GUEST names another guest directory (default build/guests/linux, built with
tools/mkguest-linux if missing)."""

import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

import labfix
import netlab
import qemu as qm
import test_linux as tl
from test_net import ADDRESS_RE, ADDRESS_TIMEOUT, assert_no_fatal
from test_vnet import CAPTURE_PORT, READER

REPO = qm.REPO
PASSWORD = "petrel-vxlan-test"
SALT = "vxlantest1"
VNI = 42
NET = 42  # the VNET network of the guests' eth0 and the link vx:peer
GUEST_NET = "192.168.42"
TUNNEL_MTU = 1450  # what eth0 gets: the outer MTU (1500) - 50
BIG_VNI = 43  # vx:big and network 43: the guests' eth1, with mtu=1500
BIG_NET = 43
BIG_GUEST_NET = "192.168.43"
H1_OVERLAY = f"{GUEST_NET}.1"  # lab host h1's vx0
# Per appliance: host NIC MAC, last byte of its lab address, guest name, guest MAC, guest address.
APPLIANCES = {
    "a": {"mac": "52:54:00:12:34:56", "host": 2, "vm": "ga", "vm_mac": "52:54:00:42:00:10",
          "vm_ip": f"{GUEST_NET}.10", "big_mac": "52:54:00:43:00:10",
          "big_ip": f"{BIG_GUEST_NET}.10"},
    "b": {"mac": "52:54:00:12:34:57", "host": 3, "vm": "gb", "vm_mac": "52:54:00:42:00:20",
          "vm_ip": f"{GUEST_NET}.20", "big_mac": "52:54:00:43:00:20",
          "big_ip": f"{BIG_GUEST_NET}.20"},
}
BOOT_TIMEOUT = 420.0 * qm.TIMEOUT_SCALE  # two nested-TCG Linux guests on a shared machine
GUEST_CMD_TIMEOUT = 60.0 * qm.TIMEOUT_SCALE
TSHARK_TIMEOUT = 60.0 * qm.TIMEOUT_SCALE


guest = tl.guest  # the fixture: build/guests/linux (tools/mkguest-linux, cached)


# A lab: bridge 10.77.0.1, TAP tap0 (appliance A), host h1 (.11).
lab = labfix.lab_fixture(hosts=1, tools=("ip", "telnet", "tshark"))


def petrel_conf(lab, me, peer):
    """petrel.conf of one appliance: the link to the other (and, on A, to lab host h1) and one
    guest whose eth0 shares network NET with the link alone (its MTU left to the switch), and
    whose eth1 (mtu=1500) shares network BIG_NET with a second link to the other appliance."""
    remotes = [lab.addr(APPLIANCES[peer]["host"])]
    if me == "a":
        remotes.append(lab.host_ip(1))
    a = APPLIANCES[me]
    return (f"[vnet]\n"
            f"link = vx:peer vni {VNI} remote {','.join(remotes)} network {NET}\n"
            f"link = vx:big vni {BIG_VNI} remote {lab.addr(APPLIANCES[peer]['host'])} "
            f"network {BIG_NET}\n\n"
            f"[vm {a['vm']}]\n"
            f"memory = 128M\nkernel = vmlinuz\ninitrd = initrd.img\n"
            f"nic = virtio,mac={a['vm_mac']},net={NET}\n"
            f"nic = virtio,mac={a['big_mac']},net={BIG_NET},mtu=1500\n"
            f"cmdline = console=ttyS0 tsc=reliable quiet petrel.ip={a['vm_ip']}/24\n")


@pytest.fixture(scope="module")
def pair(request, lab, guest, tmp_path_factory, petrel_kernel):
    """Appliances A and B booted in parallel, each with its guest at its shell prompt; returns
    {"a": qemu, "b": qemu}."""
    secret = netlab.make_password(PASSWORD, SALT)
    work = tmp_path_factory.mktemp("vxlan")
    started = {}
    t0 = time.monotonic()
    for me, peer in (("a", "b"), ("b", "a")):
        conf = work / f"petrel-{me}.conf"
        conf.write_text(petrel_conf(lab, me, peer))
        iso = work / f"{me}.iso"
        cmdline = (f"ip={lab.addr(APPLIANCES[me]['host'])}/24 gw={lab.bridge_ip} "
                   f"console.password={secret}")
        r = subprocess.run([str(REPO / "tools" / "mkiso"), "--kernel", str(petrel_kernel),
                            "-c", str(conf), "--cmdline", cmdline,
                            "-m", str(guest / "vmlinuz"), "-m", str(guest / "initrd.img"),
                            "-o", str(iso)], cwd=REPO, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"mkiso failed:\n{r.stdout}{r.stderr}"
        # A on the lab's TAP; B on a TAP QEMU makes, joined to the bridge by qemu-ifup.
        net = ["--tap", lab.tap] if me == "a" else []
        q = netlab.run_qemu_class(qm)(iso, work, ["--mem", 512, "--nic", "rtl8139", "--mac",
                                                  APPLIANCES[me]["mac"], "--netns", lab.name]
                                      + net, name=f"vx{me}")
        request.addfinalizer(q.stop)
        q.start()
        started[me] = q
    for me, q in started.items():
        q.wait_ready()
        q.wait_for(ADDRESS_RE, ADDRESS_TIMEOUT)
        assert re.search(rf"config: petrel\.conf:\d+: \[vnet\] link = vx:peer vni {VNI}",
                         q.output()), q.describe()
    for me, q in started.items():
        q.wait_for(tl.vm_line(APPLIANCES[me]["vm"], "PETREL-GUEST-SHELL"), timeout=BOOT_TIMEOUT)
    print(f"both guests at their shells {time.monotonic() - t0:.1f} s after the QEMUs started")
    return started


@pytest.fixture(scope="module")
def shells(lab, pair):
    """Telnet sessions attached to ga's and gb's consoles."""
    opened = {}
    try:
        for me in ("a", "b"):
            ip = lab.addr(APPLIANCES[me]["host"])
            opened[me] = labfix.GuestShell(lab.ns_cmd(lab.name, ["telnet", "-E", ip, "23"]),
                                           APPLIANCES[me]["vm"], PASSWORD, GUEST_CMD_TIMEOUT)
        yield opened
    finally:
        for s in opened.values():
            s.close()


@pytest.fixture(scope="module")
def con_a(lab, pair):
    c = netlab.Console(lab.ns_cmd(lab.name, ["telnet", lab.addr(APPLIANCES["a"]["host"]), "23"]),
                       password=PASSWORD)
    yield c
    c.close()


class Tshark:
    """tshark on the lab bridge (VXLAN unless bpf says otherwise) writing a pcapng file;
    stop() ends it and returns the decoded rows: VNI, outer+inner source and destination
    addresses, ICMP type, UDP destination port, IP lengths and MF flags."""

    FIELDS = ("vxlan.vni", "ip.src", "ip.dst", "icmp.type", "udp.dstport", "ip.len",
              "ip.flags.mf")

    # VXLAN and every non-first IP fragment (they carry no UDP header), so tshark can
    # reassemble fragmented outer datagrams.
    BPF = "udp port 4789 or (ip[6:2] & 0x1fff != 0)"

    def __init__(self, lab, path, bpf=BPF):
        self.path = Path(path)
        self.err = self.path.with_suffix(".err")
        self.errf = open(self.err, "w")
        self.proc = subprocess.Popen(lab.ns_cmd(lab.name, [
            "tshark", "-n", "-i", "petrelbr0", "-f", bpf, "-w", str(self.path),
            "-a", f"duration:{int(300 * qm.TIMEOUT_SCALE)}"]),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.errf)
        deadline = time.monotonic() + TSHARK_TIMEOUT
        try:
            while "Capturing on" not in self.err.read_text():
                assert self.proc.poll() is None, self.err.read_text()
                assert time.monotonic() < deadline, \
                    f"tshark did not start:\n{self.err.read_text()}"
                time.sleep(0.1)
        except BaseException:
            self.proc.kill()
            self.proc.wait()
            self.errf.close()
            raise
        time.sleep(1)  # "Capturing on" can come a moment before the first packets are taken

    def stop(self):
        # dumpcap hands packets over in blocks (libpcap's buffer timeout): give the last ones
        # time to reach the file before the capture ends.
        time.sleep(2)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=TSHARK_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.errf.close()
        r = netlab.run(["tshark", "-n", "-r", self.path, "-T", "fields"]
                       + [x for f in self.FIELDS for x in ("-e", f)],
                       timeout=TSHARK_TIMEOUT, check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        return [dict(zip(self.FIELDS, line.split("\t"))) for line in r.stdout.splitlines()]


def show(rows):
    """The rows as text, one datagram a line, for failure messages."""
    return "\n".join(" ".join(r.get(f, "") for f in Tshark.FIELDS) for r in rows)


def icmp_over_vxlan(rows, outer_src, outer_dst, inner_src, inner_dst, icmp_type, vni=VNI):
    """The rows of VXLAN datagrams outer_src -> outer_dst (UDP 4789, vni) that carry ICMP of
    icmp_type from inner_src to inner_dst."""
    return [r for r in rows
            if r["vxlan.vni"] == str(vni) and r["ip.src"] == f"{outer_src},{inner_src}"
            and r["ip.dst"] == f"{outer_dst},{inner_dst}" and r["icmp.type"] == str(icmp_type)
            and r["udp.dstport"] == "4789"]


def test_links_from_petrel_conf(pair, con_a):
    for me, q in pair.items():
        out = q.output()
        a = APPLIANCES[me]
        assert re.search(rf"port {a['vm']}\.eth0: {a['vm_mac']} on network {NET}", out), me
        assert re.search(tl.vm_line(a["vm"], rf"PETREL-GUEST-READY kernel=\S+ "
                                           rf"eth0={re.escape(a['vm_ip'])}/24"), out), me
        assert_no_fatal(q)
    links = con_a.cmd("vnet links")
    assert f"vx:peer vni {VNI}" in links, links
    assert f"vx:big vni {BIG_VNI}" in links, links
    ports = con_a.cmd("vnet ports")
    # The MTU column: eth0 took its network's (the link's outer MTU - 50), eth1 its mtu=1500.
    assert re.search(rf"^\s*\d+\s+ga\.eth0\s+vnic\s+{APPLIANCES['a']['vm_mac']}\s+{NET}\s+"
                     rf"{TUNNEL_MTU}\s", ports, re.M), ports
    assert re.search(rf"^\s*\d+\s+ga\.eth1\s+vnic\s+{APPLIANCES['a']['big_mac']}\s+{BIG_NET}"
                     rf"\s+1500\s", ports, re.M), ports
    assert re.search(rf"^\s*\d+\s+vx:peer\s+link\s+-\s+{NET}\s", ports, re.M), ports
    # Network 42 has no edge: the host NIC need not listen for the guests' MACs.
    assert "promiscuous mode on" not in pair["a"].output()


def test_guests_ping_across_the_tunnel(lab, pair, shells, con_a, tmp_path):
    a, b = APPLIANCES["a"], APPLIANCES["b"]
    a_ip, b_ip = lab.addr(a["host"]), lab.addr(b["host"])
    cap = Tshark(lab, tmp_path / "vxlan.pcapng")
    try:
        # The first echo may go while ARP resolves on both levels (guest and appliance).
        sent, received, out = shells["a"].ping(b["vm_ip"], count=5)
        assert received >= 3, shells["a"].transcript()
    finally:
        rows = cap.stop()
    requests = icmp_over_vxlan(rows, a_ip, b_ip, a["vm_ip"], b["vm_ip"], 8)
    replies = icmp_over_vxlan(rows, b_ip, a_ip, b["vm_ip"], a["vm_ip"], 0)
    assert len(requests) >= received and len(replies) >= received, show(rows)
    # A's link decapsulated the replies and learned gb's MAC behind B.
    links = con_a.cmd("vnet links")
    m = re.search(r"rx: (\d+) datagrams, (\d+) frames; remote MACs (\d+)", links)
    assert m and int(m.group(2)) >= received and int(m.group(3)) >= 1, links
    # And back: gb pings ga.
    sent, received, out = shells["b"].ping(a["vm_ip"], count=3)
    assert received >= 2, shells["b"].transcript()
    for q in pair.values():
        assert_no_fatal(q)


def test_capture_stream_shows_both_sides_of_the_link(lab, pair, shells, tmp_path):
    """Appliance A's pcapng stream (TCP 5555): the guest's ICMP as inner frames on ga.eth0 and
    vx:peer, and the same echoes as outer VXLAN datagrams on local and edge."""
    a, b = APPLIANCES["a"], APPLIANCES["b"]
    path = tmp_path / "a.pcapng"
    seconds = 10 + 10 * qm.TIMEOUT_SCALE
    reader = subprocess.Popen(lab.ns_cmd(lab.name, [
        netlab.PYTHON, "-c", READER, lab.addr(a["host"]), CAPTURE_PORT, seconds, path]),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(2)
        sent, received, out = shells["a"].ping(b["vm_ip"], count=3)
        assert received == sent, shells["a"].transcript()
        out, _ = reader.communicate(timeout=seconds + 30 * qm.TIMEOUT_SCALE)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    assert reader.returncode == 0, out
    r = netlab.run(["tshark", "-n", "-r", path, "-T", "fields", "-e", "frame.interface_name",
                    "-e", "vxlan.vni", "-e", "icmp.type", "-e", "ip.src", "-e", "ip.dst"],
                   timeout=TSHARK_TIMEOUT, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = {tuple(line.split("\t")) for line in r.stdout.splitlines()}
    req = ("8", a["vm_ip"], b["vm_ip"])
    rep = ("0", b["vm_ip"], a["vm_ip"])
    a_ip, b_ip = lab.addr(a["host"]), lab.addr(b["host"])
    outer_req = ("8", f"{a_ip},{a['vm_ip']}", f"{b_ip},{b['vm_ip']}")
    outer_rep = ("0", f"{b_ip},{b['vm_ip']}", f"{a_ip},{a['vm_ip']}")
    want = {("ga.eth0", "") + req, ("vx:peer", "") + req, ("vx:peer", "") + rep,
            ("ga.eth0", "") + rep, ("local", str(VNI)) + outer_req,
            ("edge", str(VNI)) + outer_req, ("edge", str(VNI)) + outer_rep,
            ("local", str(VNI)) + outer_rep}
    assert want <= rows, "\n".join("\t".join(x) for x in sorted(rows))


def link_counters(con, name="vx:peer"):
    """tx fragmented and rx frames of link `name`, from `vnet links`."""
    links = con.cmd("vnet links")
    block = re.search(rf"^{re.escape(name)} vni .*\n(  .*\n?)+", links, re.M)
    assert block, links
    tx = re.search(r"tx: (\d+) frames, (\d+) datagrams \((\d+) unicast, (\d+) replicated, "
                   r"(\d+) fragmented, (\d+) udp errors\)", block.group(0))
    rx = re.search(r"rx: (\d+) datagrams, (\d+) frames", block.group(0))
    assert tx and rx, links
    return {"tx_frames": int(tx.group(1)), "fragmented": int(tx.group(5)),
            "udp_errors": int(tx.group(6)), "rx_frames": int(rx.group(2))}


@pytest.fixture(scope="module")
def big(shells):
    """The guests' eth1 (network BIG_NET, mtu=1500) up with its address; returns the addresses
    by appliance."""
    for me, a in APPLIANCES.items():
        shells[me].check(f"ip link set eth1 up && ip addr add {a['big_ip']}/24 dev eth1")
    return {me: a["big_ip"] for me, a in APPLIANCES.items()}


def guest_mtu(shell, dev):
    """The MTU the guest's `ip link` shows for dev."""
    _, out = shell.run(f"ip link show {dev}")
    m = re.search(rf"^\d+: {dev}: .* mtu (\d+) ", out, re.M)
    assert m, shell.transcript()
    return int(m.group(1))


def transfer_both_ways(shells, ips, label):
    """TCP both ways at once: each guest serves 1 MiB of random data with busybox httpd and
    fetches the other's (at ips[peer]) with wget; sha256sum checks the data end to end. (httpd,
    not nc: a background nc reads the console and is stopped, or quits early on a closed
    stdin.)"""
    sums = {}
    for me in ("a", "b"):
        sh = shells[me]
        _, out = sh.run("mkdir -p /tmp/www; rm -f /tmp/recv; "
                        "dd if=/dev/urandom of=/tmp/www/data bs=1024 count=1024 2>/dev/null; "
                        "pidof httpd >/dev/null || httpd -p 8080 -h /tmp/www; "
                        "sha256sum /tmp/www/data")
        m = re.search(r"^([0-9a-f]{64})  /tmp/www/data$", out, re.M)
        assert m, sh.transcript()
        sums[me] = m.group(1)
    t0 = time.monotonic()
    shells["b"].start(f"wget -q -O /tmp/recv http://{ips['a']}:8080/data; echo wget-exit=$?")
    shells["a"].start(f"wget -q -O /tmp/recv http://{ips['b']}:8080/data; echo wget-exit=$?")
    took = {}
    for me in ("a", "b"):
        _, out = shells[me].finish(timeout=180 * qm.TIMEOUT_SCALE)
        took[me] = time.monotonic() - t0
        assert "wget-exit=0" in out, shells[me].transcript()
    for me, peer in (("a", "b"), ("b", "a")):
        _, out = shells[me].run("sha256sum /tmp/recv")
        got = re.search(r"^([0-9a-f]{64})  /tmp/recv$", out, re.M)
        assert got and got.group(1) == sums[peer], shells[me].transcript()
    print(f"1 MiB each way over VXLAN ({label}) at once: ga's fetch done in {took['a']:.1f} s, "
          f"gb's in {took['b']:.1f} s")


def test_tunnel_mtu_crosses_unfragmented(lab, pair, shells, con_a, big):
    """eth0 sits on a network a VXLAN link carries: the switch gives its port MTU 1450 and the
    virtio NIC offers it (VIRTIO_NET_F_MTU), so Linux sets eth0's MTU to 1450 (eth1, with
    mtu=1500 in its nic line, keeps 1500). Full-size frames then fit one outer datagram of
    1500 bytes: full-size pings and a TCP transfer each way leave both links' `fragmented`
    counters where they were."""
    a, b = APPLIANCES["a"], APPLIANCES["b"]
    for me in ("a", "b"):
        assert guest_mtu(shells[me], "eth0") == TUNNEL_MTU
        assert guest_mtu(shells[me], "eth1") == 1500
        assert re.search(rf"port {APPLIANCES[me]['vm']}\.eth0: MTU {TUNNEL_MTU} offered to the "
                         rf"guest", pair[me].output()), pair[me].describe()
    con_b = netlab.Console(lab.ns_cmd(lab.name, ["telnet", lab.addr(b["host"]), "23"]),
                           password=PASSWORD)
    try:
        before = {"a": link_counters(con_a), "b": link_counters(con_b)}
        # 1422 bytes of ICMP data: IP packets of exactly 1450 bytes, frames of 1464.
        payload = TUNNEL_MTU - 28
        sent, received, out = shells["a"].ping(f"-s {payload} {b['vm_ip']}", count=3)
        assert received == sent, shells["a"].transcript()
        sent, received, out = shells["b"].ping(f"-s {payload} {a['vm_ip']}", count=3)
        assert received == sent, shells["b"].transcript()
        transfer_both_ways(shells, {"a": a["vm_ip"], "b": b["vm_ip"]}, f"MTU {TUNNEL_MTU}")
        after = {"a": link_counters(con_a), "b": link_counters(con_b)}
        ports = {"a": con_a.cmd("vnet ports"), "b": con_b.cmd("vnet ports")}
    finally:
        con_b.close()
    print(f"vx:peer counters before {before}, after {after}")
    # Nothing on the way was too long for a port: no giant or too_big drops anywhere.
    for me in ("a", "b"):
        assert not re.search(r"^drops on .*\b(giant|too_big) ", ports[me], re.M), ports[me]
    for me in ("a", "b"):
        assert after[me]["fragmented"] == before[me]["fragmented"], (me, before, after)
        # 1 MiB in segments of at most 1450 IP bytes: some 750 frames or more went out.
        assert after[me]["tx_frames"] - before[me]["tx_frames"] >= 700, (me, before, after)
        assert after[me]["udp_errors"] == before[me]["udp_errors"], (me, before, after)
    for q in pair.values():
        assert_no_fatal(q)


def test_full_size_frames_cross_fragmented(lab, pair, shells, con_a, big, tmp_path):
    """eth1 has mtu=1500 in its nic line: a full-size inner frame (1514 bytes) makes an outer
    IP packet of 1550 bytes, which lwIP fragments and the other appliance reassembles. Big
    pings both ways, then a TCP transfer whose data is checked end to end."""
    a, b = APPLIANCES["a"], APPLIANCES["b"]
    a_ip, b_ip = lab.addr(a["host"]), lab.addr(b["host"])
    before = link_counters(con_a, "vx:big")
    cap = Tshark(lab, tmp_path / "frag.pcapng")
    try:
        sent, received, out = shells["a"].ping(f"-s 1472 {big['b']}", count=3)
        assert received == sent, shells["a"].transcript()
        sent, received, out = shells["b"].ping(f"-s 1472 {big['a']}", count=3)
        assert received == sent, shells["b"].transcript()
    finally:
        rows = cap.stop()
    big_rows = [r for r in rows if r["ip.len"].split(",")[-1:] == ["1500"]]
    assert len(icmp_over_vxlan(rows, a_ip, b_ip, big["a"], big["b"], 8, BIG_VNI)) >= 3, \
        show(rows)
    assert len(icmp_over_vxlan(rows, b_ip, a_ip, big["b"], big["a"], 8, BIG_VNI)) >= 3, \
        show(rows)
    # Each echo of 1500 IP bytes went as an outer first fragment (MF) and a second one.
    frags = [r for r in rows if r["ip.flags.mf"].split(",")[0] == "1"]
    assert len(frags) >= 12, show(rows)
    assert big_rows, show(rows)
    after = link_counters(con_a, "vx:big")
    assert after["fragmented"] - before["fragmented"] >= 6, (before, after)

    transfer_both_ways(shells, big, "MTU 1500, fragmented")
    after2 = link_counters(con_a, "vx:big")
    assert after2["fragmented"] - after["fragmented"] >= 300, (after, after2)
    for q in pair.values():
        assert_no_fatal(q)


def test_linux_vxlan_joins_the_vni(lab, pair, shells, tmp_path):
    a = APPLIANCES["a"]
    a_ip, h1_ip = lab.addr(a["host"]), lab.host_ip(1)
    h1 = lab.host_ns(1)
    lab.ip(h1, "link", "add", "vx0", "type", "vxlan", "id", VNI, "remote", a_ip,
           "dstport", 4789, "dev", "eth0")
    lab.ip(h1, "addr", "add", f"{H1_OVERLAY}/24", "dev", "vx0")
    lab.ip(h1, "link", "set", "vx0", "up")
    cap = Tshark(lab, tmp_path / "linux.pcapng")
    try:
        sent, received, out = lab.ping(1, a["vm_ip"], count=5, interval=0.5)
        assert received >= 3, out
        sent, received2, out2 = shells["a"].ping(H1_OVERLAY, count=3)
        assert received2 >= 2, shells["a"].transcript()
        # Echoes of 1500 IP bytes, more than the MTU of ga's eth0 and h1's vx0 (both 1450):
        # each side sends two inner IP fragments, and the other reassembles them.
        sent, received3, out3 = shells["a"].ping(f"-s 1472 {H1_OVERLAY}", count=3)
        assert received3 == sent, shells["a"].transcript()
    finally:
        rows = cap.stop()
        lab.ip(h1, "link", "del", "vx0", check=False)
    assert len(icmp_over_vxlan(rows, h1_ip, a_ip, H1_OVERLAY, a["vm_ip"], 8)) >= received, \
        show(rows)
    assert len(icmp_over_vxlan(rows, a_ip, h1_ip, a["vm_ip"], H1_OVERLAY, 0)) >= received, \
        show(rows)
    assert len(icmp_over_vxlan(rows, a_ip, h1_ip, a["vm_ip"], H1_OVERLAY, 8)) >= received2 + 3, \
        show(rows)
    for q in pair.values():
        assert_no_fatal(q)


def test_unlisted_vtep_is_refused(lab, pair, shells):
    """B lists only A as a remote: a Linux VTEP in h1 that sends B the right VNI gets nothing
    into B's network (counted vxlan_vtep on the link), and gb never sees its frames."""
    b = APPLIANCES["b"]
    h1 = lab.host_ns(1)
    con_b = netlab.Console(lab.ns_cmd(lab.name, ["telnet", lab.addr(b["host"]), "23"]),
                           password=PASSWORD)
    try:
        lab.ip(h1, "link", "add", "vx0", "type", "vxlan", "id", VNI, "remote",
               lab.addr(b["host"]), "dstport", 4789, "dev", "eth0")
        lab.ip(h1, "addr", "add", f"{H1_OVERLAY}/24", "dev", "vx0")
        lab.ip(h1, "link", "set", "vx0", "up")
        sent, received, out = lab.ping(1, b["vm_ip"], count=3, interval=0.5)
        assert received == 0, out
        ports = con_b.cmd("vnet ports")
        m = re.search(r"^drops on vx:peer:.* vxlan_vtep (\d+)", ports, re.M)
        assert m and int(m.group(1)) >= 3, ports
        # gb heard none of h1's ARP requests.
        _, out = shells["b"].run("ip neigh show")
        assert not re.search(rf"^{re.escape(H1_OVERLAY)} ", out, re.M), shells["b"].transcript()
    finally:
        lab.ip(h1, "link", "del", "vx0", check=False)
        con_b.close()
    for q in pair.values():
        assert_no_fatal(q)
