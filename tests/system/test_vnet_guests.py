"""System tests of Linux guests on the VNET switch: the guest NIC models (virtio-net, RTL8139,
NE2000) under Linux's own drivers, bridged to the wire and among themselves.

One appliance boot in a namespace lab with dnsmasq (tap-setup/lab-netns --dhcp), the host NIC
(RTL8139) on the lab's TAP as the switch's `edge` port, and five Linux guests
(tools/mkguest-linux) from a petrel.conf:
  gv, gr, gn  one NIC each (virtio, rtl8139, ne2k) on the edge's network: the address comes from
              dnsmasq (udhcpc), lab host -> guest and guest -> lab host ping both answer, and a
              random file a lab host serves over HTTP reaches the guest intact (busybox wget,
              md5sum compared with the host's), and a file the guest makes reaches the lab host
              intact (busybox nc)
  ia, ib      one NIC each (virtio, rtl8139) on a VNET network of their own with no edge and
              static addresses: they ping each other and move a file (busybox httpd and wget)
              through the switch alone; tshark on the lab bridge sees none of their frames, and
              `vnet ports` shows the frames on their vnic ports only
and, for gv, gr and gn: the station filters (IPv6 neighbour discovery through the multicast
hash filter; a stranger's unicast dropped, then received in promiscuous mode; the guest's
receive errors no more than the ring overflows the switch counted), and the driver unloaded and
loaded again (a full device reset; virtio comes back on its legacy interface) with DHCP, big
pings and, for virtio, a checked transfer. The virtio guests' NICs interrupt through MSI-X (the
guest's /proc/interrupts shows virtioN-input/output on PCI-MSI), so their interrupts cost no
port or MMIO access: while gv only receives (the stranger frames) its NIC's accesses (`vm
info`) stay far fewer than the interrupts the guest took from it (with INTx each one read
ISR).
The guests are driven through their serial consoles over the appliance's telnet console
(`console NAME` from a lab host), as a user would. The capture stream (TCP 5555, pcapng, read
with tshark) shows a guest's ICMP on the interface named like `gv.eth0`.

Needs root (the lab). PETREL_KERNEL / PETREL_BUILD pick the appliance build,
PETREL_LINUX_GUEST the guest (see test_linux.py)."""

import hashlib
import os
import re
import subprocess
import time

import pytest

import labfix
import netlab
import qemu as qm
import test_linux as tl
from test_net import assert_no_fatal, kernel_for_tests
from test_vnet import read_capture

guest = tl.guest  # the fixture: build/guests/linux (tools/mkguest-linux, cached)

PASSWORD = "petrel-vnet-guests"
SALT = "vnetguest1"
T = qm.TIMEOUT_SCALE
BOOT_TIMEOUT = 420.0 * T  # five Linux guests on one nested-TCG CPU
GUEST_CMD_TIMEOUT = 90.0 * T  # one shell command in a guest (a transfer under nested TCG)
FILE_KIB = 2048  # the size of the random files moved each way
HTTP_PORT = 8000
NC_PORT = 9000
GUEST_CMDLINE = "console=ttyS0 tsc=reliable quiet pci=noearly"

# Guests bridged to the edge: name -> NIC model (each one NIC, MAC fixed here).
EDGE_VMS = {"gv": "virtio", "gr": "rtl8139", "gn": "ne2k"}
# Two guests on a VNET network of their own (no edge): name -> (model, static address).
ISO_NET = "island"
ISO_VMS = {"ia": ("virtio", "10.78.0.1"), "ib": ("rtl8139", "10.78.0.2")}
# ib runs on the 8259 pair (its NIC's level-triggered INTx through the ELCR), the others on
# their IOAPIC.
EXTRA_CMDLINE = {"ib": " nolapic noapic"}
MACS = {"gv": "52:54:00:4e:00:01", "gr": "52:54:00:4e:00:02", "gn": "52:54:00:4e:00:03",
        "ia": "52:54:00:4e:00:11", "ib": "52:54:00:4e:00:12"}
NIC_DRIVERS = {"virtio": "virtio_net", "rtl8139": "8139too", "ne2k": "ne2k-pci"}

