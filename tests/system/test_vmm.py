"""System tests of the VMM core: guests from tests/guests/ (built by `make guests`) run under
Petrel in QEMU, started at boot with vm=NAME:MODULE keys; their console lines, exit codes,
fail stops and exit counters are read from the serial log.

Most guests share one boot (they also show that a guest that fails stops alone); the round
robin, the refusal without SVM and a bad vm= key get boots of their own.

PETREL_KERNEL and PETREL_GUESTS point the tests at another build (default build/petrel.elf
and build/guests)."""

import os
import re
from pathlib import Path

import pytest

import qemu as qm

REPO = qm.REPO
GUESTS = Path(os.environ.get("PETREL_GUESTS", REPO / "build" / "guests"))
KERNEL = Path(os.environ.get("PETREL_KERNEL", REPO / "build" / "petrel.elf"))
VM_TIMEOUT = 60.0 * qm.TIMEOUT_SCALE

# Guests of the shared boot: vm name -> image.
SHARED = {
    "hello": "hello.bin",
    "serial": "serial.bin",
    "exitport": "exitport.bin",
    "cpuid": "cpuid.bin",
    "hlt": "hlt_timer.bin",
    "outsb": "outsb.bin",
    "triple": "triple.bin",
    "oob": "oob.bin",
    "mbinfo": "mbinfo_elf.bin",
    "flat": "flat.bin:flat=0x100000",
}


def need(path, what):
    if not path.is_file():
        pytest.skip(f"{what} {path} does not exist: run 'make' and 'make guests' first")
    return path


def make_iso(tmp_dir, name, cmdline, images):
    kernel = need(KERNEL, "kernel")
    mods = [need(GUESTS / img, "guest") for img in sorted(set(images))]
    return qm.make_iso(Path(tmp_dir) / f"{name}.iso", cmdline=cmdline, kernel=kernel,
                       modules=mods)


def vm_line(vm, text):
    """A regex for a log line `[vm] vm VM: text...` (text is a regex, matched at the start)."""
    return rf"\[{re.escape(vm)}\] vm {re.escape(vm)}: {text}"


def vm_ended(vm):
    return vm_line(vm, r"(exited with code -?\d+|fail stop: .*|stopped: .*)")


def counters(out, vm, guest_only=True):
    """The exit counters the VM logged when it ended: {'total': n, 'ioio': n, ...}. Host
    interrupts ('intr' exits) come whenever the host timer fires, not from the guest: they are
    left out, and out of the total, so exact counts of the guest's own exits can be checked."""
    m = re.search(vm_line(vm, r"(\d+) exits, \d+ us in guest, \d+ us in vmm:(.*)"), out,
                  re.MULTILINE)
    assert m, f"no counters line for {vm}"
    res = {"total": int(m.group(1))}
    for name, n in re.findall(r" ([a-z#][a-z0-9 ]*?) (\d+)", m.group(2)):
        res[name] = int(n)
    if guest_only:
        res["total"] -= res.pop("intr", 0)
    return res


@pytest.fixture(scope="module")
def shared(module_boot, tmp_path_factory):
    """One boot running every guest of SHARED at once; returns (qemu, output) after all ended
    and the appliance logged a line after the last of them."""
    cmdline = " ".join(f"vm={vm}:{img}" for vm, img in SHARED.items())
    images = [img.split(":")[0] for img in SHARED.values()]
    iso = make_iso(tmp_path_factory.mktemp("vmm"), "shared", cmdline, images)
    q = module_boot(iso=iso, name="vmm-shared")
    q.wait_ready()
    for vm in SHARED:
        q.wait_for(vm_ended(vm), timeout=VM_TIMEOUT)
    assert q.alive(), q.describe()
    return q, q.output()


def test_all_guests_created(shared):
    _, out = shared
    for vm in SHARED:
        assert re.search(vm_line(vm, r"created: 16 MiB RAM .*ASID \d+, 10 devices"), out,
                         re.MULTILINE), vm
        assert re.search(vm_line(vm, "started"), out, re.MULTILINE), vm


def test_hello_hypercalls(shared):
    _, out = shared
    assert re.search(vm_line("hello", "hello from guest"), out, re.MULTILINE)
    assert re.search(vm_line("hello", "exited with code 0"), out, re.MULTILINE)
    assert counters(out, "hello") == {"total": 2, "vmmcall": 2}


def test_serial_hello_com1(shared):
    _, out = shared
    assert re.search(vm_line("serial", "hello from COM1"), out, re.MULTILINE)
    assert re.search(vm_line("serial", "second line in one exit"), out, re.MULTILINE)
    # isa-debug-exit: a write of 0 ends the VM with code (0 << 1) | 1.
    assert re.search(vm_line("serial", "exited with code 1"), out, re.MULTILINE)


def test_exit_port(shared):
    _, out = shared
    assert re.search(vm_line("exitport", "debugcon: exit through port 0xf4"), out, re.MULTILINE)
    assert re.search(vm_line("exitport", "exited with code 33"), out, re.MULTILINE)
    # The rep outsb to the debugcon and the out to 0xF4: two exits in all.
    assert counters(out, "exitport") == {"total": 2, "ioio": 2}


def test_cpuid_policy(shared):
    _, out = shared
    assert re.search(vm_line("cpuid", "cpuid policy ok"), out, re.MULTILINE), \
        re.findall(vm_line("cpuid", ".*"), out, re.MULTILINE)
    assert re.search(vm_line("cpuid", "exited with code 0"), out, re.MULTILINE)


