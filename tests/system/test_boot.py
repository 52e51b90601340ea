"""System tests of the foundation: banner, PCI list, command line, log levels, fault dumps,
and tools/run. Each boots Petrel in QEMU; boots that several tests read are shared."""

import re
import shutil
import subprocess
import time

import pytest

import qemu as qm

REPO = qm.REPO
HEX16 = r"[0-9a-f]{16}"
BUILD_TIMEOUT = 600 * qm.TIMEOUT_SCALE


def petrel_version():
    text = (REPO / "kernel" / "version.h").read_text()
    m = re.search(r'#define PETREL_VERSION "([^"]+)"', text)
    assert m, "PETREL_VERSION not found in kernel/version.h"
    return m.group(1)


def entries(out, comp=None, level=None):
    """Log lines (time, comp, level, text) of the output, filtered by component and level."""
    return [e for e in qm.log_lines(out)
            if (comp is None or e[1] == comp) and (level is None or e[2] == level)]


def texts(out, comp=None, level=None):
    return [e[3] for e in entries(out, comp, level)]


def count_ready(out):
    return len(re.findall(qm.READY_RE, out, re.MULTILINE))


@pytest.fixture(scope="module")
def default_boot(module_boot):
    """build/petrel.iso booted once as the harness does by default (with QMP, for PCI), until
    ready plus a short watch that it stays up and says ready only once."""
    q = module_boot(qmp=True, name="default")
    q.wait_ready()
    # A triple fault would make QEMU exit (-no-reboot); a loop would print ready again.
    time.sleep(0.5)
    return q


# ---- banner ---------------------------------------------------------------------------------

def test_banner_version(default_boot):
    first = entries(default_boot.output())[0]
    assert first[1:3] == ("boot", "info")
    assert re.fullmatch(rf"Petrel {re.escape(petrel_version())} \(\S+\), x86-64 "
                        r"virtualization appliance", first[3]), first


def test_banner_memory(default_boot):
    mem = [t for t in texts(default_boot.output(), "boot", "info") if t.startswith("memory: ")]
    m = re.fullmatch(r"memory: (\d+) MiB usable, kernel (\d+) KiB at 0x100000", mem[0])
    assert m, mem
    # -m 512 minus firmware holes and the low megabyte.
    assert 480 <= int(m.group(1)) <= 512
    assert 0 < int(m.group(2)) < 64 * 1024
    assert re.fullmatch(r"memory: \d+ pages free \(\d+ MiB, \d+ free 2 MiB pages\), heap \d+ MiB "
                        r"at 0x[0-9a-f]+", mem[1]), mem


def test_memory_follows_qemu(boot):
    q = boot(mem=256)
    q.wait_ready()
    m = re.search(r"^.* boot    info  memory: (\d+) MiB usable", q.output(), re.MULTILINE)
    assert m and 224 <= int(m.group(1)) <= 256, q.describe()


CPU_CASES = {
    "svm-npt": ("qemu64,+svm,+npt", r"SVM yes \(revision \d+, \d+ ASIDs\), NPT yes, .*"),
    "svm-no-npt": ("qemu64,+svm,-npt", r"SVM yes \(revision \d+, \d+ ASIDs\), NPT no, .*"),
    "no-svm": ("qemu64,-svm", r"SVM not supported: guests cannot run .*"),
}


@pytest.mark.parametrize("case", CPU_CASES)
def test_banner_cpu(case, boot, default_boot):
    cpu, svm_re = CPU_CASES[case]
    q = default_boot if cpu == qm.DEFAULT_CPU else boot(cpu=cpu)
    q.wait_ready()
    cpu_lines = [t for t in texts(q.output(), "boot") if t.startswith("cpu: ")]
    assert re.fullmatch(r"cpu: AuthenticAMD family 0x[0-9a-f]+ model 0x[0-9a-f]+ stepping \d+: "
                        r".+", cpu_lines[0]), cpu_lines
    assert len(cpu_lines) == 2 and re.fullmatch("cpu: " + svm_re, cpu_lines[1]), cpu_lines
    if case == "no-svm":
        assert ("boot", "warn") == next(e[1:3] for e in entries(q.output())
                                        if e[3] == cpu_lines[1])


