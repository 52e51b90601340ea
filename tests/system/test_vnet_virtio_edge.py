"""System test of a Linux guest bridged through VNET onto a virtio-net edge: the appliance's host
NIC is QEMU's virtio-net-pci (drivers/virtio_net.c) instead of the RTL8139 of
test_vnet_guests.py, and one guest (virtio-net, Linux's virtio_net driver) sits on the edge's
network. The guest's DHCP exchange with the lab's dnsmasq, pings both ways and a checked TCP
transfer each way (md5 compared) all cross the virtio edge.

Needs root (the lab). PETREL_KERNEL / PETREL_BUILD pick the appliance build,
PETREL_LINUX_GUEST the guest (see test_linux.py)."""

import re
import subprocess

import pytest

import labfix
import netlab
import qemu as qm
import test_linux as tl
from test_net import assert_no_fatal, kernel_for_tests
from test_vnet_guests import (FILE_KIB, GUEST_CMDLINE, guest_address, ping_both_ways,
                              transfer_both_ways)

guest = tl.guest  # the fixture: build/guests/linux (tools/mkguest-linux, cached)

PASSWORD = "petrel-virtio-edge"
SALT = "virtioedge1"
T = qm.TIMEOUT_SCALE
BOOT_TIMEOUT = 300.0 * T  # one Linux guest on the nested-TCG CPU
GUEST_CMD_TIMEOUT = 90.0 * T
VM = "ev"
MAC = "52:54:00:4e:00:21"

# A lab with dnsmasq (.100-.150) on its bridge .1, TAP tap0, hosts h1 (.11) and h2 (.12).
lab = labfix.lab_fixture(hosts=2, dhcp=True, tools=("ip", "ping", "telnet", "dnsmasq"))