def test_hlt_woken_by_timer(shared):
    _, out = shared
    assert re.search(vm_line("hlt", "woke up 10 times"), out, re.MULTILINE)
    assert re.search(vm_line("hlt", "exited with code 0"), out, re.MULTILINE)
    c = counters(out, "hlt")
    # One HLT exit per tick, except that a tick already due when the guest is entered (the
    # host's thread was off the CPU for a 10 ms period, a loaded machine) is taken before the
    # guest reaches its HLT: never more than ten, and most of them.
    assert 5 <= c["hlt"] <= 10, c


def test_rep_outsb_64k_is_one_exit(shared):
    _, out = shared
    assert re.search(vm_line("outsb", "rep outsb done"), out, re.MULTILINE)
    assert re.search(vm_line("outsb", "exited with code 0"), out, re.MULTILINE)
    # One exit for the 64 KiB rep outsb and one for the 4 KiB rep insb.
    c = counters(out, "outsb")
    assert c.get("ioio") == 2, c


def test_multiboot_elf_and_info(shared):
    """An ELF multiboot kernel (kvm-unit-tests style) checks the information it was given."""
    _, out = shared
    assert re.search(vm_line("mbinfo", "multiboot info ok"), out, re.MULTILINE)
    assert re.search(vm_line("mbinfo", "exited with code 0"), out, re.MULTILINE)


def test_flat_binary(shared):
    _, out = shared
    assert re.search(vm_line("flat", "flat binary ok"), out, re.MULTILINE)
    assert re.search(vm_line("flat", "exited with code 0"), out, re.MULTILINE)


def test_triple_fault_fails_stop(shared):
    _, out = shared
    assert re.search(vm_line("triple", "about to triple fault"), out, re.MULTILINE)
    assert re.search(vm_line("triple", r"fail stop: triple fault \(shutdown\) at RIP 0x[0-9a-f]+"),
                     out, re.MULTILINE)
    # The dump: registers, segments and the VMCB control area, tagged with the VM.
    assert re.search(r"exit\s+error \[triple\] registers: RIP [0-9a-f]{16}", out)
    assert re.search(r"exit\s+error \[triple\]\s+CS\s+sel 0008", out)
    assert re.search(r"exit\s+error \[triple\] vmcb control: exit 0x7f \(shutdown\)", out)


def test_out_of_memory_access_fails_stop(shared):
    _, out = shared
    assert re.search(vm_line("oob", r"fail stop: guest write of guest-physical 0x40000000 "
                                    r"\(outside RAM and MMIO\)"), out, re.MULTILINE)
    assert re.search(r"exit\s+error \[oob\] vmcb control: exit 0x400 \(npf\)", out)


def test_failures_stay_local(shared):
    """Two guests failed stop; the others ended normally and the appliance runs on."""
    q, out = shared
    ok = [vm for vm in SHARED if re.search(vm_line(vm, "exited with code"), out, re.MULTILINE)]
    assert sorted(ok) == sorted(set(SHARED) - {"triple", "oob"})
    assert len(re.findall(qm.READY_RE, out, re.MULTILINE)) == 1
    assert "KERNEL FAULT" not in out
    assert q.alive()


def test_two_guests_round_robin(boot, tmp_path):
    """Two guests that never exit on their own between lines share the CPU: the host timer
    slices them, so their lines interleave, and both finish."""
    iso = make_iso(tmp_path, "rr", "vm=a:spin.bin vm=b:spin.bin", ["spin.bin"])
    q = boot(iso=iso, name="rr")
    q.wait_ready()
    for vm in ("a", "b"):
        q.wait_for(vm_line(vm, "exited with code 0"), timeout=VM_TIMEOUT)
    out = q.output()
    order = re.findall(r"\[(a|b)\] vm (?:a|b): tick (\d)", out)
    assert len(order) == 10, order
    first_b = [i for i, (vm, _) in enumerate(order) if vm == "b"][0]
    last_a = [i for i, (vm, _) in enumerate(order) if vm == "a"][-1]
    assert first_b < last_a, f"not interleaved: {order}"
    # Host timer ticks took the CPU back (the guests themselves only exit to print).
    assert (counters(out, "a", guest_only=False).get("intr", 0) +
            counters(out, "b", guest_only=False).get("intr", 0)) >= 1


@pytest.mark.parametrize("cpu,why", [
    ("qemu64,-svm", r"no SVM: CPUID 8000_0001 ECX.SVM is clear"),
    ("qemu64", r"SVM without nested paging: Petrel needs NPT"),
])
def test_refused_without_svm_or_npt(boot, tmp_path, cpu, why):
    iso = make_iso(tmp_path, "nosvm", "vm=hello:hello.bin", ["hello.bin"])
    q = boot(iso=iso, cpu=cpu, name="nosvm")
    q.wait_ready()
    out = q.output()
    assert re.search(r"svm\s+warn  " + why, out), out
    assert re.search(r"vmm\s+error the VMM is not available \(-19\): 1 guest\(s\) not started",
                     out)


def test_bad_vm_keys(boot, tmp_path):
    iso = make_iso(tmp_path, "badkeys",
                   "vm=x:missing.bin vm=y:hello.bin:mem=0 vm=noimage vm=ok:hello.bin:mem=4",
                   ["hello.bin"])
    q = boot(iso=iso, name="badkeys")
    q.wait_ready()
    q.wait_for(vm_line("ok", "exited with code 0"), timeout=VM_TIMEOUT)
    out = q.output()
    assert re.search(r"vm=x:missing.bin: no boot module named 'missing.bin'", out)
    assert re.search(r"vm=y:hello.bin:mem=0: bad option 'mem=0'", out)
    assert re.search(r"cmdline: bad value for 'vm'.*NAME:MODULE", out) or \
        re.search(r"vm=noimage", out)
    assert re.search(vm_line("ok", r"created: 4 MiB RAM"), out, re.MULTILINE)
