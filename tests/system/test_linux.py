"""System tests of the Linux guest: Debian's kernel and a busybox initramfs (tools/mkguest-linux)
booted under Petrel in QEMU from a petrel.conf [vm] section (kernel, initrd, cmdline).

One boot runs four Linux guests at once (so two at once is covered too), three of 128 MiB and
one of 1 GiB:
  linux  no interrupt-controller flags: its local APIC and IOAPIC (a Linux VM has them; a
         kernel without the models gives the 8259 and PIT), and `paravirt = off` (no KVM
         CPUID leaves, no PV EOI: the guest runs without them); prints PETREL-SELFTEST facts,
         then stays up with its shell on the serial console
  off    1 GiB, nolapic noapic (8259 and PIT only), three NICs (virtio, rtl8139, ne2k, a
         static address on eth0): PETREL-SELFTEST facts, then powers off through ACPI
         (PM1a_CNT, S5): only that VM ends, with code 0
  rb     reboots once through the FADT reset register (0xCF9): only that VM restarts, boots
         again and stays up
  crash  panics (sysrq): pvpanic fails only that VM stop, with a register dump
Their console lines are read from the serial log ("[vm] vm NAME: text").

A second boot types on a guest's console over telnet (`console linux`, the appliance on QEMU
user networking): uname -a, /proc/cpuinfo, /proc/interrupts, then `poweroff` in the guest's
shell ends only that VM. That guest has the paravirtual EOI (the default): while its shell
prints /proc/interrupts a few times, `vm info linux` counts EOIs the guest signalled through
memory, and its LAPIC accesses (MMIO exits: EOI register writes) stay under half the
interrupts injected meanwhile.

PETREL_KERNEL points the tests at another kernel build (default build/petrel.elf);
PETREL_LINUX_GUEST at another guest directory (default: built here with tools/mkguest-linux,
cached)."""

import os
import re
import subprocess
from pathlib import Path

import pytest

import qemu as qm
import test_console as tc  # the telnet console helpers (Appliance, login, ports)

REPO = qm.REPO
KERNEL = Path(os.environ.get("PETREL_KERNEL", REPO / "build" / "petrel.elf"))
GUEST_DIR = Path(os.environ.get("PETREL_LINUX_GUEST", REPO / "build" / "guests" / "linux"))
BOOT_TIMEOUT = 480.0 * qm.TIMEOUT_SCALE  # four guests on one nested-TCG CPU
MARKER = "PETREL-GUEST-READY"
PIC_CMDLINE = "console=ttyS0 nolapic noapic tsc=reliable"

VMS = {
    "linux": "console=ttyS0 tsc=reliable petrel.selftest=1",
    "off": PIC_CMDLINE + " quiet petrel.ip=10.9.0.2/24 petrel.selftest=1 petrel.then=poweroff",
    "rb": PIC_CMDLINE + " quiet petrel.then=reboot-once",
    "crash": PIC_CMDLINE + " quiet petrel.then=panic",
}
MEM = {"linux": 128, "off": 1024, "rb": 128, "crash": 128}  # MiB
# Extra petrel.conf lines per VM.
EXTRA = {"linux": ["paravirt = off"]}
# Guest NICs (petrel.conf nic lines; no host NIC in the tests, so they stay unplugged).
NICS = {"off": ["virtio", "rtl8139", "ne2k"]}
NIC_DRIVERS = {"virtio": "virtio_net", "rtl8139": "8139too", "ne2k": "ne2k-pci"}


def vm_line(vm, text):
    """A regex for the log line `[vm] vm VM: text...` (text is a regex)."""
    return rf"\[{re.escape(vm)}\] vm {re.escape(vm)}: {text}"


def vm_lines(out, vm, text):
    return re.findall(vm_line(vm, text), out, re.MULTILINE)


