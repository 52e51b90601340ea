#!/usr/bin/python3
"""bench/petrel_console.py - run commands on Petrel's telnet console, or in a guest's shell behind
a VM console port, and print what they answered (for the bench scripts).

    petrel_console.py HOST PORT [--password-file F] [--guest] [--timeout S] CMD...

Appliance (default): logs in (the password from --password-file if the console asks for one; a
read-only console needs none), runs each CMD and prints "=== CMD" and its output.
--guest: PORT is a VM's console_port (petrel.conf): logs in with the password and runs each CMD
in the guest's shell (a token echoed after it ends each answer).
Every wait is bounded by --timeout seconds (per command); exit status 1 on a timeout, a closed
connection or a refused login, with the reason on stderr. Talks telnet by ignoring the
server's option negotiation (it answers nothing and strips IAC sequences).
"""

import argparse
import random
import re
import socket
import sys
import time

APPLIANCE_PROMPT = rb"petrel(\(ro\))?> "


def fail(msg):
    print(f"petrel_console.py: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


class Conn:
    def __init__(self, host, port, timeout):
        self.timeout = timeout
        try:
            self.s = socket.create_connection((host, port), timeout=timeout)
        except OSError as e:
            fail(f"cannot connect to {host}:{port}: {e}")
        self.buf = b""

    def _clean(self):
        # IAC DO/DONT/WILL/WONT X, and the two-byte commands; IAC SB ... IAC SE is not used by
        # Petrel's console.
        self.buf = re.sub(rb"\xff[\xfb-\xfe].|\xff[\xf0-\xfa]", b"", self.buf)

    def until(self, patterns):
        """Reads until one of the regexes matches; returns (index, text before the match)."""
        pats = [re.compile(p, re.S) for p in patterns]
        end = time.monotonic() + self.timeout
        while True:
            self._clean()
            for i, p in enumerate(pats):
                m = p.search(self.buf)
                if m:
                    before = self.buf[:m.start()]
                    self.buf = self.buf[m.end():]
                    return i, before.decode("utf-8", "replace")
            left = end - time.monotonic()
            if left <= 0:
                fail(f"no {[p.pattern for p in pats]} within {self.timeout:.0f} s "
                     f"(got {self.buf[-300:]!r})")
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                continue
            except OSError as e:
                fail(f"connection error: {e}")
            if not chunk:
                fail(f"connection closed (got {self.buf[-300:]!r})")
            self.buf += chunk

    def send(self, text):
        self.s.sendall(text.encode() + b"\r\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--password-file")
    ap.add_argument("--guest", action="store_true")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("cmds", nargs="*")
    a = ap.parse_intermixed_args()
    password = None
    if a.password_file:
        with open(a.password_file, encoding="utf-8") as f:
            password = f.read().strip()

    c = Conn(a.host, a.port, a.timeout)
    i, text = c.until([rb"Password: ?", APPLIANCE_PROMPT, rb"refused|denied|too many"])
    if i == 2:
        fail(f"the console refused the session: {text[-200:]!r}")
    if i == 0:
        if password is None:
            fail("the console asks for a password: give --password-file")
        c.send(password)
        if not a.guest:
            # A VM console port shows the guest's output at once; the appliance its prompt.
            i, text = c.until([APPLIANCE_PROMPT, rb"Password: ?|incorrect|refused|denied"])
            if i == 1:
                fail(f"login refused: {text[-200:]!r}")
    elif a.guest:
        fail("a VM console port without a password prompt (read-only console?)")
    for cmd in a.cmds:
        if a.guest:
            # The console replays the guest's recent output, old prompts included, so the end of
            # an answer is a token the command prints (its echo reads differently: "@@""N").
            tok = str(random.randrange(10**8, 10**9))
            c.send(f'{cmd}; echo "@@""{tok}"')
            _, out = c.until([rb"\n@@" + tok.encode()])
            out = out.split("@@\"\"" + tok, 1)[-1]
        else:
            c.send(cmd)
            _, out = c.until([APPLIANCE_PROMPT])
        lines = out.replace("\r", "").replace("\0", "").split("\n")
        if lines and lines[0].strip().endswith(cmd.strip()):
            lines = lines[1:]
        print(f"=== {cmd}")
        print("\n".join(lines).rstrip("\n"), flush=True)
    try:
        if not a.guest:
            c.send("exit")
        c.s.close()
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