def test_ready_exactly_once(default_boot):
    out = default_boot.output()
    assert count_ready(out) == 1, default_boot.describe()
    assert default_boot.alive(), "QEMU exited after ready\n" + default_boot.describe()
    assert "boot    info  ready" in out
    assert not entries(out, level="error"), default_boot.describe()


def test_default_log_levels_have_no_debug(default_boot):
    assert not entries(default_boot.output(), level="debug")


# ---- PCI ------------------------------------------------------------------------------------

PCI_RE = re.compile(r"([0-9a-f]{2}):([0-9a-f]{2})\.([0-7]) ([0-9a-f]{4}):([0-9a-f]{4}) class "
                    r"([0-9a-f]{2})\.([0-9a-f]{2})\.([0-9a-f]{2}) (.*)")
BAR_RE = re.compile(r" bar(\d) (io|mem|mem64) 0x([0-9a-f]+)/0x([0-9a-f]+)")


def kernel_pci(out):
    """The kernel's PCI list: {bdf: (vendor, device, class, subclass, irq, {bar: (kind, addr,
    size)})} from its pci log lines, checked against its 'N PCI functions' line."""
    lines = texts(out, "pci", "info")
    m = re.fullmatch(r"(\d+) PCI functions", lines[0])
    assert m, lines
    devs = {}
    for line in lines[1:]:
        d = PCI_RE.fullmatch(line)
        assert d, f"unexpected pci line: {line!r}"
        rest = d.group(9)  # class name, then ' irq N' and ' barN KIND ADDR/SIZE'
        irq = re.search(r" irq (\d+)", rest)
        bars = {int(b[0]): (b[1], int(b[2], 16), int(b[3], 16)) for b in BAR_RE.findall(rest)}
        bdf = (int(d.group(1), 16), int(d.group(2), 16), int(d.group(3), 16))
        devs[bdf] = (int(d.group(4), 16), int(d.group(5), 16), int(d.group(6), 16),
                     int(d.group(7), 16), int(irq.group(1)) if irq else None, bars)
    assert len(devs) == int(m.group(1)), lines
    return devs


def qemu_pci(q):
    """The same view from QEMU's own device model (QMP query-pci)."""
    devs = {}
    for bus in q.qmp("query-pci"):
        for d in bus["devices"]:
            cls = d["class_info"]["class"]
            irq = d.get("irq") if d.get("irq_pin") and d.get("irq", 255) != 255 else None
            bars = {}
            for r in d["regions"]:
                if r["bar"] >= 6:  # the expansion ROM, not a BAR the kernel lists
                    continue
                kind = "io" if r["type"] == "io" else ("mem64" if r.get("mem_type_64") else "mem")
                bars[r["bar"]] = (kind, r["address"], r["size"])
            devs[(d["bus"], d["slot"], d["function"])] = (d["id"]["vendor"], d["id"]["device"],
                                                          cls >> 8, cls & 0xFF, irq, bars)
    return devs


NICS = {"10ec:8139": "rtl8139", "10ec:8029": "ne2k_pci"}


@pytest.mark.parametrize("with_nics", [False, True], ids=["no-nics", "rtl8139+ne2k"])
def test_pci_list_matches_qemu(with_nics, boot, default_boot):
    if with_nics:
        q = boot(extra_args=["-device", "rtl8139", "-device", "ne2k_pci"], qmp=True)
        q.wait_ready()
    else:
        q = default_boot
    out = q.output()
    assert kernel_pci(out) == qemu_pci(q)
    for ids in NICS:
        eth = [t for t in texts(out, "pci") if re.match(rf"\S+ {ids} class 02\.00\.00 ethernet ",
                                                        t)]
        assert len(eth) == (1 if with_nics else 0), texts(out, "pci")
    if not with_nics:
        assert "10ec:" not in out


# ---- command line ---------------------------------------------------------------------------

BAD_CMDLINE = "foo log=nosuch:debug bar=1 test.fault=bogus log=pit:loud"
BAD_WARNINGS = [
    "cmdline: unknown key 'foo', ignored",
    "cmdline: bad value for 'log': unknown component 'nosuch'",
    "cmdline: unknown key 'bar', ignored",
    "cmdline: bad value for 'test.fault': expected test.fault=ud|pf|gp|de|panic",
    "cmdline: bad value for 'log': unknown level 'loud'",
    "cmdline: 5 problem(s), see above",
]