def log_time(out, regex):
    """The kernel log timestamp of the first line matching regex."""
    m = re.search(r"^\s*(\d+\.\d+) .*" + regex, out, re.MULTILINE)
    assert m, f"no line /{regex}/"
    return float(m.group(1))


@pytest.fixture(scope="module")
def guest():
    """build/guests/linux (vmlinuz, initrd.img) from Debian packages, built once and cached."""
    if "PETREL_LINUX_GUEST" not in os.environ:
        r = subprocess.run([str(REPO / "tools" / "mkguest-linux"), "--out", str(GUEST_DIR)],
                           cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=900)
        assert r.returncode == 0, f"tools/mkguest-linux failed:\n{r.stdout}{r.stderr}"
    for name in ("vmlinuz", "initrd.img"):
        assert (GUEST_DIR / name).is_file(), f"{GUEST_DIR / name} missing"
    return GUEST_DIR


@pytest.fixture(scope="module")
def four(guest, module_boot, tmp_path_factory):
    """One appliance running the guests of VMS; returns (qemu, output) once `off` has powered
    off, `crash` has failed stop, `rb` is back up after its reboot and `linux` has its shell."""
    if not KERNEL.is_file():
        pytest.skip(f"kernel {KERNEL} does not exist: run 'make' first")
    work = tmp_path_factory.mktemp("linux")
    conf = work / "petrel.conf"
    conf.write_text("".join(
        f"[vm {vm}]\nmemory = {MEM[vm]}M\nkernel = vmlinuz\ninitrd = initrd.img\n"
        + "".join(f"nic = {n}\n" for n in NICS.get(vm, []))
        + "".join(f"{line}\n" for line in EXTRA.get(vm, []))
        + f"cmdline = {cmdline}\n\n" for vm, cmdline in VMS.items()))
    iso = work / "linux.iso"
    r = subprocess.run([str(REPO / "tools" / "mkiso"), "--kernel", str(KERNEL), "-c", str(conf),
                        "-m", str(guest / "vmlinuz"), "-m", str(guest / "initrd.img"),
                        "-o", str(iso)], cwd=REPO, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"mkiso failed:\n{r.stdout}{r.stderr}"
    q = module_boot(iso=iso, mem=2048, name="linux4")
    q.wait_ready()
    out = q.output()
    if re.search(r"initrd '.*' is kept for Linux guests, not loaded", out):
        pytest.skip("this kernel does not load a petrel.conf [vm] section's initrd yet "
                    "(kernel/vms.c)")
    assert re.search(vm_line("linux", "linux boot protocol"), out, re.MULTILINE), q.describe()
    q.wait_for(vm_line("off", "exited with code"), timeout=BOOT_TIMEOUT)
    q.wait_for(vm_line("crash", "fail stop"), timeout=BOOT_TIMEOUT)
    q.wait_for(vm_line("rb", "PETREL-GUEST-SHELL"), timeout=BOOT_TIMEOUT)
    q.wait_for(vm_line("linux", "PETREL-GUEST-SHELL"), timeout=BOOT_TIMEOUT)
    assert q.alive(), q.describe()
    out = q.output()
    for vm in VMS:
        t0 = log_time(out, vm_line(vm, "started"))
        t1 = log_time(out, vm_line(vm, MARKER))
        print(f"vm {vm}: ready marker {t1 - t0:.1f} s after start")
    return q, out


def test_loaded_by_the_boot_protocol(four):
    _, out = four
    for vm, cmdline in VMS.items():
        assert re.search(vm_line(vm, r"linux boot protocol 2\.\d\d, kernel \d+ KiB at 0x100000 "
                                     r"\(runs at 0x[0-9a-f]+, init_size \d+ KiB, relocatable\), "
                                     r"initrd \d+ KiB at 0x[0-9a-f]+"), out, re.MULTILINE), vm
        assert vm_lines(out, vm, "linux command line: " + re.escape(cmdline) +
                        r" tsc_early_khz=\d+$"), vm
        assert vm_lines(out, vm, rf"created: {MEM[vm]} MiB RAM"), vm


def test_ready_marker_and_shell(four):
    _, out = four
    m = re.search(vm_line("linux", MARKER + r" kernel=(\S+) eth0=(\S+)"), out, re.MULTILINE)
    assert m, "no ready marker"
    assert m.group(1).startswith("6."), m.group(1)
    assert vm_lines(out, "linux", r"PETREL-GUEST-SHELL on /dev/ttyS0")
    # The kernel found what the tables and devices offer.
    assert vm_lines(out, "linux", r"\[ *[\d.]+\] ACPI: RSDP 0x00000000000F0000")
    assert vm_lines(out, "linux", r"\[ *[\d.]+\] ACPI: PM: \(supports S0 S5\)")
    assert vm_lines(out, "linux", r"\[ *[\d.]+\] ACPI: PCI Root Bridge \[PCI0\]")
    assert vm_lines(out, "linux", r"\[ *[\d.]+\] serial8250: ttyS0 at I/O 0x3f8 \(irq = 4")
    assert vm_lines(out, "linux", r"\[ *[\d.]+\] i8042: PNP: PS/2 Controller")
    assert vm_lines(out, "linux", r"\[ *[\d.]+\] tsc: Detected \d+\.\d+ MHz processor")
    assert not vm_lines(out, "linux", r"\[ *[\d.]+\] .*(Kernel panic|BUG:|Oops)")
    assert not vm_lines(out, "linux", "exited with code")


def test_selftest_facts(four):
    _, out = four
    for vm in ("linux", "off"):
        uname = vm_lines(out, vm, r"PETREL-SELFTEST uname: (.*)$")
        assert uname and uname[0].startswith("Linux petrel-guest 6."), uname
        assert uname[0].rstrip().endswith("x86_64 GNU/Linux"), uname
        assert vm_lines(out, vm, r"PETREL-SELFTEST cpus: 1$")
        assert vm_lines(out, vm, r"PETREL-SELFTEST clocksource: tsc(-early)?$")
        assert vm_lines(out, vm, "PETREL-SELFTEST done")
        # What the kernel has of the VM's RAM (less its own image and reservations).
        total = vm_lines(out, vm, r"PETREL-SELFTEST memory: MemTotal: (\d+) kB")
        assert total and MEM[vm] * 1024 // 2 < int(total[0]) < MEM[vm] * 1024, total


def test_nics_in_pci_order(four):
    """The guest's drivers bind Petrel's NIC models; eth0, eth1, ... are the VM's nic lines in
    order (PCI order), with the VM's MACs; the static address went on eth0."""
    _, out = four
    assert vm_lines(out, "off", MARKER + r" kernel=\S+ eth0=10\.9\.0\.2/24 ")
    nics = vm_lines(out, "off", r"PETREL-SELFTEST nic: (eth\d) (\S+) (\S+) ([0-9a-f:]{17})$")
    assert [n[0] for n in nics] == [f"eth{i}" for i in range(len(NICS["off"]))], nics
    assert [n[2] for n in nics] == [NIC_DRIVERS[k] for k in NICS["off"]], nics
    assert [n[1] for n in nics] == sorted(n[1] for n in nics), nics
    for i, (name, _, _, mac) in enumerate(nics):
        m = re.search(rf"\[off\] \S+ {name}: \S+ io 0x[0-9a-f]+ .*mac {mac}", out)
        assert m, f"{name} {mac} is not the VM's NIC {i}"


def test_pic_and_pit_with_nolapic(four):
    """nolapic noapic: the PIT ticks through the 8259; the SCI is the level line 9."""
    _, out = four
    timer = vm_lines(out, "off", r"PETREL-SELFTEST interrupts: +0: +(\d+) +XT-PIC +timer")
    assert timer and int(timer[0]) > 0, timer
    assert vm_lines(out, "off", r"PETREL-SELFTEST interrupts: +4: +\d+ +XT-PIC +ttyS0")
    assert vm_lines(out, "off", r"PETREL-SELFTEST interrupts: +9: +\d+ +XT-PIC +acpi")


def test_interrupt_controllers_from_acpi(four):
    """Without flags the guest uses what the VM has: with a local APIC and an IOAPIC (found
    through the MADT) its own LAPIC timer and IOAPIC routing, else the 8259 and PIT."""
    _, out = four
    if vm_lines(out, "linux", r"\[ *[\d.]+\] ACPI: Using IOAPIC for interrupt routing"):
        assert vm_lines(out, "linux", r"\[ *[\d.]+\] IOAPIC\[0\]: apic_id 0, version \d+, "
                                      r"address 0xfec00000, GSI 0-23")
        assert vm_lines(out, "linux", r"PETREL-SELFTEST interrupts: +4: +\d+ +IO-APIC +4-edge "
                                      r"+ttyS0")
        assert vm_lines(out, "linux", r"PETREL-SELFTEST interrupts: +9: +\d+ +IO-APIC "
                                      r"+9-fasteoi +acpi")
        loc = vm_lines(out, "linux", r"PETREL-SELFTEST interrupts: LOC: +(\d+) ")
        assert loc and int(loc[0]) > 0, loc
    else:
        assert vm_lines(out, "linux", r"\[ *[\d.]+\] ACPI: Using PIC for interrupt routing")
        timer = vm_lines(out, "linux", r"PETREL-SELFTEST interrupts: +0: +(\d+) +XT-PIC +timer")
        assert timer and int(timer[0]) > 0, timer


def test_acpi_poweroff_stops_only_that_vm(four):
    q, out = four
    assert vm_lines(out, "off", r"ACPI poweroff \(S5\)")
    assert vm_lines(out, "off", r"exited with code 0$")
    assert vm_lines(out, "off", r"\d+ exits, \d+ us in guest, \d+ us in vmm:.* ioio \d+")
    # The others went on: both reached their shells after (or while) `off` ended.
    assert not vm_lines(out, "linux", "(exited with code|stopped|fail stop)")
    assert not vm_lines(out, "rb", "(exited with code|stopped|fail stop)")
    assert q.alive()


def test_reboot_restarts_only_that_vm(four):
    _, out = four
    assert re.search(r"\[rb\] guest requested a reset \(0xCF9 = 0x06\)", out)
    assert vm_lines(out, "rb", "reset$")
    assert len(vm_lines(out, "rb", MARKER)) == 2
    assert vm_lines(out, "rb", "PETREL-GUEST-REBOOTED")
    # Nobody else was reset.
    assert not vm_lines(out, "linux", "reset$")
    assert not vm_lines(out, "off", "reset$")


def test_panic_fails_stop_only_that_vm(four):
    q, out = four
    assert vm_lines(out, "crash", r"\[ *[\d.]+\] Kernel panic - not syncing: sysrq triggered crash")
    assert vm_lines(out, "crash", r"fail stop: guest kernel panic \(pvpanic\)$")
    # The dump: registers and the VMCB control area, tagged with the VM.
    assert re.search(r"exit\s+error \[crash\] registers: RIP [0-9a-f]{16}", out)
    assert re.search(r"exit\s+error \[crash\] vmcb control: exit 0x7b \(ioio\)", out)
    assert len(re.findall(r"fail stop", out)) == 1, "another VM failed too"
    assert "KERNEL FAULT" not in out
    assert q.alive()


SHELL_PROMPT = r"petrel-guest:~# "


def pv_eoi_counts(con):
    """(irqs injected, pv eois, lapic accesses) of VM linux so far, from `vm info` on an
    appliance console session."""
    con.send("vm info linux\r")
    con.expect(tc.PROMPT)
    info = con.before
    m = re.search(r"counters .* (\d+) irqs injected, (\d+) pv eois,", info)
    assert m, info
    a = re.search(r"accesses .*\blapic (\d+) \(", info)
    return int(m.group(1)), int(m.group(2)), int(a.group(1)) if a else 0


def test_typed_commands_on_the_console(guest, boot, tmp_path):
    """console linux over telnet: the guest's shell answers typed commands; its poweroff ends
    only that VM."""
    if not KERNEL.is_file():
        pytest.skip(f"kernel {KERNEL} does not exist: run 'make' first")
    conf = tmp_path / "petrel.conf"
    conf.write_text("[vm linux]\nmemory = 128M\nkernel = vmlinuz\ninitrd = initrd.img\n"
                    "cmdline = console=ttyS0 tsc=reliable quiet\n")
    iso = tmp_path / "console.iso"
    r = subprocess.run([str(REPO / "tools" / "mkiso"), "--kernel", str(KERNEL), "-c", str(conf),
                        "--cmdline", f"console.password={tc.SECRET}",
                        "-m", str(guest / "vmlinuz"), "-m", str(guest / "initrd.img"),
                        "-o", str(iso)], cwd=REPO, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"mkiso failed:\n{r.stdout}{r.stderr}"
    tport = tc.free_port()
    netdev = f"user,id=n0,hostfwd=tcp:127.0.0.1:{tport}-:23"
    q = boot(iso=iso, mem=1024, name="linuxcon",
             extra_args=["-netdev", netdev, "-device", "rtl8139,netdev=n0"])
    q.wait_ready()
    if "lwIP" not in q.output():
        pytest.skip("this kernel has no network stack (no telnet console)")
    q.wait_for(r" net +info  address ", timeout=tc.NET_TIMEOUT)
    q.wait_for(vm_line("linux", "PETREL-GUEST-SHELL"), timeout=BOOT_TIMEOUT)
    a = tc.Appliance(q, tport, None)
    try:
        t = a.telnet()
        t.timeout = 60 * qm.TIMEOUT_SCALE  # a guest command under nested TCG
        t.send("console linux\r")
        t.expect(r"attached to linux's console")
        t.send("\r")
        t.expect(SHELL_PROMPT)
        t.send("uname -a\r")
        t.expect(r"Linux petrel-guest 6\.\d+\.\d+\S* #1 SMP .* x86_64 GNU/Linux")
        t.expect(SHELL_PROMPT)
        t.send("cat /proc/cpuinfo\r")
        t.expect(r"vendor_id\s*: \S+")
        t.expect(r"flags\s*: .*\bapic\b.*\bhypervisor\b")
        t.expect(SHELL_PROMPT)
        t.send("cat /proc/interrupts\r")
        t.expect(r"\s4:\s+\d+\s+IO-APIC\s+4-edge\s+ttyS0")
        t.expect(r"LOC:\s+[1-9]\d*\s+Local timer interrupts")
        t.expect(SHELL_PROMPT)
        # The paravirtual EOI: while the guest's shell works, EOIs go through its word in
        # memory, each one an EOI register write (a LAPIC MMIO exit) saved.
        c = a.telnet()
        before = pv_eoi_counts(c)
        for _ in range(3):
            t.send("cat /proc/interrupts; sleep 1\r")
            t.expect(r"LOC:\s+[1-9]\d*\s+Local timer interrupts")
            t.expect(SHELL_PROMPT)
        after = pv_eoi_counts(c)
        irqs, pv_eois, lapic = (b - a for a, b in zip(before, after))
        print(f"vm linux meanwhile: {irqs} irqs injected, {pv_eois} pv eois, "
              f"{lapic} lapic accesses")
        assert pv_eois > 0, (before, after)
        assert lapic < irqs / 2, (before, after)
        t.send("poweroff\r")
        t.expect(r"\[VM linux exited")
        q.wait_for(vm_line("linux", r"exited with code 0"), timeout=tc.T)
        assert q.alive()
        assert "fail stop" not in q.output()
    finally:
        a.close_all()