# A file server for the lab host: serves one directory, with a listening socket bound before
# it says so (so the guest never races it).
HTTP_SERVER = r"""
import functools, http.server, sys
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
h.log_message = lambda *a: None
s = http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[2])), h)
print("serving", flush=True)
s.serve_forever()
"""

# A TCP sink for the lab host: accepts one connection, reads to EOF (or a quiet minute) and
# prints the byte count and MD5 of what came.
NC_SINK = r"""
import hashlib, socket, sys
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", int(sys.argv[1])))
ls.listen(1)
ls.settimeout(float(sys.argv[2]))
print("listening", flush=True)
c, _ = ls.accept()
c.settimeout(60)
h, n = hashlib.md5(), 0
while True:
    try:
        d = c.recv(65536)
    except socket.timeout:
        break
    if not d:
        break
    h.update(d)
    n += len(d)
print(n, h.hexdigest(), flush=True)
"""


# Frames to a unicast MAC nobody has, from a lab host: the lab bridge and the VNET switch flood
# them to every guest on the edge's network, whose NIC filter must drop them unless promiscuous.
STRANGER_MAC = "02:00:5e:ee:ee:ee"
STRANGER_FRAMES = 100
SEND_FRAMES = r"""
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
src = s.getsockname()[4][:6]
dst = bytes(int(x, 16) for x in sys.argv[1].split(":"))
for i in range(int(sys.argv[2])):
    s.send(dst + src + b"\x88\xb5" + i.to_bytes(4, "big") + bytes(56))
    time.sleep(0.01)
"""


def vm_lines(out, vm, text):
    return tl.vm_lines(out, vm, text)


# A lab with dnsmasq (.100-.150) on its bridge .1, TAP tap0, hosts h1 (.11) and h2 (.12).
lab = labfix.lab_fixture(hosts=2, dhcp=True, tools=("ip", "ping", "telnet", "tshark", "dnsmasq"))


def petrel_conf():
    text = ""
    for vm, model in EDGE_VMS.items():
        text += (f"[vm {vm}]\nmemory = 128M\nkernel = vmlinuz\ninitrd = initrd.img\n"
                 f"nic = {model},mac={MACS[vm]}\ncmdline = {GUEST_CMDLINE}\n\n")
    for vm, (model, ip) in ISO_VMS.items():
        text += (f"[vm {vm}]\nmemory = 128M\nkernel = vmlinuz\ninitrd = initrd.img\n"
                 f"nic = {model},mac={MACS[vm]},net={ISO_NET}\n"
                 f"cmdline = {GUEST_CMDLINE} petrel.ip={ip}/24{EXTRA_CMDLINE.get(vm, '')}\n\n")
    return text


