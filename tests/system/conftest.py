"""Fixtures for the system tests: the built ISO and kernel, variant ISOs, and QEMU boots.

Nothing here builds the kernel: the tests boot build/petrel.iso (and variant ISOs made from
build/petrel.elf with tools/mkiso) and are skipped with a clear reason when `make` has not run.
PETREL_BUILD names another build directory (`make BUILD=...`); PETREL_KERNEL another kernel.
Every QEMU a fixture starts is stopped by a finalizer, whatever the test's outcome.
"""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import qemu as qemu_mod  # noqa: E402

REPO = qemu_mod.REPO
BUILD = Path(os.environ.get("PETREL_BUILD", REPO / "build")).resolve()


def _need(path, what):
    if not path.is_file():
        pytest.skip(f"{what} {path} does not exist: run 'make' first")
    return path


@pytest.fixture(scope="session")
def petrel_iso():
    """build/petrel.iso as made by `make` (never rebuilt here)."""
    return _need(BUILD / "petrel.iso", "ISO")


@pytest.fixture(scope="session")
def petrel_kernel():
    """build/petrel.elf (or PETREL_KERNEL), the kernel that variant ISOs are made from."""
    return _need(Path(os.environ.get("PETREL_KERNEL", BUILD / "petrel.elf")), "kernel")


@pytest.fixture(scope="session")
def iso_factory(tmp_path_factory, petrel_kernel):
    """make(cmdline, kernel=None) -> a variant ISO with that command line, built once per
    (kernel, cmdline) per session into a session tmp dir."""
    cache = {}
    root = tmp_path_factory.mktemp("isos")

    def make(cmdline, kernel=None):
        kernel = Path(kernel) if kernel else petrel_kernel
        key = (str(kernel), cmdline)
        if key not in cache:
            out = root / f"petrel-{len(cache)}.iso"
            cache[key] = qemu_mod.make_iso(out, cmdline=cmdline, kernel=kernel)
        return cache[key]

    return make


def _booter(workdir_factory, request, default_iso):
    started = []

    def boot(iso=None, extra_args=(), cpu=qemu_mod.DEFAULT_CPU, mem=qemu_mod.DEFAULT_MEM_MB,
             qmp=False, name=None, smp=None):
        name = name or f"qemu{len(started)}"
        q = qemu_mod.Qemu(iso or default_iso, workdir_factory(), extra_args=extra_args, cpu=cpu,
                          mem=mem, name=name, qmp=qmp, smp=smp)
        started.append(q)
        return q.start()

    def stop_all():
        for q in started:
            q.stop()

    request.addfinalizer(stop_all)
    return boot


@pytest.fixture
def boot(tmp_path, request, petrel_iso):
    """boot(iso=None, extra_args=(), cpu=..., mem=..., qmp=False) -> a started Qemu whose
    serial file is in the test's tmp dir; it is stopped when the test ends."""
    return _booter(lambda: tmp_path, request, petrel_iso)


@pytest.fixture(scope="module")
def module_boot(tmp_path_factory, request, petrel_iso):
    """Like boot, for module-scoped fixtures that share one boot among several tests."""
    return _booter(lambda: tmp_path_factory.mktemp("boot"), request, petrel_iso)


def pytest_report_header(config):
    iso = BUILD / "petrel.iso"
    return [f"petrel: ISO {iso} ({'present' if iso.is_file() else 'MISSING: run make'}), "
            f"timeout scale {qemu_mod.TIMEOUT_SCALE:g}"]
