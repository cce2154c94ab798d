"""The interactive console (libedit) against a real arsec-control, driven through tmux.

`arsec --socket PATH` with no command is the console: it asks `login:` and `Password:`
(without echo), prints the AR's `Manager > ` prompt, completes on TAB, lists what may
follow on `?`, keeps commands in ~/.arsec_history except those that carry a password,
and ends on LOGOFF. The tmux server is a private one (-L), and its session is killed by
name when the test ends, pass or fail.
"""

import os
import re
import shlex
import shutil
import subprocess
import time

import pytest

import netlab
from netlab import FAR_NET, PASSWORD, USER

NEW_USER_PW = "TmuxSecret-93"


class Tmux:
    def __init__(self, name: str):
        self.server = name          # -L: a tmux server of our own
        self.session = name

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-L", self.server, *args], capture_output=True,
                              text=True, timeout=20, check=check)

    def start(self, argv: list, env: dict, status: "os.PathLike") -> None:
        """Runs argv in a new pane; its exit status lands in the file `status` (tmux's
        own pane_dead_status was seen staying empty under load)."""
        inner = " ".join(shlex.quote(a) for a in
                         ["env", *[f"{k}={v}" for k, v in env.items()], *argv])
        cmd = f"sh -c {shlex.quote(f'{inner}; echo $? > {shlex.quote(str(status))}')}"
        self.run("new-session", "-d", "-s", self.session, "-x", "160", "-y", "200", cmd)
        self.run("set-option", "-t", self.session, "remain-on-exit", "on")

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.run("send-keys", "-t", self.session, *(["-l"] if literal else []), *keys)

    def type(self, text: str) -> None:
        self.keys(text, literal=True)

    def screen(self) -> str:
        # The pane's empty rows below the cursor are dropped, so that offsets into one
        # capture point at the same text in the next.
        out = self.run("capture-pane", "-p", "-J", "-S", "-", "-t", self.session).stdout
        return "\n".join(l.rstrip() for l in out.rstrip().splitlines())

    def wait_for(self, pattern: str, timeout: float = 15, after: int = 0) -> str:
        """Waits until `pattern` (a regex) shows on the screen past offset `after`."""
        end = time.time() + timeout
        text = ""
        while time.time() < end:
            text = self.screen()
            if re.search(pattern, text[after:], re.M):
                return text
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} did not appear; screen:\n{text}")

    def pane(self, fmt: str) -> str:
        return self.run("display-message", "-p", "-t", self.session, fmt).stdout.strip()

    def kill(self) -> None:
        """Kills our session by name; the private server then exits, and its socket
        file goes with it."""
        self.run("kill-session", "-t", self.session, check=False)
        sock = self.run("display-message", "-p", "#{socket_path}", check=False).stdout.strip()
        if self.run("has-session", "-t", self.session, check=False).returncode != 0:
            path = sock or os.path.join(os.environ.get("TMUX_TMPDIR", "/tmp"),
                                        f"tmux-{os.getuid()}", self.server)
            try:
                os.unlink(path)
            except OSError:
                pass


@pytest.fixture
def tmux(request):
    if not shutil.which("tmux"):
        pytest.skip("tmux is not installed")
    t = Tmux(f"arsec-t{os.getpid()}-console")
    yield t
    t.kill()


def test_interactive_console(lab, tmux, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    status = tmp_path / "exit-status"
    tmux.start([str(netlab.CLI), "--socket", str(lab.socket)],
               {"HOME": str(home), "TERM": "xterm", "LANG": "C.UTF-8"}, status)

    tmux.wait_for(r"login: ?$")
    tmux.type(USER)
    tmux.keys("Enter")
    tmux.wait_for(r"Password: ?$")
    tmux.type(PASSWORD)
    tmux.keys("Enter")
    screen = tmux.wait_for(r"^Manager >\s*$")
    assert PASSWORD not in screen, f"the password was echoed:\n{screen}"

    # An abbreviated command and its table.
    mark = len(screen)
    tmux.type("sh ip ro")
    tmux.keys("Enter")
    screen = tmux.wait_for(rf"^{re.escape(FAR_NET)}\s", after=mark)
    assert re.search(r"^Manager > sh ip ro$", screen, re.M), screen

    # TAB lists the candidates after "add ip ".
    mark = len(tmux.wait_for(r"^Manager >\s*$", after=mark))
    tmux.type("add ip ")
    tmux.keys("Tab")
    screen = tmux.wait_for(r"ARP=", after=mark)
    tail = screen[mark:]
    for cand in ("INTERFACE=", "ROUTE=", "ARP="):
        assert cand in tail, tail
    tmux.keys("C-c")          # abandon the line

    # `?` on an empty line lists the first words with their help.
    mark = len(tmux.wait_for(r"^Manager >\s*$", after=mark))
    tmux.type("?")
    screen = tmux.wait_for(r"^\s+SHOW\s+\S", after=mark)
    tail = screen[mark:]
    for word in ("ADD", "CREATE", "LOGOFF"):
        assert re.search(rf"^\s+{word}\s", tail, re.M), tail
    tmux.keys("C-c")

    # A command with a password runs but stays out of the history file.
    mark = len(tmux.wait_for(r"^Manager >\s*$", after=mark))
    tmux.type(f"add user=tmuxuser pass={NEW_USER_PW} priv=user")
    tmux.keys("Enter")
    tmux.wait_for(r"Info \(\d{6}\): Operation successful", after=mark)
    assert lab.cli("SHOW IP ROUTE", user="tmuxuser", password=NEW_USER_PW).ok

    mark = len(tmux.wait_for(r"^Manager >\s*$", after=mark))
    tmux.type("LOGOFF")
    tmux.keys("Enter")
    end = time.time() + 10
    while not (status.exists() and status.read_text().strip()) and time.time() < end:
        time.sleep(0.1)
    assert status.exists() and status.read_text().strip() == "0", tmux.screen()

    history = home / ".arsec_history"
    assert history.exists(), "no history file"
    raw = history.read_text()
    # libedit writes its history vis(3)-encoded: a blank is \040.
    text = raw + re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), raw)
    assert "sh ip ro" in text, raw
    for secret in (PASSWORD, NEW_USER_PW):
        assert secret not in text, f"{secret!r} in the history file:\n{text}"
    assert "tmuxuser" not in text, text      # the whole line is kept out
    assert oct(os.stat(history).st_mode & 0o777) == oct(0o600)
    screen = tmux.screen()
    assert PASSWORD not in screen.replace(f"pass={NEW_USER_PW}", ""), screen