@pytest.fixture(scope="module")
def bad_cmdline_boot(module_boot, iso_factory):
    q = module_boot(iso=iso_factory(BAD_CMDLINE), name="badcmd")
    q.wait_ready()
    return q


@pytest.mark.parametrize("warning", BAD_WARNINGS)
def test_bad_cmdline_warns(warning, bad_cmdline_boot):
    assert warning in texts(bad_cmdline_boot.output(), "boot", "warn")


def test_bad_cmdline_still_boots(bad_cmdline_boot):
    out = bad_cmdline_boot.output()
    assert f"cmdline: {BAD_CMDLINE}" in texts(out, "boot", "info")
    # The warnings come in command-line order, right after the echo of the line.
    assert texts(out, "boot", "warn")[:len(BAD_WARNINGS)] == BAD_WARNINGS
    assert count_ready(out) == 1
    # Rejected items change nothing: no fault was raised, no level was raised.
    assert not entries(out, level="debug")
    assert not entries(out, "test")


def pit_debug(out):
    return texts(out, "pit", "debug")


def test_log_cmdline_enables_pit_debug(boot, iso_factory, default_boot):
    q = boot(iso=iso_factory("log=pit:debug"))
    q.wait_ready()
    out = q.output()
    assert any(re.fullmatch(r"channel 2 one-shot: \d+ us, count \d+", t) for t in pit_debug(out)), \
        q.describe()
    # Only the named component changes level.
    assert {e[1] for e in entries(out, level="debug")} == {"pit"}
    assert not pit_debug(default_boot.output())


@pytest.fixture(scope="module")
def debug_pit_iso(tmp_path_factory):
    """An ISO built from this tree with `make DEBUG_PIT=1` into its own BUILD dir."""
    if shutil.which("make") is None:
        pytest.skip("make not installed")
    build = tmp_path_factory.mktemp("debug-pit") / "b"
    cmd = ["make", "-C", str(REPO), "-j2", f"BUILD={build}", "DEBUG_PIT=1",
           f"THIRD_PARTY={REPO / 'build' / 'third_party'}", "iso"]
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(cmd)} took over {BUILD_TIMEOUT:.0f} s")
    if r.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout[-3000:]}"
                    f"{r.stderr[-3000:]}")
    return build / "petrel.iso"


def test_debug_pit_build(boot, debug_pit_iso, default_boot):
    q = boot(iso=debug_pit_iso)
    q.wait_ready()
    out = q.output()
    assert any(t.startswith("channel 2 one-shot: ") for t in pit_debug(out)), q.describe()
    assert {e[1] for e in entries(out, level="debug")} == {"pit"}
    assert not pit_debug(default_boot.output())


# ---- fault dumps ----------------------------------------------------------------------------

FAULTS = {
    "ud": r"#UD invalid opcode \(vector 6, error 0\)",
    "pf": r"#PF page fault \(vector 14, error 0\)",
    "gp": r"#GP general protection \(vector 13, error 0\)",
    "de": r"#DE divide error \(vector 0, error 0\)",
    "panic": r"test\.fault=panic requested on the command line",
}


def function_at(kernel, addr):
    """Function names (innermost first, inlined frames included) for a kernel address."""
    if shutil.which("addr2line") is None:
        pytest.skip("addr2line (binutils) not installed")
    r = subprocess.run(["addr2line", "-f", "-i", "-e", str(kernel), f"{addr:#x}"],
                       capture_output=True, text=True, timeout=30, check=True)
    return r.stdout.splitlines()[0::2]


