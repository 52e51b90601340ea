"""System tests of the virtio-net host driver (drivers/virtio_net.c) on a TAP in a namespace lab.

QEMU's virtio-net-pci (transitional, legacy interface in BAR0) with `tools/run --nic virtio`:
the driver binds it and reads QEMU's MAC, pings go both ways (the host's, and the appliance's
console `ping`; both carry short frames, which QEMU's virtio-net hands over unpadded), the
appliance's iperf server moves data both ways with every byte counted, and `ifconfig`'s NIC
counters rise with the traffic and show no errors or drops; nic=virtio and nic=BB:DD.F pick the
virtio-net when an RTL8139 (probed first) is there too. The common tests over slirp and the
TAP lab (DHCP, forwards, capture, flood) run for virtio too: "virtio" is in test_net.NICS.
Needs root (the lab).
"""

import re
import sys

import pytest

import labfix
import netlab
import qemu as qm
from test_net import (IPERF_SECONDS, NIC_LOG, QEMU_MAC, appliance_iperf_line, assert_no_fatal,
                      kernel_for_tests)

PASSWORD = "petrel-virtio-test"
SALT = "virtionet01"
LISTEN_PORT = 5002
PINGS = 20
MIN_BYTES = 1024 * 1024  # data must move; speed is bench/net.sh's business


# A fresh lab: bridge .1, TAP tap0, host h1 (.11).
lab = labfix.lab_fixture(hosts=1, tools=("ip", "ping", "iperf", "telnet"), no_tcp_metrics=True)


@pytest.fixture(scope="module")
def appliance(request, lab, tmp_path_factory, iso_factory, petrel_kernel):
    """The appliance on the lab's TAP with a virtio-net NIC, ip=.2/24 and a console password."""
    secret = netlab.make_password(PASSWORD, SALT)
    iso = iso_factory(f"ip={lab.appliance_ip}/24 gw={lab.bridge_ip} console.password={secret}",
                      kernel=kernel_for_tests(petrel_kernel))
    return labfix.boot_on_tap(request, lab, iso, tmp_path_factory.mktemp("virtio-net"),
                              "virtio-net", nic="virtio")


def console_cmd(lab, line):
    c = netlab.Console(lab.ns_cmd(lab.host_ns(1), ["telnet", lab.appliance_ip, "23"]),
                       password=PASSWORD)
    try:
        return c.cmd(line)
    finally:
        c.close()


def counters(lab):
    return netlab.parse_counters(console_cmd(lab, "ifconfig"))


def driver_lines(q, level):
    return [t for t in qm.log_lines(q.output()) if t[1] == "drv" and t[2] == level]


def test_virtio_binds(appliance):
    """The driver binds QEMU's virtio-net and takes its MAC from the device config."""
    out = appliance.output()
    assert re.search(rf"drv     info  {NIC_LOG['virtio']}: MAC {QEMU_MAC}", out), \
        appliance.describe()
    assert re.search(r"switch up: edge = virtio", out) or "on virtio" in out, appliance.describe()
    assert not driver_lines(appliance, "warn"), appliance.describe()
    assert not driver_lines(appliance, "error"), appliance.describe()
    assert_no_fatal(appliance)


def test_virtio_ping_both_ways(appliance, lab):
    lab.wait_answer(1, lab.appliance_ip)
    sent, received, out = lab.ping(1, lab.appliance_ip, count=PINGS, interval=0.2)
    # iputils may send one more than -c while a late reply is outstanding (a busy machine).
    assert received == sent >= PINGS and " 0% packet loss" in out, out
    # The appliance's own echo requests to the host (console `ping ADDRESS COUNT`).
    out = console_cmd(lab, f"ping {lab.host_ip(1)} 5")
    m = re.search(r"(\d+) packets transmitted, (\d+) (packets )?received", out)
    assert m, out
    assert int(m.group(1)) == 5 and int(m.group(2)) >= 4, out
    assert_no_fatal(appliance)


