"""System tests of petrel.conf and the device test guests: ISOs made with `tools/mkiso -c` boot
Petrel in QEMU; the guests come from [vm] sections, and the log shows the file's problems line
by line, what was skipped, and each guest's result.

One boot runs the device guests (PIT rate against the RTC, PIC masking and EOI, CMOS, MMIO with
paging off and on, HLT wake-up, a flat image) side by side from one config that also holds
mistakes; a few more boots check that the command line wins, that a module missing from the
ISO skips only its VM, and that a file of garbage cannot stop the appliance. tools/mkiso's own
refusals need no boot.

PETREL_KERNEL and PETREL_GUESTS point the tests at another build (default build/petrel.elf
and build/guests)."""

import os
import re
import subprocess
from pathlib import Path

import pytest

import qemu as qm

REPO = qm.REPO
GUESTS = Path(os.environ.get("PETREL_GUESTS", REPO / "build" / "guests"))
KERNEL = Path(os.environ.get("PETREL_KERNEL", REPO / "build" / "petrel.elf"))
VM_TIMEOUT = 60.0 * qm.TIMEOUT_SCALE
MKISO = REPO / "tools" / "mkiso"

# The shared boot's config. Line numbers matter: the tests below name them.
SHARED_CONF = """\
# petrel.conf for the system tests
[appliance]
log = pit:info
bogus.key = 1

[vnet]
route = 10.1.0.0/16 -> link0

[vm pit]
kernel = pit_rate.bin

[vm pic]
kernel = pic_mask.bin

[vm cmos]
memory = 64M
kernel = cmos.bin

[vm mmio]
kernel = mmio.bin   # paging off, then on

[vm hlt]
kernel = hlt_timer.bin

[vm flat]
flat = flat.bin
load = 0x100000
cmdline = "hello flat"

[vm parked]
kernel = hello.bin
autostart = no
console_port = 2301
nic = rtl8139

[vm typo]
memroy = 64M
kernel = hello.bin

[vm with space]
kernel = hello.bin
"""
SHARED_IMAGES = ["pit_rate.bin", "pic_mask.bin", "cmos.bin", "mmio.bin", "hlt_timer.bin",
                 "flat.bin", "hello.bin"]
# vm -> the exit code that means it passed (isa-debug-exit 0 -> 1; hypercall exit 0 -> 0).
SHARED_PASS = {"pit": 1, "pic": 1, "cmos": 1, "mmio": 1, "hlt": 0, "flat": 0}


def need(path, what):
    if not path.is_file():
        pytest.skip(f"{what} {path} does not exist: run 'make' and 'make guests' first")
    return path


def mkiso(out, conf=None, images=(), cmdline="", extra_modules=()):
    """Runs tools/mkiso -c with the config text written next to the images; returns the
    CompletedProcess (the caller checks returncode)."""
    out = Path(out)
    d = out.parent / (out.stem + "-files")
    d.mkdir(parents=True, exist_ok=True)
    for img in images:
        src = need(GUESTS / img, "guest")
        (d / img).write_bytes(src.read_bytes())
    cmd = [str(MKISO), "--kernel", str(need(KERNEL, "kernel")), "--cmdline", cmdline,
           "-o", str(out)]
    if conf is not None:
        conf_path = d / "petrel.conf"
        conf_path.write_bytes(conf if isinstance(conf, bytes) else conf.encode())
        cmd += ["-c", str(conf_path)]
    for m in extra_modules:
        cmd += ["-m", str(m)]
    return subprocess.run(cmd, cwd=d, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=120)


def conf_iso(out, conf, images, cmdline=""):
    r = mkiso(out, conf, images, cmdline)
    assert r.returncode == 0, r.stdout + r.stderr
    return Path(out)


def vm_line(vm, text):
    return rf"\[{re.escape(vm)}\] vm {re.escape(vm)}: {text}"


def vm_ended(vm):
    return vm_line(vm, r"(exited with code -?\d+|fail stop: .*|stopped: .*)")


def conf_line(line, text):
    """A regex for `config: petrel.conf:LINE: text` (text is a regex)."""
    return rf"config: petrel\.conf:{line}: {text}"


def counters(out, vm):
    m = re.search(vm_line(vm, r"(\d+) exits, \d+ us in guest, \d+ us in vmm:(.*)"), out,
                  re.MULTILINE)
    assert m, f"no counters line for {vm}"
    res = {"total": int(m.group(1))}
    for name, n in re.findall(r" ([a-z#][a-z0-9 ]*?) (\d+)", m.group(2)):
        res[name] = int(n)
    return res


