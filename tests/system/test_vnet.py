"""System tests of the VNET switch inside the appliance, on a TAP in a namespace lab
(tap-setup/lab-netns): the host NIC is the switch's `edge` port and lwIP its `local` port; the
console's `vnet` commands and their errors; the pcapng capture stream (TCP 5555) read with
tshark, showing the appliance's own ICMP on interfaces named `edge` and `local`; and a VXLAN
link to Linux's own vxlan device in a lab host, which the appliance bridges to the wire (a
second lab host answers pings across it), with tshark decoding the VXLAN on the TAP.

Guests are not needed (their NIC models come with the guest NIC work). Needs root.
"""

import re
import subprocess
import time

import pytest

import labfix
import netlab
import qemu as qm
from test_net import QEMU_MAC, assert_no_fatal, kernel_for_tests

PASSWORD = "petrel-vnet-test"
SALT = "vnettest01"
CAPTURE_PORT = 5555
VNI = 42
OVERLAY_H1 = "192.168.42.1"  # lab host 1's vx0
OVERLAY_H2 = "192.168.42.2"  # lab host 2's eth0 (a second address), reached across the appliance
TSHARK_TIMEOUT = 60 * qm.TIMEOUT_SCALE

READER = r"""
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.settimeout(0.5)
end = time.time() + float(sys.argv[3])
with open(sys.argv[4], "wb") as f:
    while time.time() < end:
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        if not d:
            break
        f.write(d)
"""


# A fresh lab: bridge 10.77.0.1, TAP tap0, hosts h1 (.11) and h2 (.12).
lab = labfix.lab_fixture(hosts=2, tools=("ip", "ping", "telnet", "tshark"))


@pytest.fixture(scope="module")
def appliance(request, lab, tmp_path_factory, iso_factory, petrel_kernel):
    """The appliance (RTL8139) on the lab's TAP with ip=.2/24 gw=.1 and a console password."""
    secret = netlab.make_password(PASSWORD, SALT)
    iso = iso_factory(f"ip={lab.appliance_ip}/24 gw={lab.bridge_ip} console.password={secret}",
                      kernel=kernel_for_tests(petrel_kernel))
    return labfix.boot_on_tap(request, lab, iso, tmp_path_factory.mktemp("vnet"), "vnet")


@pytest.fixture(scope="module")
def con(lab, appliance):
    c = netlab.Console(lab.ns_cmd(lab.host_ns(1), ["telnet", lab.appliance_ip, "23"]),
                       password=PASSWORD)
    yield c
    c.close()