def test_virtio_iperf_and_counters(appliance, lab):
    """Host -> appliance, then `-c -d` (both ways at once): all bytes the client sent are
    counted by the server, the reverse stream arrives, and the NIC counters rise with it
    (frames and bytes both ways; no errors, no drops)."""
    prefix = lab.ns_cmd(lab.host_ns(1), [])
    lab.wait_answer(1, lab.appliance_ip)
    before = counters(lab)
    mark = len(appliance.output())
    sent, bps, out = netlab.iperf_to(lab.appliance_ip, 5001, IPERF_SECONDS, prefix=prefix)
    received = appliance_iperf_line(appliance, "received", after=mark, equal=sent)
    print(f"host -> appliance: {received} bytes, {bps / 1e6:.1f} Mbit/s", file=sys.stderr)
    assert MIN_BYTES < received == sent, (received, sent, out)

    mark = len(appliance.output())
    try:
        fwd, rev, out = netlab.iperf_two_way(lab.appliance_ip, 5001, LISTEN_PORT, IPERF_SECONDS,
                                             "-d", prefix=prefix, attempts=2)
    except netlab.LabError as e:
        raise AssertionError(f"{e}\n{appliance.describe(tail=60)}") from None
    got = appliance_iperf_line(appliance, "received", after=mark, equal=fwd)
    back = appliance_iperf_line(appliance, "sent", peer_port=LISTEN_PORT, after=mark)
    print(f"-d: host -> appliance {got} bytes, appliance -> host {rev} bytes", file=sys.stderr)
    assert MIN_BYTES < got == fwd, (got, fwd, out)
    assert MIN_BYTES < rev <= back, (rev, back, out)

    after = counters(lab)
    print(f"counters before {before}\ncounters after {after}", file=sys.stderr)
    rx_frames = after["nic frames"][0] - before["nic frames"][0]
    tx_frames = after["nic frames"][1] - before["nic frames"][1]
    rx_bytes = after["nic bytes"][0] - before["nic bytes"][0]
    tx_bytes = after["nic bytes"][1] - before["nic bytes"][1]
    # Full-size segments carry the data one way; at least the ACKs come back the other.
    assert rx_bytes > received + got, (rx_bytes, received, got)
    assert tx_bytes > rev, (tx_bytes, rev)
    # With receive TSO the card delivers QEMU's super-frames (up to 64 KiB, counted once by
    # the NIC); lwIP gets them cut into full-size segments (docs/vnet.md, Offloads).
    stack_rx = after["stack frames"][0] - before["stack frames"][0]
    assert rx_frames > (received + got) // 65536, rx_frames
    assert stack_rx > (received + got) // 1514, stack_rx
    assert tx_frames > rev // 1514, tx_frames
    assert after["nic errors"] == before["nic errors"], (before, after)
    assert after["nic dropped"][0] == before["nic dropped"][0], (before, after)
    assert not driver_lines(appliance, "warn"), appliance.describe()
    assert_no_fatal(appliance)


def test_run_nic_virtio(tmp_path):
    """tools/run --nic virtio puts QEMU's virtio-net-pci on the backend (dry run)."""
    iso = tmp_path / "dummy.iso"
    iso.write_bytes(b"")
    r = netlab.run([str(qm.REPO / "tools" / "run"), "--dry-run", "--iso", str(iso), "--nic",
                    "virtio", "--no-hostfwd"], check=False)
    assert r.returncode == 0, r.stderr
    assert "-netdev user,id=n0 -device virtio-net-pci,netdev=n0" in r.stdout, r.stdout


@pytest.mark.parametrize("sel", ["virtio", "00:03.0"])
def test_nic_selects_virtio(request, tmp_path, iso_factory, petrel_kernel, sel):
    """With an RTL8139 (probed first, 00:02.0) and a virtio-net (00:03.0) in the machine,
    nic=virtio and nic=00:03.0 bind the virtio-net; the RTL8139 stays unused."""
    iso = iso_factory(f"nic={sel}", kernel=kernel_for_tests(petrel_kernel))
    q = netlab.run_qemu_class(qm)(iso, tmp_path, [
        "--nic", "rtl8139", "--net", "user", "--no-hostfwd", "--",
        "-netdev", "user,id=n1",
        "-device", "virtio-net-pci,netdev=n1,mac=52:54:00:12:34:99,addr=3"],
        name=f"sel-{sel.replace(':', '-')}")
    request.addfinalizer(q.stop)
    q.start()
    q.wait_ready()
    out = q.output()
    assert re.search(r"drv     info  virtio-net 00:03\.0: MAC 52:54:00:12:34:99", out), \
        q.describe()
    assert "switch up: edge = virtio" in out, q.describe()
    assert not re.search(r"drv     info  RTL8139", out), q.describe()
    assert_no_fatal(q)