@pytest.fixture(scope="module")
def appliance(request, lab, guest, tmp_path_factory, petrel_kernel):
    """The appliance (RTL8139, static .2) on the lab's TAP with the five guests of petrel_conf(),
    once every guest has reached its shell."""
    work = tmp_path_factory.mktemp("vnetguests")
    conf = work / "petrel.conf"
    conf.write_text(petrel_conf())
    secret = netlab.make_password(PASSWORD, SALT)
    iso = work / "guests.iso"
    r = subprocess.run([str(qm.REPO / "tools" / "mkiso"), "--kernel",
                        str(kernel_for_tests(petrel_kernel)), "-c", str(conf), "--cmdline",
                        f"ip={lab.appliance_ip}/24 gw={lab.bridge_ip} console.password={secret}",
                        "-m", str(guest / "vmlinuz"), "-m", str(guest / "initrd.img"),
                        "-o", str(iso)], cwd=qm.REPO, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"mkiso failed:\n{r.stdout}{r.stderr}"
    q = netlab.run_qemu_class(qm)(iso, work, ["--mem", "1536", "--nic", "rtl8139", "--tap",
                                              lab.tap, "--netns", lab.name], name="vnetguests")
    request.addfinalizer(q.stop)
    t0 = time.monotonic()
    q.start()
    q.wait_ready()
    for vm in list(EDGE_VMS) + list(ISO_VMS):
        q.wait_for(tl.vm_line(vm, "PETREL-GUEST-SHELL"), timeout=BOOT_TIMEOUT)
    print(f"five guests at their shells {time.monotonic() - t0:.1f} s after QEMU started")
    assert_no_fatal(q)
    return q


@pytest.fixture(scope="module")
def con(lab, appliance):
    """The appliance's console (a password session) from lab host 1."""
    c = netlab.Console(lab.ns_cmd(lab.host_ns(1), ["telnet", lab.appliance_ip, "23"]),
                       password=PASSWORD)
    yield c
    c.close()


@pytest.fixture
def shells(lab):
    opened = []

    def open_shell(vm, host=1):
        s = labfix.GuestShell(lab.ns_cmd(lab.host_ns(host), ["telnet", "-E", lab.appliance_ip,
                                                             "23"]), vm, PASSWORD,
                              GUEST_CMD_TIMEOUT)
        opened.append(s)
        return s

    yield open_shell
    for s in opened:
        s.close()


def guest_address(q, vm):
    """The guest's DHCP address: from the ready marker, else from the udhcpc script's line."""
    out = q.output()
    m = re.search(tl.vm_line(vm, r"PETREL-GUEST-READY kernel=\S+ eth0=(\d+\.\d+\.\d+\.\d+)/24"),
                  out)
    if m:
        return m.group(1)
    m = q.wait_for(tl.vm_line(vm, r"udhcpc: eth0 (\d+\.\d+\.\d+\.\d+)/\d+"), timeout=60 * T)
    return m.group(1)


def random_file(path, kib):
    data = os.urandom(kib * 1024)
    path.write_bytes(data)
    return hashlib.md5(data).hexdigest()


def virtio_msi_irqs(interrupts):
    """The interrupts of the virtio NIC's queue vectors in /proc/interrupts (PCI-MSI lines
    virtioN-input.0 and virtioN-output.0, one CPU)."""
    lines = re.findall(r"^\s*\d+:\s+(\d+)\s+PCI-MSI.*\svirtio\d+-(?:input|output)\.\d+\s*$",
                       interrupts, re.M)
    assert len(lines) == 2, f"the virtio NIC's queues are not on MSI-X:\n{interrupts}"
    return sum(int(n) for n in lines)


def nic_accesses(con, vm):
    """Port and MMIO accesses to the VM's eth0 so far (`vm info`'s accesses line)."""
    info = con.cmd(f"vm info {vm}")
    m = re.search(r"^accesses .*\beth0 (\d+) \(", info, re.M)
    return int(m.group(1)) if m else 0


def ping_both_ways(lab, sh, ip):
    """Lab host h1 pings the guest, the guest pings h2: at least 4 of 5 answered each way."""
    sent, received, pout = lab.ping(1, ip, count=5, interval=0.3)
    assert received >= 4, pout
    st, gout = sh.run(f"ping -c 5 -W 2 {lab.host_ip(2)}", timeout=60 * T)
    m = re.search(r"(\d+) packets transmitted, (\d+) packets received", gout)
    assert st == 0 and m and int(m.group(2)) >= 4, gout


def transfer_both_ways(lab, sh, tmp_path, vm):
    """FILE_KIB each way, md5-checked: HTTP from h1 fetched by busybox wget in the guest, then a
    file the guest made sent with busybox nc to h2. Returns (down, up) seconds."""
    www = tmp_path / "www"
    www.mkdir()
    want = random_file(www / "blob", FILE_KIB)
    server = subprocess.Popen(lab.ns_cmd(lab.host_ns(1), [netlab.PYTHON, "-c", HTTP_SERVER, www,
                                                          HTTP_PORT]),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert server.stdout.readline().strip() == "serving"
        t = time.monotonic()
        got = sh.check(f"wget -q -O - http://{lab.host_ip(1)}:{HTTP_PORT}/blob | md5sum",
                       timeout=240 * T)
        down_s = time.monotonic() - t
    finally:
        server.kill()
        server.wait()
    assert want in got, f"{vm}: the guest got {got!r}, the host served {want}"

    sink = subprocess.Popen(lab.ns_cmd(lab.host_ns(2), [netlab.PYTHON, "-c", NC_SINK, NC_PORT,
                                                        120 * T]),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert sink.stdout.readline().strip() == "listening"
        made = sh.check(f"dd if=/dev/urandom of=/tmp/up bs=1024 count={FILE_KIB} 2>/dev/null; "
                        "md5sum /tmp/up")
        guest_md5 = re.search(r"([0-9a-f]{32})\s+/tmp/up", made).group(1)
        t = time.monotonic()
        sh.check(f"nc {lab.host_ip(2)} {NC_PORT} < /tmp/up", timeout=240 * T)
        res, _ = sink.communicate(timeout=120 * T)
        up_s = time.monotonic() - t
    finally:
        if sink.poll() is None:
            sink.kill()
            sink.wait()
    assert f"{FILE_KIB * 1024} {guest_md5}" in res, f"{vm}: host got {res!r}, guest {guest_md5}"
    return down_s, up_s


@pytest.mark.parametrize("vm", list(EDGE_VMS))
def test_guest_on_the_edge(lab, appliance, con, shells, vm, tmp_path):
    """DHCP from dnsmasq, ping both ways, and a checked TCP transfer each way."""
    t0 = time.monotonic()
    model = EDGE_VMS[vm]
    mac = MACS[vm]
    out = appliance.output()
    assert vm_lines(out, vm, r"PETREL-GUEST-READY kernel=\S+ eth0=(\d[\d./]+|dhcp-pending) ")
    ip = guest_address(appliance, vm)
    assert ip in {lab.addr(h) for h in range(100, 151)}, f"{ip} is not from dnsmasq's range"
    # dnsmasq's lease file names the guest's MAC and address.
    leases = (netlab.Path("/run/petrel-lab") / lab.name / "dnsmasq.leases").read_text()
    assert re.search(rf"^\d+ {mac} {re.escape(ip)} ", leases, re.M), leases

    sh = shells(vm)
    # Linux publishes operstate from its link-watch work, up to a second after the carrier
    # changes: asked for at most 10 times, a second apart, until it says up (or unknown).
    for _ in range(10):
        link = sh.check("cat /sys/class/net/eth0/address /sys/class/net/eth0/operstate; "
                        "basename $(readlink -f /sys/class/net/eth0/device/driver)")
        lines = link.split("\n")
        if "up" in lines or "unknown" in lines:
            break
        time.sleep(1)
    else:
        link += "\n" + sh.check("cat /sys/class/net/eth0/carrier /sys/class/net/eth0/flags 2>&1; "
                                "dmesg | grep -i -e virtio -e eth0 | tail -20; true")
    # 8139too and ne2k-pci leave the carrier to the stack ("unknown"); virtio_net reports it.
    assert mac in lines and ("up" in lines or "unknown" in lines), link
    if model == "virtio":
        assert "up" in lines, link  # VIRTIO_NET_S_LINK_UP
    assert NIC_DRIVERS[model] in link or (model == "virtio" and "virtio" in link), link

    ping_both_ways(lab, sh, ip)

    if model == "virtio":
        acc0 = nic_accesses(con, vm)
        irq0 = virtio_msi_irqs(sh.check("cat /proc/interrupts"))

    down_s, up_s = transfer_both_ways(lab, sh, tmp_path, vm)
    print(f"{vm} ({model}): {FILE_KIB} KiB down in {down_s:.1f} s, up in {up_s:.1f} s; "
          f"test {time.monotonic() - t0:.1f} s")
    if model == "virtio":
        # For the record: with MSI-X what is left of the NIC's accesses is TX kicks.
        irqs = virtio_msi_irqs(sh.check("cat /proc/interrupts")) - irq0
        acc = nic_accesses(con, vm) - acc0
        print(f"{vm}: {irqs} MSI-X interrupts, {acc} eth0 accesses across the transfers")
    assert_no_fatal(appliance)


def guest_counter(sh, name):
    return int(sh.check(f"cat /sys/class/net/eth0/statistics/{name}").split()[0])


def send_strangers(lab):
    netlab.run(lab.ns_cmd(lab.host_ns(2), [netlab.PYTHON, "-c", SEND_FRAMES, STRANGER_MAC,
                                           STRANGER_FRAMES]), timeout=60 * T)
    time.sleep(1)


@pytest.mark.parametrize("vm", list(EDGE_VMS))
def test_filters_multicast_and_promisc(lab, appliance, con, shells, vm):
    """The NIC's station filter: IPv6 neighbour discovery (the solicited-node multicast group
    through the multicast hash filter) lets a lab host ping the guest's link-local address;
    frames for a stranger's MAC are dropped, and received once the guest turns on promiscuous
    mode (virtio-net, like QEMU's without VIRTIO_NET_F_CTRL_RX, has no filter: it always
    receives them)."""
    model = EDGE_VMS[vm]
    sh = shells(vm)
    ll = re.search(r"inet6 (fe80::[0-9a-f:]+)/64",
                   sh.check("ip -6 addr show dev eth0 scope link"))
    assert ll, "no IPv6 link-local address on eth0"
    r = lab.run_in(lab.host_ns(1), ["ping", "-6", "-n", "-c", 3, "-i", 0.3, "-W", 2, "-w", 20,
                                    f"{ll.group(1)}%eth0"], timeout=40 * T, check=False)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", r.stdout)
    assert m and int(m.group(2)) >= 2, r.stdout + r.stderr

    rx0 = guest_counter(sh, "rx_packets")
    if model == "virtio":
        acc0 = nic_accesses(con, vm)
        irq0 = virtio_msi_irqs(sh.check("cat /proc/interrupts"))
    send_strangers(lab)
    off = guest_counter(sh, "rx_packets") - rx0
    if model == "virtio":
        # Receive only (nothing to answer): on MSI-X an interrupt costs no access (with INTx
        # each one read ISR, accesses >= interrupts); only stray guest traffic kicks TX.
        irqs = virtio_msi_irqs(sh.check("cat /proc/interrupts")) - irq0
        acc = nic_accesses(con, vm) - acc0
        print(f"{vm}: {off} stranger frames in {irqs} MSI-X interrupts, {acc} eth0 accesses")
        assert irqs >= 10 and acc * 4 < irqs, f"{vm}: {acc} accesses, {irqs} interrupts"
    sh.check("ip link set eth0 promisc on")
    try:
        rx1 = guest_counter(sh, "rx_packets")
        busy1 = port_drops(con.cmd("vnet ports"), f"{vm}.eth0").get("tx_busy", 0)
        send_strangers(lab)
        on = guest_counter(sh, "rx_packets") - rx1
        # A frame the ring had no room for (the guest not scheduled in time) is counted.
        lost = port_drops(con.cmd("vnet ports"), f"{vm}.eth0").get("tx_busy", 0) - busy1
    finally:
        sh.check("ip link set eth0 promisc off")
    assert on + lost >= STRANGER_FRAMES and on >= STRANGER_FRAMES // 2, \
        f"{vm}: {on} frames received in promiscuous mode, {lost} lost"
    if model != "virtio":
        assert off < STRANGER_FRAMES // 2, f"{vm}: {off} frames for a stranger received"
    # The guest's driver saw no bad frame: its receive errors are the ring overflows the
    # switch counted (the guest too slow for a burst: tx_busy on its port), nothing else.
    errs = [int(x) for x in sh.check(
        "cd /sys/class/net/eth0/statistics && cat rx_errors tx_errors rx_crc_errors "
        "rx_frame_errors rx_length_errors").split()]
    busy = port_drops(con.cmd("vnet ports"), f"{vm}.eth0").get("tx_busy", 0)
    print(f"{vm}: guest rx_errors {errs[0]}, switch tx_busy {busy}")
    assert errs[1:] == [0, 0, 0, 0] and errs[0] <= busy, f"{vm}: errors {errs}, busy {busy}"
    assert_no_fatal(appliance)


MODULES = {"virtio": ("virtio_net", "virtio_net"), "rtl8139": ("8139too", "8139too"),
           "ne2k": ("ne2k_pci", "ne2k-pci")}


@pytest.mark.parametrize("vm", list(EDGE_VMS))
def test_driver_reload(lab, appliance, shells, vm, tmp_path):
    """Unloading and loading the guest's driver again (a full device reset and set-up), then
    DHCP and ping: the model starts over cleanly; big pings (IP fragments) answer too. The
    virtio guest comes back on the legacy interface (virtio_pci force_legacy=1), and a file
    transfer checks it end to end."""
    model = EDGE_VMS[vm]
    name, ko = MODULES[model]
    sh = shells(vm)
    if model == "virtio":
        # virtio_pci again with force_legacy=1: the device's legacy (0.9.5) interface in the IO
        # BAR this time, instead of the virtio 1.0 capabilities Linux prefers.
        sh.check("ip link set eth0 down && rmmod virtio_net && rmmod virtio_pci && "
                 "insmod /lib/modules/virtio_pci.ko force_legacy=1 && "
                 "insmod /lib/modules/virtio_net.ko && sleep 1 && ip link set eth0 up",
                 timeout=60 * T)
        feats = sh.check("cat /sys/bus/virtio/devices/virtio*/features").split()
        assert len(feats) == 1 and feats[0][32] == "0", f"VERSION_1 negotiated: {feats}"
    else:
        sh.check(f"ip link set eth0 down && rmmod {name} && insmod /lib/modules/{ko}.ko && "
                 "sleep 1 && ip link set eth0 up", timeout=60 * T)
    out = sh.check("udhcpc -i eth0 -s /etc/udhcpc.script -n -q -t 5 -T 2; "
                   "ip -4 -o addr show dev eth0", timeout=60 * T)
    ip = re.search(r"inet (\d+\.\d+\.\d+\.\d+)/", out)
    assert ip, out
    st, gout = sh.run(f"ping -c 3 -s 4000 -W 2 {lab.host_ip(1)}", timeout=60 * T)
    m = re.search(r"(\d+) packets transmitted, (\d+) packets received", gout)
    assert st == 0 and m and int(m.group(2)) >= 2, gout
    sent, received, pout = lab.ping(1, ip.group(1), count=3, interval=0.3)
    assert received >= 2, pout
    if model == "virtio":
        www = tmp_path / "www"
        www.mkdir()
        want = random_file(www / "blob", FILE_KIB)
        server = subprocess.Popen(lab.ns_cmd(lab.host_ns(1), [
            netlab.PYTHON, "-c", HTTP_SERVER, www, HTTP_PORT]),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            assert server.stdout.readline().strip() == "serving"
            got = sh.check(f"wget -q -O - http://{lab.host_ip(1)}:{HTTP_PORT}/blob | md5sum",
                           timeout=240 * T)
        finally:
            server.kill()
            server.wait()
        assert want in got, f"{vm} (legacy): got {got!r}, the host served {want}"
    assert_no_fatal(appliance)


def port_drops(ports, name):
    """{reason: count} of a port's `drops on NAME: reason N ...` line in `vnet ports`."""
    m = re.search(rf"^drops on {re.escape(name)}:(.*)$", ports, re.M)
    words = m.group(1).split() if m else []
    return {words[i]: int(words[i + 1]) for i in range(0, len(words) - 1, 2)}


def port_row(ports, name):
    """(rx_packets, tx_packets) of a `vnet ports` row."""
    for line in ports.splitlines():
        f = line.split()
        if len(f) >= 9 and f[1] == name:
            return int(f[6]), int(f[7])
    raise AssertionError(f"no port {name} in:\n{ports}")


def test_guests_talk_through_the_switch_only(lab, appliance, con, shells, tmp_path):
    """ia and ib on their own VNET network: ping and a checked transfer, nothing on the wire."""
    before = con.cmd("vnet ports")
    a, b = shells("ia", 1), shells("ib", 2)
    ip_a, ip_b = ISO_VMS["ia"][1], ISO_VMS["ib"][1]
    wire = tmp_path / "wire.pcapng"
    sniffer = subprocess.Popen(lab.ns_cmd(lab.name, [
        "tshark", "-q", "-i", "petrelbr0", "-a", "duration:600", "-w", wire]),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(3)
        st, out = a.run(f"ping -c 5 -W 2 {ip_b}", timeout=60 * T)
        m = re.search(r"(\d+) packets transmitted, (\d+) packets received", out)
        assert st == 0 and m and int(m.group(2)) >= 4, out
        b.check("mkdir -p /tmp/www && dd if=/dev/urandom of=/tmp/www/blob bs=1024 "
                f"count={FILE_KIB} 2>/dev/null && httpd -p {HTTP_PORT} -h /tmp/www")
        want = re.search(r"([0-9a-f]{32})", b.check("md5sum /tmp/www/blob")).group(1)
        t = time.monotonic()
        got = a.check(f"wget -q -O - http://{ip_b}:{HTTP_PORT}/blob | md5sum", timeout=240 * T)
        print(f"ia <- ib: {FILE_KIB} KiB in {time.monotonic() - t:.1f} s")
        assert want in got, f"ia got {got!r}, ib served {want}"
        st, out = b.run(f"ping -c 3 -W 2 {ip_a}", timeout=60 * T)
        assert st == 0, out
        # The NICs' interrupts: MSI-X messages to the LAPIC (virtio_pci names a vector per
        # queue after the virtio device) and level-triggered through the 8259 pair.
        irqs = {vm: sh.check("cat /proc/interrupts") for vm, sh in (("ia", a), ("ib", b))}
        assert virtio_msi_irqs(irqs["ia"]) > 0, irqs["ia"]
        assert not re.search(r"IO-APIC.*virtio", irqs["ia"]), irqs["ia"]
        assert re.search(r"^\s*1[01]:\s+[1-9]\d*\s+XT-PIC\s+eth0", irqs["ib"], re.M), irqs["ib"]
        # Something the sniffer must see: the appliance answering a lab host.
        lab.ping(1, lab.appliance_ip, count=2, interval=0.3)
        time.sleep(1)
    finally:
        sniffer.terminate()
        sout, _ = sniffer.communicate(timeout=60)
    after = con.cmd("vnet ports")
    r = netlab.run(["tshark", "-r", wire, "-T", "fields", "-e", "eth.src", "-e", "eth.dst",
                    "-e", "ip.src", "-e", "ip.dst"], check=False, timeout=60 * T)
    assert r.returncode == 0, r.stdout + r.stderr + sout
    frames = r.stdout.splitlines()
    island = [f for f in frames if any(MACS[v] in f for v in ISO_VMS) or "10.78.0." in f]
    assert not island, "island frames on the lab bridge:\n" + "\n".join(island[:20])
    assert any(lab.appliance_ip in f for f in frames), f"the sniffer saw nothing\n{sout}"
    # The vnic ports carried the traffic, on the island's network (learned there).
    for vm in ISO_VMS:
        rx0, tx0 = port_row(before, f"{vm}.eth0")
        rx1, tx1 = port_row(after, f"{vm}.eth0")
        assert rx1 - rx0 >= 8 and tx1 - tx0 >= 8, (before, after)
    # The edge carried next to none of it (what it sent is other guests' and the
    # appliance's chatter, far less than the island's transfer).
    edge = port_row(after, "edge")[1] - port_row(before, "edge")[1]
    island_tx = port_row(after, "ia.eth0")[1] - port_row(before, "ia.eth0")[1]
    assert island_tx > 500 and edge < island_tx // 4, (before, after)
    nets = {vm: row.split()[4] for vm in ISO_VMS for row in after.splitlines()
            if len(row.split()) >= 9 and row.split()[1] == f"{vm}.eth0"}
    assert nets["ia"] == nets["ib"] != "0", after
    macs = con.cmd("vnet macs")
    for vm in ISO_VMS:
        assert re.search(rf"^\s*{nets[vm]}\s+{MACS[vm]}\s+{vm}\.eth0\s", macs, re.M), macs
    assert_no_fatal(appliance)


def test_capture_shows_guest_icmp(lab, appliance, tmp_path):
    """The pcapng stream names the guest's port `gv.eth0`; the guest's ICMP is on it (and on
    the edge)."""
    ip = guest_address(appliance, "gv")
    rows = read_capture(lab, 1, 8, tmp_path / "guest.pcapng",
                        lambda: lab.ping(1, ip, count=3, interval=0.3))
    icmp = {(r[0], r[2].startswith("Echo (ping) request")) for r in rows if r[1] == "ICMP"}
    assert {("gv.eth0", True), ("gv.eth0", False), ("edge", True), ("edge", False)} <= icmp, rows
    assert_no_fatal(appliance)