def read_capture(lab, host, seconds, path, during):
    """Reads the capture stream from lab host `host` for `seconds` while during() runs; returns
    tshark's rows (interface name, protocol column, info) of what was read."""
    reader = subprocess.Popen(lab.ns_cmd(lab.host_ns(host), [
        netlab.PYTHON, "-c", READER, lab.appliance_ip, CAPTURE_PORT, seconds, path]),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(2)
        during()
        out, _ = reader.communicate(timeout=seconds + 30)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    assert reader.returncode == 0, out
    r = netlab.run(["tshark", "-r", path, "-T", "fields", "-e", "frame.interface_name",
                    "-e", "_ws.col.Protocol", "-e", "_ws.col.Info"],
                   timeout=TSHARK_TIMEOUT, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    return [line.split("\t") for line in r.stdout.splitlines() if line.count("\t") >= 2]


def test_switch_ports(appliance, con):
    out = appliance.output()
    assert re.search(r"vnet    info  switch up: edge = rtl8139", out)
    assert re.search(r"net     info  lwIP \S+ on rtl8139 \(VNET local port\)", out)
    assert re.search(r"vnet    info  capture stream \(pcapng\) on TCP port 5555", out)
    ports = con.cmd("vnet ports")
    assert re.search(r"^\s*1\s+edge\s+edge\s+-\s+0\s+1500\s+\d+\s+\d+\s+0$", ports, re.M), ports
    assert re.search(rf"^\s*2\s+local\s+local\s+{QEMU_MAC}\s+0\s+1500\s+\d+\s+\d+\s+0$", ports,
                     re.M), ports
    macs = con.cmd("vnet macs")
    assert re.search(rf"^\s*0\s+{QEMU_MAC}\s+local\s+static\s+-$", macs, re.M), macs
    stats = con.cmd("vnet stats")
    assert re.search(r"^ports\s+2$", stats, re.M), stats
    assert_no_fatal(appliance)


def test_console_errors(con):
    assert "error: src: expected" in con.cmd("vnet route add src bogus port edge")
    assert "missing destination" in con.cmd("vnet route add src any dst any")
    out = con.cmd("vnet route add src ff:ff:ff:ff:ff:ff port edge")
    assert out.startswith("error:"), out
    assert "error: no route with id 4242" in con.cmd("vnet route del 4242")
    assert "error: no link named 'nope'" in con.cmd("vnet link del nope")
    assert "error: 'edge' is not a link" in con.cmd("vnet link del edge")
    assert con.cmd("vnet link add vx:bad vni 99999999").startswith("error:")
    assert "error: unknown subcommand 'frob'" in con.cmd("vnet frob")
    # A good route: listed with its id, then deleted.
    m = re.search(r"route (\d+) added", con.cmd("vnet route add dst 52:54:00:aa:bb:cc drop"))
    assert m
    routes = con.cmd("vnet routes")
    assert re.search(rf"^\s*0\s+{m.group(1)}\s+0\s+0\s+0\s+.*dst 52:54:00:aa:bb:cc drop", routes,
                     re.M), routes
    assert f"route {m.group(1)} deleted" in con.cmd(f"vnet route del {m.group(1)}")
    assert "no routes" in con.cmd("vnet routes")


def test_capture_shows_own_icmp(lab, appliance, con, tmp_path):
    rows = read_capture(lab, 1, 8, tmp_path / "all.pcapng",
                        lambda: lab.ping(1, lab.appliance_ip, count=3, interval=0.3))
    icmp = {(r[0], r[2].startswith("Echo (ping) request")) for r in rows if r[1] == "ICMP"}
    # The request enters on edge and leaves through local; the reply the other way.
    assert {("edge", True), ("local", True), ("edge", False), ("local", False)} <= icmp, rows
    # The stream's own TCP segments are not captured.
    assert not any(str(CAPTURE_PORT) in r[2] for r in rows if r[1] == "TCP"), rows
    # `capture edge` narrows it.
    assert "capturing: edge" in con.cmd("capture edge")
    rows = read_capture(lab, 1, 8, tmp_path / "edge.pcapng",
                        lambda: lab.ping(1, lab.appliance_ip, count=3, interval=0.3))
    assert rows and {r[0] for r in rows} == {"edge"}, rows
    assert "capturing: every port" in con.cmd("capture all")
    assert_no_fatal(appliance)


def test_vxlan_bridges_linux_vxlan_to_the_wire(lab, appliance, con, tmp_path):
    h1, h2 = lab.host_ns(1), lab.host_ns(2)
    lab.ip(h1, "link", "add", "vx0", "type", "vxlan", "id", VNI, "remote", lab.appliance_ip,
           "dstport", 4789, "dev", "eth0")
    lab.ip(h1, "addr", "add", f"{OVERLAY_H1}/24", "dev", "vx0")
    lab.ip(h1, "link", "set", "vx0", "up")
    lab.ip(h2, "addr", "add", f"{OVERLAY_H2}/24", "dev", "eth0")
    try:
        out = con.cmd(f"vnet link add vx:lab vni {VNI} remote {lab.host_ip(1)}")
        assert "link vx:lab added" in out, out
        appliance.wait_for(r"edge rtl8139: promiscuous mode on", 10)
        tshark = subprocess.Popen(lab.ns_cmd(lab.name, [
            "tshark", "-i", lab.tap, "-a", "duration:12", "-f", "udp port 4789", "-T", "fields",
            "-e", "vxlan.vni", "-e", "_ws.col.Protocol"]),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(3)
        sent, received, pout = lab.ping(1, OVERLAY_H2, count=5, interval=0.3)
        assert received >= 4, pout
        tout, terr = tshark.communicate(timeout=TSHARK_TIMEOUT)
        vnis = [line.split("\t") for line in tout.splitlines()]
        assert [str(VNI), "ICMP"] in vnis, tout + terr
        links = con.cmd("vnet links")
        assert f"vx:lab vni {VNI}" in links, links
        m = re.search(r"rx: (\d+) datagrams, (\d+) frames", links)
        assert m and int(m.group(2)) >= 5, links
        assert re.search(r"edge\s+edge\s+\(promisc\)", con.cmd("vnet ports"))
        assert "link vx:lab deleted" in con.cmd("vnet link del vx:lab")
        appliance.wait_for(r"edge rtl8139: promiscuous mode off", 10)
    finally:
        lab.ip(h1, "link", "del", "vx0", check=False)
        lab.ip(h2, "addr", "del", f"{OVERLAY_H2}/24", "dev", "eth0", check=False)
    # The appliance itself still answers on the wire.
    sent, received, pout = lab.ping(1, lab.appliance_ip, count=3, interval=0.3)
    assert received == 3, pout
    assert_no_fatal(appliance)