@pytest.fixture(scope="module", params=[1, 2], ids=["1cpu", "2cpus"])
def appliance(request, lab, guest, tmp_path_factory, petrel_kernel):
    """The appliance (virtio-net edge, static .2) on the lab's TAP with one virtio guest; once
    on one CPU, once on two (the guest on the guest CPU, docs/ARCHITECTURE.md, CPUs)."""
    work = tmp_path_factory.mktemp("virtioedge")
    conf = work / "petrel.conf"
    conf.write_text(f"[vm {VM}]\nmemory = 128M\nkernel = vmlinuz\ninitrd = initrd.img\n"
                    f"nic = virtio,mac={MAC}\ncmdline = {GUEST_CMDLINE}\n")
    secret = netlab.make_password(PASSWORD, SALT)
    iso = work / "edge.iso"
    r = subprocess.run([str(qm.REPO / "tools" / "mkiso"), "--kernel",
                        str(kernel_for_tests(petrel_kernel)), "-c", str(conf), "--cmdline",
                        f"ip={lab.appliance_ip}/24 gw={lab.bridge_ip} console.password={secret}",
                        "-m", str(guest / "vmlinuz"), "-m", str(guest / "initrd.img"),
                        "-o", str(iso)], cwd=qm.REPO, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"mkiso failed:\n{r.stdout}{r.stderr}"
    q = netlab.run_qemu_class(qm)(iso, work, ["--mem", "768", "--nic", "virtio", "--tap",
                                              lab.tap, "--netns", lab.name], name="virtioedge",
                                       smp=request.param)
    request.addfinalizer(q.stop)
    q.start()
    q.wait_ready()
    assert re.search(r"drv     info  virtio-net 00:\d\d\.0: MAC", q.output()), q.describe()
    q.wait_for(tl.vm_line(VM, "PETREL-GUEST-SHELL"), timeout=BOOT_TIMEOUT)
    assert_no_fatal(q)
    q.cpus = request.param
    if q.cpus > 1:
        assert "guest cpu: guests run on CPU 1" in q.output(), q.describe()
    return q


def test_guest_through_virtio_edge(lab, appliance, tmp_path):
    """DHCP from dnsmasq, ping both ways, and a checked TCP transfer each way."""
    ip = guest_address(appliance, VM)
    assert ip in {lab.addr(h) for h in range(100, 151)}, f"{ip} is not from dnsmasq's range"
    sh = labfix.GuestShell(lab.ns_cmd(lab.host_ns(1), ["telnet", "-E", lab.appliance_ip, "23"]),
                           VM, PASSWORD, GUEST_CMD_TIMEOUT)
    try:
        ping_both_ways(lab, sh, ip)
        down_s, up_s = transfer_both_ways(lab, sh, tmp_path, VM)
        print(f"{VM} on the virtio edge: {FILE_KIB} KiB down in {down_s:.1f} s, "
              f"up in {up_s:.1f} s")
    finally:
        sh.close()
    assert not [t for t in qm.log_lines(appliance.output())
                if t[1] == "drv" and t[2] in ("warn", "error")], appliance.describe()
    assert_no_fatal(appliance)


def port_offloads(ports, name):
    """(capabilities, {counter: value}) of a port's `offloads on NAME: takes ...; ...` line in
    `vnet ports` (an empty set and {} when the port has no such line)."""
    m = re.search(rf"^offloads on {re.escape(name)}: takes ([^;]*); (.*)$", ports, re.M)
    if not m:
        return set(), {}
    words = m.group(2).split()
    return (set(m.group(1).split()) - {"nothing"},
            {words[i]: int(words[i + 1]) for i in range(0, len(words) - 1, 2)})


def test_offloads_carried_whole(lab, appliance):
    """After the transfers above: the guest's TSO super-frames left through the virtio edge
    whole, and the super-frames QEMU received from the TAP reached the guest whole; nothing
    between them was cut into 1514-byte frames by the switch (docs/vnet.md, Offloads)."""
    negotiated = [t for t in qm.log_lines(appliance.output())
                  if t[1] == "drv" and "offloads" in t[3]]
    assert negotiated and "tso4" in negotiated[0][3], appliance.describe()
    c = netlab.Console(lab.ns_cmd(lab.host_ns(1), ["telnet", lab.appliance_ip, "23"]),
                       password=PASSWORD)
    try:
        ports = c.cmd("vnet ports")
    finally:
        c.close()
    gcaps, guest_port = port_offloads(ports, f"{VM}.eth0")
    ecaps, edge = port_offloads(ports, "edge")
    assert {"csum", "tso4"} <= gcaps, ports  # the guest's driver negotiated GUEST_TSO4
    assert {"csum", "tso4"} <= ecaps, ports  # the host NIC negotiated HOST_TSO4
    assert guest_port.get("gso_in", 0) > 0, ports  # the guest sent super-frames (upload)
    assert edge.get("gso_in", 0) > 0, ports  # QEMU delivered super-frames (download)
    assert guest_port.get("gso_split", 0) == 0 and edge.get("gso_split", 0) == 0, ports


def cpu_counters(c):
    """(busy polls, virtio-net interrupts) from the console's `cpu`."""
    out = c.cmd("cpu")
    polls = re.search(r"(\d+) busy polls", out)
    irqs = re.search(r"irq counts.* virtio-net (\d+)", out)
    assert polls and irqs, out
    return int(polls.group(1)), int(irqs.group(1))


def test_busy_polling_then_interrupts(lab, appliance):
    """The download above came in while the guest ran: on one CPU the virtio host NIC
    busy-polled (its interrupts off, looked at after the guest's exits; docs/ARCHITECTURE.md,
    the main loop); with a guest CPU, CPU 0 kicked it for the guest's interrupts instead, and
    held the kicks for a guest that was running until its own exits made most unneeded. On
    the idle link afterwards the host NIC is interrupt-driven: pings reach the guest, each
    through an interrupt of the host NIC."""
    ip = guest_address(appliance, VM)
    c = netlab.Console(lab.ns_cmd(lab.host_ns(1), ["telnet", lab.appliance_ip, "23"]),
                       password=PASSWORD)
    try:
        polls, irqs = cpu_counters(c)
        if appliance.cpus == 1:
            assert polls > 0, "no busy polls during the transfers"
        else:
            out = c.cmd("cpu")
            kicks = re.search(r"(\d+) kicks in \((\d+) held, (\d+) of them absorbed", out)
            assert kicks, out
            sent, held, absorbed = (int(k) for k in kicks.groups())
            assert sent > 0, "the guest CPU was never kicked: " + out
            assert held > 0 and absorbed > 0, "no kick held for a running guest: " + out
            assert absorbed <= held, out
        _, received, pout = lab.ping(1, ip, count=5, interval=0.3)
        assert received >= 4, pout
        _, irqs_after = cpu_counters(c)
    finally:
        c.close()
    assert irqs_after >= irqs + received, (irqs, irqs_after, received)