@pytest.mark.parametrize("kind", FAULTS)
def test_fault_dump(kind, boot, iso_factory, petrel_kernel):
    q = boot(iso=iso_factory(f"test.fault={kind}"))
    q.wait_for(qm.HALTED_RE)
    out = q.output()
    assert q.alive(), "QEMU exited instead of halting\n" + q.describe()
    assert count_ready(out) == 0, q.describe()
    assert any(t.startswith(f"test.fault={kind}: ") for t in texts(out, "test", "warn"))

    def dump(regex):
        m = re.search(rf"^{regex}$", out, re.MULTILINE)
        assert m, f"no line /{regex}/\n{q.describe()}"
        return m

    if kind == "panic":
        dump(rf"KERNEL PANIC: {FAULTS[kind]}")
    else:
        dump(rf"KERNEL FAULT: {FAULTS[kind]}")
    rip = dump(rf"RIP=({HEX16}) CS=([0-9a-f]{{4}}) RFLAGS=({HEX16})")
    rsp = dump(rf"RSP=({HEX16}) SS=([0-9a-f]{{4}})")
    dump(rf"RAX={HEX16} RBX={HEX16} RCX={HEX16} RDX={HEX16}")
    dump(rf"RSI={HEX16} RDI={HEX16} RBP={HEX16}")
    dump(rf"R8 ={HEX16} R9 ={HEX16} R10={HEX16} R11={HEX16}")
    dump(rf"R12={HEX16} R13={HEX16} R14={HEX16} R15={HEX16}")
    cr = dump(rf"CR0=({HEX16}) CR2=({HEX16}) CR3=({HEX16}) CR4=({HEX16})")
    efer = dump(rf"EFER=({HEX16})")

    cr0, cr2, cr3, cr4 = (int(cr.group(i), 16) for i in range(1, 5))
    assert cr0 & 0x80000001 == 0x80000001  # PG, PE: long mode paging
    assert cr4 & 0x20 and cr3 != 0 and cr3 % 4096 == 0  # PAE, a page-aligned PML4
    assert int(efer.group(1), 16) & 0x500 == 0x500  # LME, LMA
    assert int(rsp.group(1), 16) != 0
    rip_val = int(rip.group(1), 16)
    if kind == "panic":
        dump(r"petrel: PANIC: test\.fault=panic requested on the command line")
        # panic() records its return address: the call is the byte before it.
        rip_val -= 1
    assert (rip.group(2), rsp.group(2)) == ("0008", "0010"), "kernel CS/SS expected"
    assert "run_test_fault" in function_at(petrel_kernel, rip_val), \
        f"RIP {rip_val:#x} is not in run_test_fault"
    if kind == "pf":
        assert cr.group(2) == "0000100000000000"


# ---- tools/run ------------------------------------------------------------------------------

class RunScript(qm.Qemu):
    """tools/run with its console (stdout) captured to the serial file."""

    serial_on_stdout = True

    def __init__(self, workdir, args):
        super().__init__(REPO / "build" / "petrel.iso", workdir, name="run")
        self.args = list(args)

    def command(self):
        return [str(REPO / "tools" / "run")] + self.args


def test_tools_run_help():
    r = subprocess.run([str(REPO / "tools" / "run"), "--help"], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0 and "--nic rtl8139|ne2k|virtio|none" in r.stdout and "Ctrl-A X" in r.stdout


def test_tools_run_errors(tmp_path):
    run = str(REPO / "tools" / "run")
    for args, msg in [(["--iso", str(tmp_path / "none.iso")], "not found"),
                      (["--nic", "e1000"], "unknown --nic"),
                      (["--mem", "lots"], "--mem wants a number")]:
        r = subprocess.run([run] + args, capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        assert r.returncode != 0 and msg in r.stderr, (args, r.stderr)


@pytest.mark.parametrize("nic", ["rtl8139", "ne2k", "none"])
def test_tools_run_boots(nic, tmp_path, petrel_iso, request):
    q = RunScript(tmp_path, ["--nic", nic, "--mem", "256"])
    request.addfinalizer(q.stop)
    q.start()
    q.wait_ready()
    out = q.output()
    want = {"rtl8139": "10ec:8139", "ne2k": "10ec:8029", "none": None}[nic]
    for ids in NICS:
        assert (f" {ids} class 02.00.00 ethernet" in out) == (ids == want), q.describe()
    assert re.search(r"memory: 2[0-9]{2} MiB usable", out)


def test_tools_run_ctrl_a_x_quits(petrel_iso):
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(str(REPO / "tools" / "run"), ["--nic", "none"], timeout=qm.READY_TIMEOUT,
                          encoding="utf-8", codec_errors="replace")
    try:
        child.expect_exact("petrel: ready")
        child.send("\x01x")
        child.expect(pexpect.EOF, timeout=30 * qm.TIMEOUT_SCALE)
    finally:
        child.close(force=True)
    assert "QEMU: Terminated" in child.before
