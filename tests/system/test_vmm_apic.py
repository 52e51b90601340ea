"""System tests of the guest local APIC and IOAPIC (vmm/devices/lapic.c, ioapic.c): guests from
tests/guests/ started with the vm= key's `apic` option, under Petrel in QEMU.

- apic.bin routes the PIT through IOAPIC pin 2, calibrates the LAPIC timer against it, runs it
  periodic at 1 kHz for 200 ms, fires a TSC-deadline interrupt and takes a level-triggered
  IOAPIC interrupt through remote IRR and the EOI broadcast (see the guest for its checks).
- hlt_timer.bin never touches the APIC: with APICs present it must still run on the 8259,
  whose interrupts reach the CPU through the LAPIC's LINT0 (virtual wire mode).
- The same guest without the option next to them: the PIC-only platform is unchanged.

Uses PETREL_KERNEL and PETREL_GUESTS as test_vmm.py does."""

import re

import pytest

from test_vmm import VM_TIMEOUT, counters, make_iso, vm_ended, vm_line


@pytest.fixture(scope="module")
def apic_boot(module_boot, tmp_path_factory):
    cmdline = "vm=apic:apic.bin:apic vm=wire:hlt_timer.bin:apic vm=pic:hlt_timer.bin"
    iso = make_iso(tmp_path_factory.mktemp("apic"), "apic", cmdline,
                   ["apic.bin", "hlt_timer.bin"])
    q = module_boot(iso=iso, name="vmm-apic")
    q.wait_ready()
    out = q.output()
    if re.search(r"vm=apic:apic\.bin:apic: bad option 'apic'", out):
        pytest.skip("this kernel's vm= key has no 'apic' option (kernel/vms.c)")
    for vm in ("apic", "wire", "pic"):
        q.wait_for(vm_ended(vm), timeout=VM_TIMEOUT)
    assert q.alive(), q.describe()
    return q, q.output()


def test_apic_guest(apic_boot):
    _, out = apic_boot
    m = re.search(vm_line("apic", r"apic ok: 1 kHz LAPIC timer (\d+) ticks in 200 ms"), out,
                  re.MULTILINE)
    assert m, re.findall(vm_line("apic", ".*"), out, re.MULTILINE)
    assert 100 <= int(m.group(1)) <= 300
    assert re.search(vm_line("apic", "exited with code 0"), out, re.MULTILINE)
    c = counters(out, "apic")
    # LAPIC and IOAPIC registers are MMIO (nested page faults); APIC base and TSC deadline
    # are MSRs.
    assert c.get("npf", 0) > 200, c
    assert c.get("msr", 0) >= 3, c


def test_virtual_wire_guest(apic_boot):
    """With APICs present a guest that knows only the 8259 still gets its PIT interrupts."""
    _, out = apic_boot
    assert re.search(vm_line("wire", "woke up 10 times"), out, re.MULTILINE)
    assert re.search(vm_line("wire", "exited with code 0"), out, re.MULTILINE)
    assert counters(out, "wire")["hlt"] == 10


def test_pic_only_guest_alongside(apic_boot):
    q, out = apic_boot
    assert re.search(vm_line("pic", "woke up 10 times"), out, re.MULTILINE)
    assert re.search(vm_line("pic", "exited with code 0"), out, re.MULTILINE)
    created = {vm: int(re.search(vm_line(vm, r"created: .* (\d+) devices"), out,
                                 re.MULTILINE).group(1)) for vm in ("apic", "pic")}
    assert created["apic"] == created["pic"] + 2, created  # the LAPIC and the IOAPIC
    assert "KERNEL FAULT" not in out
    assert q.alive()