@pytest.fixture(scope="module")
def shared(module_boot, tmp_path_factory):
    iso = conf_iso(tmp_path_factory.mktemp("conf") / "shared.iso", SHARED_CONF, SHARED_IMAGES)
    q = module_boot(iso=iso, name="conf-shared")
    q.wait_ready()
    for vm in SHARED_PASS:
        q.wait_for(vm_ended(vm), timeout=VM_TIMEOUT)
    assert q.alive(), q.describe()
    return q, q.output()


def test_guests_pass(shared):
    """Every device guest started from the config ran to its passing exit code."""
    _, out = shared
    for vm, code in SHARED_PASS.items():
        assert re.search(vm_line(vm, rf"exited with code {code}$"), out, re.MULTILINE), \
            (vm, re.findall(vm_line(vm, ".*"), out, re.MULTILINE))
    assert "KERNEL FAULT" not in out


def test_pit_rate_against_rtc(shared):
    _, out = shared
    m = re.search(vm_line("pit", r"pit: (\d+) irq0 in 2 rtc seconds"), out, re.MULTILINE)
    assert m, re.findall(vm_line("pit", ".*"), out, re.MULTILINE)
    assert 160 <= int(m.group(1)) <= 240
    assert re.search(vm_line("pit", "pit rate ok"), out, re.MULTILINE)


def test_pic_masking_and_eoi(shared):
    _, out = shared
    assert re.search(vm_line("pic", "pic masking and eoi ok"), out, re.MULTILINE)


def test_cmos_matches_vm_memory(shared):
    """memory = 64M: 63 MiB above 1 MiB in 0x17/0x18, 48 MiB above 16 MiB in 64 KiB units."""
    _, out = shared
    assert re.search(vm_line("cmos", r"created: 64 MiB RAM"), out, re.MULTILINE)
    assert re.search(vm_line("cmos", r"cmos: ext KiB 64512, above 16 MiB 768 x 64 KiB, "
                                     r"date 20\d\d-\d\d-\d\d \d\d:\d\d:\d\d"), out, re.MULTILINE)
    assert re.search(vm_line("cmos", "cmos ok"), out, re.MULTILINE)


def test_mmio_paging_off_and_on(shared):
    _, out = shared
    assert re.search(vm_line("mmio", "mmio: paging off ok"), out, re.MULTILINE)
    assert re.search(vm_line("mmio", r"mmio: paging on ok"), out, re.MULTILINE)
    # Every MMIO access is a nested page fault the emulator finished.
    assert counters(out, "mmio").get("npf", 0) >= 60, counters(out, "mmio")


def test_hlt_and_flat_from_config(shared):
    _, out = shared
    assert re.search(vm_line("hlt", "woke up 10 times"), out, re.MULTILINE)
    assert re.search(vm_line("flat", "flat binary ok"), out, re.MULTILINE)
    assert re.search(vm_line("flat", r"created: .*entry 0x100000"), out, re.MULTILINE)


def test_all_devices_present(shared):
    _, out = shared
    for vm in SHARED_PASS:
        assert re.search(vm_line(vm, r"created: .* 10 devices"), out, re.MULTILINE), vm


def test_autostart_no_and_kept_keys(shared):
    """A VM with autostart = no is created and left for the console; its nic line is kept
    (said once), and it never runs."""
    _, out = shared
    assert re.search(vm_line("parked", r"created: 16 MiB RAM"), out, re.MULTILINE)
    assert re.search(vm_line("parked", r"created, not started \(autostart = no\)"), out,
                     re.MULTILINE)
    assert not re.search(vm_line("parked", "started$"), out, re.MULTILINE)
    assert not re.search(vm_line("parked", "hello from guest"), out, re.MULTILINE)
    assert re.search(conf_line(30, r"\[vm parked\] 1 nic line kept for VNET"), out)


def test_bad_lines_reported_and_skipped(shared):
    """Mistakes are reported with their line; the section with one is skipped whole; the rest
    of the file applies."""
    _, out = shared
    assert re.search(conf_line(4, r"unknown key 'bogus.key' in \[appliance\]"), out)
    assert re.search(conf_line(3, r"applied 'log'"), out)
    assert re.search(conf_line(7, r"\[vnet\] route: .* skipped"), out)
    assert re.search(conf_line(37, r"unknown key 'memroy' in \[vm typo\]"), out)
    assert re.search(conf_line(36, r"\[vm typo\] skipped: 1 error in its section"), out)
    assert re.search(conf_line(40, r"\[vm with space\] skipped: a VM name is"), out)
    assert re.search(r"config: petrel\.conf: 3 problems \(see above\): 7 VMs kept, 2 skipped", out)
    assert not re.search(r"\[typo\]", out)
    assert len(re.findall(qm.READY_RE, out, re.MULTILINE)) == 1


