"""Shared pieces of the namespace-lab system tests: the lab fixture (a fresh lab per module,
torn down and checked gone afterwards), the appliance booted on the lab's TAP, and a Linux
guest's shell reached through the appliance's telnet console (`console NAME`).

Kept apart from netlab.py, which is also a command-line tool and does not depend on pytest."""

import re
import secrets
import sys

import pytest

import netlab
import qemu as qm
from test_net import ADDRESS_RE, ADDRESS_TIMEOUT, need

GUEST_PROMPT = r"petrel-guest:[^\r\n]*# "  # the guest's shell prompt (tools/mkguest-linux)


def lab_fixture(hosts=2, dhcp=False, tools=("ip",), mtu=None, no_tcp_metrics=False):
    """A module-scoped `lab` fixture: netlab.Lab(hosts, dhcp) brought up (lab MTU `mtu` if
    given), yielded to the module's tests, then taken down; the teardown fails the module if
    any of it is left. Skipped without root or without one of `tools`."""

    @pytest.fixture(scope="module")
    def lab():
        if not netlab.is_root():
            pytest.skip("the namespace lab needs root")
        for tool in tools:
            need(tool)
        netlab.reap_stale_labs()
        lab = netlab.Lab(hosts=hosts, dhcp=dhcp)
        print(f"lab {lab.name}", file=sys.stderr)
        try:
            lab.up()
            if mtu:
                lab.set_mtu(mtu)
            if no_tcp_metrics:
                lab.no_tcp_metrics()
            yield lab
        finally:
            problems = lab.down()
            assert not lab.exists(), f"lab {lab.name} is still there"
            leftovers = [ns for ns in netlab.netns_list() if ns.startswith(lab.name)]
            assert not leftovers, leftovers
            assert not problems, problems

    return lab


def boot_on_tap(request, lab, iso, workdir, name, nic="rtl8139", extra=(),
                address_timeout=ADDRESS_TIMEOUT):
    """Boots `iso` with tools/run on the lab's TAP (NIC model `nic`, more tools/run arguments
    in `extra`) and waits until the appliance is ready and has its address; the QEMU is
    stopped when the requesting fixture's scope ends."""
    q = netlab.run_qemu_class(qm)(iso, workdir, [*extra, "--nic", nic, "--tap", lab.tap,
                                                 "--netns", lab.name], name=name)
    request.addfinalizer(q.stop)
    q.start()
    q.wait_ready()
    q.wait_for(ADDRESS_RE, address_timeout)
    return q


class GuestShell:
    """A guest's serial-console shell through the appliance's telnet console: `telnet -E`
    (no escape character, so nothing sent is taken as a telnet command) run by `argv`'s
    prefix, a password login, then `console VM`. Ctrl-] detaches again."""

    def __init__(self, argv, vm, password, timeout):
        import pexpect

        self.pexpect = pexpect
        self.vm = vm
        self.timeout = timeout
        self.child = pexpect.spawn(argv[0], argv[1:], encoding="utf-8", codec_errors="replace",
                                   timeout=timeout)
        self.log = []
        self.child.logfile_read = self
        self.child.expect(r"Password: ?")
        self.child.sendline(password)
        self.child.expect(netlab.Console.PROMPT)
        self.child.sendline(f"console {vm}")
        self.child.expect(rf"attached to {re.escape(vm)}'s console")
        self.n = 0
        self.tag = None
        # The attach replays the console's recent output (old prompts too): the first command's
        # end marker gets past it. A wide terminal keeps long command lines on one line.
        self.check("true")
        self.check("stty cols 1000")

    # pexpect's logfile interface: what the session printed, for failure messages.
    def write(self, s):
        self.log.append(s)

    def flush(self):
        pass

    def transcript(self, tail=3000):
        return "".join(self.log)[-tail:]

    def start(self, line):
        """Types one shell line into the guest without waiting; finish() waits for it. The end
        marker is typed with quotes that the echo keeps and the output does not."""
        self.n += 1
        self.tag = f"{secrets.token_hex(3)}{self.n}"
        self.child.send(f"{line}; echo E''ND-{self.tag} $?\r")

    def finish(self, timeout=None):
        """Waits for the line start() typed; returns (exit status, output without the echo)."""
        timeout = timeout or self.timeout
        self.child.expect(rf"END-{self.tag} (\d+)", timeout=timeout)
        out = self.child.before.replace("\r", "")
        status = int(self.child.match.group(1))
        self.child.expect(GUEST_PROMPT, timeout=timeout)
        return status, out.split("\n", 1)[1] if "\n" in out else ""

    def run(self, line, timeout=None):
        """Runs one shell line in the guest; returns (exit status, output)."""
        self.start(line)
        return self.finish(timeout)

    def check(self, line, timeout=None):
        """Runs one shell line that must succeed; returns its output."""
        status, out = self.run(line, timeout)
        assert status == 0, f"{self.vm}: '{line}' exited {status}:\n{self.transcript()}"
        return out

    def ping(self, target, count=5):
        """busybox ping from the guest; returns (sent, received, output)."""
        _, out = self.run(f"ping -c {count} -W 3 {target}",
                          timeout=self.timeout + 4 * count * qm.TIMEOUT_SCALE)
        m = re.search(r"(\d+) packets transmitted, (\d+) packets received", out)
        assert m, f"no ping summary from {self.vm}:\n{out}"
        return int(m.group(1)), int(m.group(2)), out

    def close(self):
        try:
            self.child.sendcontrol("]")  # the appliance detaches
            self.child.expect(netlab.Console.PROMPT, timeout=10)
            self.child.sendline("exit")
            self.child.expect(self.pexpect.EOF, timeout=10)
        except Exception:  # noqa: BLE001 (best effort: the session may be gone already)
            pass
        self.child.close(force=True)
