"""System tests of the application processors' bring-up (kernel/smp.c, boot/ap_start.asm).

Petrel boots with -smp 1, 2, 4 and 9 (QEMU TCG, one host thread per vCPU; 4 and 9 vCPUs on a
2-core host work, just slower) and must say how many CPUs run: the APs that answered the
broadcast INIT-SIPI-SIPI, at most SMP_MAX_CPUS (8) in all, the rest parked. QEMU's own view
(QMP `info registers -a`, `info lapic`) checks the state smp.h promises for each AP: long mode
on the kernel's page tables, a GDT and TSS of its own, the shared IDT, a stack of its own, the
local APIC software-enabled. With two CPUs the appliance still serves its console.

PETREL_KERNEL / PETREL_BUILD point the tests at another build (see conftest.py)."""

import re
import shutil
import subprocess
import time

import pytest

import qemu as qm
import test_console as tc

SMP_MAX_CPUS = 8
STACK_MIN = 64 * 1024
SMP_LINE = re.compile(r"smp: (\d+) CPUs? running \(APs: (\d+)\)")
CPU_LINE = re.compile(r"smp: cpu (\d+): local APIC id (\d+), in C (\d+) us after INIT")


def smp_texts(out):
    """The boot component's "smp: ..." log lines as (level, text)."""
    return [(e[2], e[3]) for e in qm.log_lines(out) if e[1] == "boot" and
            e[3].startswith("smp: ")]


def summary(out):
    """(cpus, aps) from the one "smp: N CPUs running (APs: M)" line."""
    found = [SMP_LINE.fullmatch(t) for _, t in smp_texts(out)]
    found = [m for m in found if m]
    assert len(found) == 1, smp_texts(out)
    return int(found[0].group(1)), int(found[0].group(2))


@pytest.fixture
def smp_boot(boot):
    """smp_boot(n, qmp=False, iso=None, extra_args=(), name=None) -> a started Qemu with -smp n
    (conftest's boot), stopped when the test ends."""
    def start(n, qmp=False, iso=None, extra_args=(), name=None):
        return boot(iso=iso, extra_args=extra_args, qmp=qmp, name=name or f"smp{n}", smp=n)

    return start


def booted(q):
    """Waits for ready plus a short watch: a triple fault on any CPU resets the machine, which
    -no-reboot turns into QEMU exiting; a reboot loop would say ready twice."""
    q.wait_ready()
    time.sleep(0.5)
    out = q.output()
    assert q.alive(), "QEMU exited after ready\n" + q.describe()
    assert len(re.findall(qm.READY_RE, out, re.MULTILINE)) == 1, q.describe()
    return out


# ---- how many CPUs ------------------------------------------------------------------------------

def test_one_cpu_says_no_aps(smp_boot):
    out = booted(smp_boot(1))
    assert summary(out) == (1, 0)
    lines = [t for _, t in smp_texts(out)]
    m = [re.fullmatch(r"smp: no AP answered the INIT-SIPI-SIPI within (\d+) ms", t)
         for t in lines]
    m = [x for x in m if x]
    assert len(m) == 1, lines
    # The wait is bounded: at least CHECKIN_WAIT_NS (100 ms), never past CHECKIN_MAX_NS (1 s).
    assert 100 <= int(m[0].group(1)) < 1100, lines
    assert not [t for _, t in smp_texts(out) if CPU_LINE.fullmatch(t)]
    assert not [e for e in qm.log_lines(out) if e[2] == "error"], q_desc(out)


def q_desc(out):
    return "\n".join(out.splitlines()[-40:])


@pytest.mark.parametrize("n", [2, 4])
def test_all_cpus_run(n, smp_boot):
    out = booted(smp_boot(n))
    assert summary(out) == (n, n - 1)
    cpus = [CPU_LINE.fullmatch(t) for _, t in smp_texts(out)]
    cpus = [c for c in cpus if c]
    # One line per AP, numbered 1..n-1 in check-in order, each a different APIC, none the BSP's.
    assert [int(c.group(1)) for c in cpus] == list(range(1, n)), smp_texts(out)
    ids = [int(c.group(2)) for c in cpus]
    bsp = re.search(r" apic +info  local APIC id (\d+) ", out)
    assert bsp, q_desc(out)
    assert len(set(ids)) == n - 1 and int(bsp.group(1)) not in ids, (ids, bsp.group(1))
    # Each AP reached C after the 10 ms INIT delay, well inside the 1 s bound.
    for c in cpus:
        assert 10000 <= int(c.group(3)) < 1000000, c.group(0)
    assert not [e for e in qm.log_lines(out) if e[2] in ("error", "warn") and
                e[3].startswith("smp: ")], smp_texts(out)
    assert not [e for e in qm.log_lines(out) if e[2] == "error"], q_desc(out)


def test_cpus_beyond_max_park(smp_boot):
    """Nine vCPUs: eight run (SMP_MAX_CPUS), the ninth parks in the trampoline and the
    appliance does not notice."""
    out = booted(smp_boot(SMP_MAX_CPUS + 1))
    assert summary(out) == (SMP_MAX_CPUS, SMP_MAX_CPUS - 1)
    lines = [t for _, t in smp_texts(out)]
    assert (f"smp: all {SMP_MAX_CPUS - 1} AP slots taken: any further AP parks" in lines or
            f"smp: 1 AP(s) beyond the {SMP_MAX_CPUS - 1} slots parked" in lines), lines


# ---- each AP's state, as QEMU sees it ------------------------------------------------------------