def test_command_line_wins(boot, tmp_path):
    """A key on both the command line and in [appliance] keeps the command line's value, and
    a vm= key wins over a [vm] section of the same name."""
    conf = ("[appliance]\n"
            "log = vmm:debug\n"
            "[vm dup]\n"
            "kernel = flat.bin\n"
            "[vm other]\n"
            "kernel = hello.bin\n")
    iso = conf_iso(tmp_path / "wins.iso", conf, ["hello.bin", "flat.bin"],
                   cmdline="log=vmm:info vm=dup:hello.bin")
    q = boot(iso=iso, name="wins")
    q.wait_ready()
    for vm in ("dup", "other"):
        q.wait_for(vm_line(vm, r"exited with code 0"), timeout=VM_TIMEOUT)
    out = q.output()
    assert re.search(conf_line(2, r"'log' is also on the command line, which wins: skipped"), out)
    assert not re.search(r"vmm\s+debug", out)
    assert re.search(conf_line(3, r"\[vm dup\] skipped: the command line's vm=dup key wins"), out)
    assert re.search(vm_line("dup", "hello from guest"), out, re.MULTILINE)


def test_image_missing_from_iso(boot, tmp_path):
    """A config put on an ISO without its images (as a plain -m module): the VM whose image
    is not a boot module is skipped with its line; the others run."""
    conf = tmp_path / "conf.txt"
    conf.write_text("[vm gone]\nkernel = nothere.bin\n[vm here]\nkernel = hello.bin\n")
    r = mkiso(tmp_path / "gone.iso", None, [], "",
              extra_modules=[f"{conf}=petrel.conf", need(GUESTS / "hello.bin", "guest")])
    assert r.returncode == 0, r.stderr
    q = boot(iso=tmp_path / "gone.iso", name="gone")
    q.wait_ready()
    q.wait_for(vm_line("here", r"exited with code 0"), timeout=VM_TIMEOUT)
    out = q.output()
    assert re.search(conf_line(2, r"\[vm gone\] skipped: image 'nothere.bin' is not a boot "
                                  r"module"), out)
    assert not re.search(r"\[gone\] vm gone: created", out)


def test_garbage_file_does_not_stop_the_appliance(boot, tmp_path):
    """Hostile input: binary junk, NULs, an endless line, an unterminated header and quote;
    the problems are reported (capped), the appliance boots and the valid section runs."""
    junk = bytes(range(256)) * 8 + b"\n" + b"x" * 5000 + b"\n[vm\n" + b'a = "open\n' + \
        b"\x00\x00\n[appliance]\n" + b"junk\n" * 100 + b"[vm ok]\nkernel = hello.bin\n"
    iso = conf_iso(tmp_path / "junk.iso", junk, ["hello.bin"])
    q = boot(iso=iso, name="junk")
    q.wait_ready()
    q.wait_for(vm_line("ok", r"exited with code 0"), timeout=VM_TIMEOUT)
    out = q.output()
    assert re.search(r"config: petrel\.conf:\d+: line longer than 1023 characters", out)
    assert re.search(r"config: petrel\.conf: \d+ more problems not shown", out)
    assert len(re.findall(r"config: petrel\.conf:\d+: ", out)) <= 64 + 2
    assert "KERNEL FAULT" not in out
    assert q.alive()


def test_mkiso_refuses_missing_image(tmp_path):
    conf = "[vm a]\nkernel = hello.bin\n\n# the second guest\n[vm b]\n\nkernel = nope.bin\n" \
           "initrd = ../etc/passwd\n"
    r = mkiso(tmp_path / "refused.iso", conf, ["hello.bin"])
    assert r.returncode != 0
    assert re.search(r"mkiso: \S*petrel\.conf:7: image 'nope\.bin' not found", r.stderr), r.stderr
    assert re.search(r"mkiso: \S*petrel\.conf:8: initrd '\.\./etc/passwd' is not a module name",
                     r.stderr), r.stderr
    assert not (tmp_path / "refused.iso").exists()


def test_mkiso_takes_images_from_m_and_config_dir(tmp_path):
    """An image given with -m is used under its name; the others come from the config's
    directory; each lands once as a module named as in the config."""
    conf = "[vm a]\nkernel = hello.bin\n[vm b]\nkernel = \"spin.bin\" # quoted\n" \
           "[vm c]\nkernel = hello.bin\n"
    r = mkiso(tmp_path / "ok.iso", conf, ["spin.bin"],
              extra_modules=[need(GUESTS / "hello.bin", "guest")])
    assert r.returncode == 0, r.stderr
    listing = subprocess.run(["xorriso", "-indev", str(tmp_path / "ok.iso"), "-find",
                              "/boot/modules", "-type", "f"], capture_output=True, text=True,
                             timeout=60, stdin=subprocess.DEVNULL)
    names = sorted(Path(p.strip("'")).name for p in listing.stdout.split())
    assert names == ["hello.bin", "petrel.conf", "spin.bin"], listing.stdout
