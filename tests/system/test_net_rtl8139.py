"""System test of the RTL8139 driver's handling of giant frames, on a TAP in a namespace lab.

With the lab's MTU raised, QEMU's rtl8139 model stores frames of any length in the receive ring
and marks them "receive OK". The driver must skip them by their length (not restart the
receiver), count each as an rx error (ifconfig's "nic errors"), and say so in a bounded number
of log lines, while it keeps answering ordinary pings. Needs root.
"""

import re
import subprocess
import sys
import time

import pytest

import labfix
import netlab
import qemu as qm
from test_net import assert_no_fatal, kernel_for_tests

PASSWORD = "petrel-rtl-test"
SALT = "rtl8139giant"
LAB_MTU = 9000
GIANT_PINGS = 150        # ICMP echo requests of 4000 bytes: 4042-byte frames
GIANT_PING_INTERVAL = 0.02
GIANT_UDP = 150          # UDP datagrams of 8000 bytes: 8042-byte frames
GIANT_UDP_INTERVAL = 0.02
NORMAL_PINGS = 20
MODEL = "RTL8139 00:"    # how the driver names the card in its log lines

# Sends `count` UDP datagrams of `size` bytes to host:port, `gap` seconds apart, unfragmented.
UDP_SENDER = """
import socket, sys, time
host, port, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
gap = float(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 2)  # IP_MTU_DISCOVER = IP_PMTUDISC_DO: one frame, DF set
sent = 0
for _ in range(count):
    s.sendto(bytes(size), (host, port))
    sent += 1
    time.sleep(gap)
print(sent)
"""


# A fresh lab with one host and MTU LAB_MTU everywhere.
lab = labfix.lab_fixture(hosts=1, tools=("ip", "ping", "telnet"), mtu=LAB_MTU)


@pytest.fixture(scope="module")
def appliance(request, lab, tmp_path_factory, iso_factory, petrel_kernel):
    """The appliance on the lab's TAP with an RTL8139, ip=.2/24 and a console password."""
    secret = netlab.make_password(PASSWORD, SALT)
    iso = iso_factory(f"ip={lab.appliance_ip}/24 gw={lab.bridge_ip} console.password={secret}",
                      kernel=kernel_for_tests(petrel_kernel))
    return labfix.boot_on_tap(request, lab, iso, tmp_path_factory.mktemp("rtl8139-giants"),
                              "rtl8139-giants")


def ifconfig_counters(lab, q):
    c = netlab.Console(lab.ns_cmd(lab.host_ns(1), ["telnet", lab.appliance_ip, "23"]),
                       password=PASSWORD)
    try:
        return netlab.parse_counters(c.cmd("ifconfig"))
    finally:
        c.close()


def driver_lines(text, level):
    return [t for t in qm.log_lines(text) if t[1] == "drv" and t[2] == level and MODEL in t[3]]


def test_giant_frames_are_skipped_and_counted(appliance, lab):
    q = appliance
    # The first ping also teaches both sides each other's MAC.
    lab.wait_answer(1, lab.appliance_ip)
    before = ifconfig_counters(lab, q)
    mark = len(q.output())
    start = time.monotonic()

    # Ordinary pings all through the giants: the receiver must keep going.
    normal = subprocess.Popen(
        lab.ns_cmd(lab.host_ns(1), ["ping", "-n", "-c", NORMAL_PINGS, "-i", 0.3, "-W", 2,
                                    lab.appliance_ip]),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        giant = lab.run_in(lab.host_ns(1), ["ping", "-n", "-q", "-c", GIANT_PINGS, "-i",
                                            GIANT_PING_INTERVAL, "-s", 4000, "-M", "do", "-W", 1,
                                            lab.appliance_ip],
                           timeout=60 * qm.TIMEOUT_SCALE, check=False)
        udp = lab.run_in(lab.host_ns(1), [netlab.PYTHON, "-c", UDP_SENDER, lab.appliance_ip, 9,
                                          GIANT_UDP, 8000, GIANT_UDP_INTERVAL],
                         timeout=60 * qm.TIMEOUT_SCALE)
        normal_out, _ = normal.communicate(timeout=60 * qm.TIMEOUT_SCALE)
    finally:
        if normal.poll() is None:
            normal.kill()
            normal.wait()
    print(f"giant pings: {giant.stdout.strip()}\nudp sent: {udp.stdout.strip()}\n"
          f"normal pings: {normal_out.strip()}", file=sys.stderr)
    assert f"{GIANT_PINGS} packets transmitted" in giant.stdout, giant.stdout + giant.stderr
    assert int(udp.stdout.split()[-1]) == GIANT_UDP, udp.stdout

    # Pings answered while giants arrived (a busy machine may lose one or two) and after.
    got = re.search(r"(\d+) packets transmitted, (\d+) received", normal_out)
    assert got and int(got.group(2)) >= NORMAL_PINGS - 2, normal_out
    sent, received, out = lab.ping(1, lab.appliance_ip, count=10, interval=0.2)
    assert (sent, received) == (10, 10), out
    elapsed = time.monotonic() - start

    after = ifconfig_counters(lab, q)
    print(f"counters before {before}\ncounters after {after}", file=sys.stderr)
    giants = GIANT_PINGS + GIANT_UDP
    errors = after["nic errors"][0] - before["nic errors"][0]
    # Every giant reaches the ring unless QEMU found it too full (then MPC counts it as a drop).
    dropped = after["nic dropped"][0] - before["nic dropped"][0]
    assert errors <= giants, (errors, before, after)
    assert errors + dropped >= giants * 9 // 10, (errors, dropped, before, after)
    assert errors >= giants * 3 // 4, (errors, before, after)

    text = q.output()[mark:]
    warns = driver_lines(text, "warn")
    print("\n".join(t[3] for t in warns), file=sys.stderr)
    # The first giant at once, then at most one summary a second (+ 2 for the edges).
    assert 1 <= len(warns) <= int(elapsed) + 3, (elapsed, warns)
    assert any("longer than" in t[3] for t in warns), warns
    assert not [t for t in warns if "restart" in t[3]], warns
    assert not [t for t in qm.log_lines(text) if t[2] == "error"], q.describe()
    assert_no_fatal(q)