def cpu_states(q):
    """{qemu cpu index: {register: value}} from `info registers -a`."""
    text = q.qmp("human-monitor-command", {"command-line": "info registers -a"})
    states = {}
    for block in re.split(r"^CPU#", text, flags=re.M)[1:]:
        idx = int(block.split("\n", 1)[0])
        r = {}
        for name in ("RIP", "RSP", "RFL", "CR0", "CR3", "CR4", "EFER", "HLT"):
            m = re.search(rf"\b{name}=([0-9a-f]+)", block)
            assert m, (name, block)
            r[name] = int(m.group(1), 16)
        for seg in ("CS", "SS", "TR"):
            m = re.search(rf"^{seg} *=([0-9a-f]{{4}}) ([0-9a-f]{{16}})", block, re.M)
            assert m, (seg, block)
            r[seg] = int(m.group(1), 16)
            r[seg + "_base"] = int(m.group(2), 16)
        for table in ("GDT", "IDT"):
            m = re.search(rf"^{table}= +([0-9a-f]{{16}}) ([0-9a-f]{{8}})", block, re.M)
            assert m, (table, block)
            r[table] = int(m.group(1), 16)
        states[idx] = r
    return states


def kernel_range(kernel):
    if shutil.which("nm") is None:
        pytest.skip("nm (binutils) not installed")
    syms = {}
    for line in subprocess.run(["nm", str(kernel)], capture_output=True, text=True, timeout=30,
                               check=True).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] in ("_kernel_start", "_kernel_end"):
            syms[parts[2]] = int(parts[0], 16)
    return syms["_kernel_start"], syms["_kernel_end"]


@pytest.fixture
def four_cpus(smp_boot):
    q = smp_boot(4, qmp=True)
    booted(q)
    return q, cpu_states(q)


def test_ap_state(four_cpus, petrel_kernel):
    q, st = four_cpus
    assert sorted(st) == [0, 1, 2, 3], st.keys()
    start, end = kernel_range(petrel_kernel)
    bsp = st[0]
    aps = [st[i] for i in (1, 2, 3)]
    for i, ap in enumerate(aps, 1):
        # 64-bit mode (LME+LMA, PG+PE, PAE) on the kernel's PML4 with the kernel's selectors.
        assert ap["EFER"] & 0x500 == 0x500, (i, ap)
        assert ap["CR0"] & 0x80000001 == 0x80000001 and ap["CR4"] & 0x20, (i, ap)
        assert ap["CR3"] == bsp["CR3"], (i, ap)
        assert (ap["CS"], ap["SS"], ap["TR"]) == (0x08, 0x10, 0x18), (i, ap)
        assert ap["IDT"] == bsp["IDT"], (i, ap)
        assert start <= ap["RIP"] < end, (i, hex(ap["RIP"]))
        # Its stack comes from the page allocator, not the kernel image (the BSP's boot stack).
        assert not start <= ap["RSP"] < end, (i, hex(ap["RSP"]))
    # A GDT, a TSS and a stack each: no two CPUs share them.
    for key in ("GDT", "TR_base"):
        assert len({s[key] for s in st.values()}) == 4, (key, [hex(s[key]) for s in st.values()])
    rsps = sorted(ap["RSP"] for ap in aps)
    assert all(b - a >= STACK_MIN for a, b in zip(rsps, rsps[1:])), [hex(r) for r in rsps]
    for i in (1, 2, 3):
        lapic = q.qmp("human-monitor-command", {"command-line": f"info lapic {i}"})
        assert re.search(r"SPIV\s+0x000001ff APIC enabled", lapic), lapic
        assert re.search(r"\bTPR 0x00\b", lapic), lapic
        for lvt in ("LVT0", "LVT1", "LVTERR"):
            assert re.search(rf"^{lvt}\s+0x[0-9a-f]+ .*masked", lapic, re.M), (lvt, lapic)


def test_guest_cpu_and_parked_aps(four_cpus):
    """One AP becomes the guest CPU (SVM on; Petrel numbers CPUs in check-in order, which
    need not be QEMU's); the other APs park: halted, interrupts off, no SVM (EFER.SVME is not
    copied from the boot CPU)."""
    q, st = four_cpus
    assert "guest cpu: guests run on CPU 1" in q.output(), q.describe()
    svm = [i for i in (1, 2, 3) if st[i]["EFER"] & 0x1000]
    assert len(svm) == 1, [hex(st[i]["EFER"]) for i in (1, 2, 3)]
    for i in (1, 2, 3):
        if i not in svm:
            assert st[i]["HLT"] == 1 and not st[i]["RFL"] & 0x200, (i, st[i])


# ---- the appliance still works -----------------------------------------------------------------

def test_console_with_two_cpus(smp_boot, tmp_path):
    def boot(iso, name, extra_args):
        return smp_boot(2, iso=iso, name=name, extra_args=extra_args)

    a = tc.boot_appliance(boot, tmp_path, "smp2console", f"console.password={tc.SECRET}")
    try:
        assert summary(a.q.output()) == (2, 1)
        t = a.telnet()
        out = tc.run(t, "help")
        assert "version" in out and "ifconfig" in out, out
        assert "virtualization appliance" in tc.run(t, "version")
        assert "guest cpu  CPU 1 of 2" in tc.run(t, "cpu")
        t.send("exit\r")
        t.expect(tc.pexpect.EOF)
        assert a.q.alive(), a.q.describe()
    finally:
        a.close_all()
