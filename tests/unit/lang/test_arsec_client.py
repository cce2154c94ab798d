"""The arsec client against a small fake CLI server (protocol of common/cli_protocol.h).

Checks batch use (-c, -f, exit status, login sources, NOTE frames, protocol errors) at
the unit level; the real arsec-control is exercised by tests/integration. The last test
drives the interactive console in tmux: TAB completion, `?` help, history, LOGOFF.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

ARSEC = os.environ.get("ARSEC_BIN", os.path.join(os.path.dirname(__file__), "../../../build/cli/arsec"))


class FakeServer:
    """Accepts connections; LOGIN manager/friend; EXEC answers by the command's text."""

    def __init__(self, path, script=None):
        self.path = path
        self.frames = []          # (verb, body) received, in order
        self.script = script or {}
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(4)
        # accept() polls so close() can join the thread: a thread blocked in accept()
        # on a closed descriptor would steal the next server's connections.
        self.sock.settimeout(0.1)
        self.stop = False
        self.conns = []           # live sessions, so a test can push NOTE frames
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()

    def wait_bye(self, timeout=5.0):
        """The client exits right after sending BYE: give our reader time to see it."""
        end = time.time() + timeout
        while time.time() < end and not (self.frames and self.frames[-1][0] == "BYE"):
            time.sleep(0.01)
        return self.frames and self.frames[-1][0] == "BYE"

    @staticmethod
    def send(conn, verb, body=b""):
        if isinstance(body, str):
            body = body.encode()
        conn.sendall(b"%s %d\n" % (verb.encode(), len(body)) + body)

    @staticmethod
    def read_frame(f):
        header = f.readline()
        if not header:
            return None
        verb, n = header.decode().split()
        return verb, f.read(int(n)).decode()

    def _serve(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(None)
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def push_note(self, text):
        self.send(self.conns[-1], "NOTE", text)

    def _session(self, conn):
        self.conns.append(conn)
        f = conn.makefile("rb")
        logged_in = False
        while True:
            fr = self.read_frame(f)
            if fr is None:
                break
            self.frames.append(fr)
            verb, body = fr
            if verb == "LOGIN":
                if body == "manager\nfriend":
                    logged_in = True
                    self.send(conn, "OK", "Manager")
                else:
                    self.send(conn, "ERR", "Error (307037): Login incorrect.\n")
            elif verb == "BYE":
                break
            elif not logged_in:
                self.send(conn, "ERR", "Error (300027): Not logged in.\n")
            elif verb == "EXEC":
                cmd = body.upper()
                if cmd in self.script:
                    action = self.script[cmd]
                    if action == "close":
                        break
                    if action == "garbage":
                        conn.sendall(b"ok what\n")
                        continue
                    if action == "note":
                        self.send(conn, "NOTE", "IPSEC vpn: 2: OUT: pre processing:\n")
                        self.send(conn, "OK", "Info (181057): IPSEC Policy Debugging has been enabled.\n")
                        continue
                if cmd.startswith("BAD"):
                    self.send(conn, "ERR", "Error (300001): Unknown command \"BAD\".\n")
                elif cmd.startswith("ADD"):
                    self.send(conn, "OK", "Info (105003): Operation successful.\n")
                else:
                    self.send(conn, "OK", "output of " + body + "\n")
            else:
                self.send(conn, "ERR", "Error (300021): Unexpected \"%s\".\n" % verb)
        conn.close()

    def execs(self):
        return [b for v, b in self.frames if v == "EXEC"]


@pytest.fixture
def server():
    d = tempfile.mkdtemp(prefix="arsec-client-")
    servers = []

    def make(script=None):
        s = FakeServer(os.path.join(d, "cli.sock"), script)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()
    shutil.rmtree(d, ignore_errors=True)


def run(args, env=None, stdin=subprocess.DEVNULL, timeout=10):
    e = {k: v for k, v in os.environ.items() if not k.startswith("ARSEC_")}
    e.update(env or {})
    return subprocess.run([ARSEC] + args, capture_output=True, text=True, env=e, stdin=stdin,
                          timeout=timeout)


def login(srv):
    return ["--socket", srv.path, "--user", "manager", "--password", "friend"]


def test_batch_commands_run_in_order_and_succeed(server):
    srv = server()
    r = run(login(srv) + ["-c", "show ip route", "-c", "ADD IP INT=eth0 IP=10.0.0.1"])
    assert r.returncode == 0, r.stderr
    assert r.stdout == "output of show ip route\nInfo (105003): Operation successful.\n"
    assert srv.frames[0] == ("LOGIN", "manager\nfriend")
    assert srv.execs() == ["show ip route", "ADD IP INT=eth0 IP=10.0.0.1"]
    assert srv.wait_bye()


def test_failed_command_gives_exit_1_and_the_rest_still_runs(server):
    srv = server()
    r = run(login(srv) + ["-c", "show a", "-c", "BAD x", "-c", "show b"])
    assert r.returncode == 1
    assert "Error (300001)" in r.stdout
    assert "command 2 failed" in r.stderr
    assert srv.execs() == ["show a", "BAD x", "show b"]


def test_stop_on_error(server):
    srv = server()
    r = run(login(srv) + ["--stop-on-error", "-c", "BAD x", "-c", "show b"])
    assert r.returncode == 1
    assert srv.execs() == ["BAD x"]


def test_script_skips_comments_and_blank_lines_and_names_the_failing_line(server, tmp_path):
    srv = server()
    script = tmp_path / "s.cfg"
    script.write_text("# a comment\n\nshow one\n   # indented comment\nBAD PASSWORD=hunter2\r\nshow two  # trailing\n")
    r = run(login(srv) + ["-f", str(script)])
    assert r.returncode == 1
    assert srv.execs() == ["show one", "BAD PASSWORD=hunter2", "show two  # trailing"]
    assert f"{script}:5 failed" in r.stderr
    assert "hunter2" not in r.stderr


def test_c_and_f_run_in_command_line_order(server, tmp_path):
    srv = server()
    script = tmp_path / "s.cfg"
    script.write_text("show two\n")
    r = run(login(srv) + ["-c", "show one", "-f", str(script), "-c", "show three"])
    assert r.returncode == 0
    assert srv.execs() == ["show one", "show two", "show three"]


def test_missing_script_fails_before_connecting(server):
    srv = server()
    r = run(login(srv) + ["-f", "/nonexistent/x.cfg"])
    assert r.returncode == 2
    assert "cannot read script" in r.stderr
    assert srv.frames == []


def test_logoff_ends_a_batch(server):
    srv = server()
    r = run(login(srv) + ["-c", "show one", "-c", "logoff", "-c", "show two"])
    assert r.returncode == 0
    assert srv.execs() == ["show one"]
    assert srv.wait_bye()


def test_login_failure_is_exit_2_without_the_password(server):
    srv = server()
    r = run(["--socket", srv.path, "--user", "manager", "--password", "wrongpw", "-c", "show x"])
    assert r.returncode == 2
    assert "Login incorrect" in r.stderr
    assert "wrongpw" not in r.stderr + r.stdout
    assert srv.execs() == []


def test_batch_requires_a_user_when_there_is_no_terminal(server):
    srv = server()
    r = run(["--socket", srv.path, "-c", "show x"])
    assert r.returncode == 2
    assert "--user" in r.stderr
    assert srv.frames == []   # no default account was tried


def test_credentials_from_the_environment(server):
    srv = server()
    r = run(["--socket", srv.path, "-c", "show x"],
            env={"ARSEC_USER": "manager", "ARSEC_PASSWORD": "friend"})
    assert r.returncode == 0, r.stderr
    assert srv.frames[0] == ("LOGIN", "manager\nfriend")


def test_socket_from_the_environment_and_from_a_startup_config(server, tmp_path):
    srv = server()
    r = run(["--user", "manager", "--password", "friend", "-c", "show x"],
            env={"ARSEC_SOCKET": srv.path})
    assert r.returncode == 0, r.stderr
    cfg = tmp_path / "arsec.conf"
    cfg.write_text('ports = ( { name = "eth0"; device = "net_null0"; } );\n'
                   'control = { socket = "%s"; };\n' % srv.path)
    r = run(["--config", str(cfg), "--user", "manager", "--password", "friend", "-c", "show y"])
    assert r.returncode == 0, r.stderr
    assert srv.execs() == ["show x", "show y"]


def test_connection_refused_is_exit_2():
    r = run(["--socket", "/nonexistent/arsec.sock", "--user", "a", "--password", "b", "-c", "x"])
    assert r.returncode == 2
    assert "cannot connect to /nonexistent/arsec.sock" in r.stderr


def test_note_frames_are_printed_before_the_reply(server):
    srv = server({"ENABLE IPSEC POLICY=VPN DEBUG=PACKET": "note"})
    r = run(login(srv) + ["-c", "enable ipsec policy=vpn debug=packet"])
    assert r.returncode == 0
    assert r.stdout == ("IPSEC vpn: 2: OUT: pre processing:\n"
                        "Info (181057): IPSEC Policy Debugging has been enabled.\n")


def test_server_closing_mid_session_is_exit_2(server):
    srv = server({"SHOW CRASH": "close"})
    r = run(login(srv) + ["-c", "show crash", "-c", "show after"])
    assert r.returncode == 2
    assert "closed the connection" in r.stderr


def test_malformed_frame_from_the_server_is_a_protocol_error(server):
    srv = server({"SHOW GARBAGE": "garbage"})
    r = run(login(srv) + ["-c", "show garbage"])
    assert r.returncode == 2
    assert "protocol error" in r.stderr


def test_reference_and_usage():
    r = run(["--reference"])
    assert r.returncode == 0
    assert "### ADD IP INTERFACE" in r.stdout
    r = run(["extra"])
    assert r.returncode == 2
    assert "unexpected argument" in r.stderr


# ---------- interactive console in tmux ----------

def _tmux(*args):
    return subprocess.run(["tmux", "-L", "arsec-lang-test"] + list(args), capture_output=True, text=True)


def _screen():
    return _tmux("capture-pane", "-p", "-t", "t").stdout


def _wait_for(text, timeout=5.0):
    end = time.time() + timeout
    while time.time() < end:
        s = _screen()
        if text in s:
            return s
        time.sleep(0.05)
    raise AssertionError("did not see %r on screen:\n%s" % (text, _screen()))


def _wait_last_line(text, timeout=5.0):
    """Waits until the last non-blank screen line is `text` (e.g. a redrawn prompt)."""
    end = time.time() + timeout
    while time.time() < end:
        lines = [l.rstrip() for l in _screen().splitlines() if l.strip()]
        if lines and lines[-1] == text:
            return _screen()
        time.sleep(0.05)
    raise AssertionError("last line is not %r:\n%s" % (text, _screen()))


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")
def test_interactive_console_tab_help_history_logoff(server, tmp_path):
    srv = server()
    home = tmp_path / "home"
    home.mkdir()
    cmd = "env -i HOME=%s TERM=xterm LANG=C.UTF-8 %s --socket %s" % (home, os.path.abspath(ARSEC), srv.path)
    _tmux("kill-server")
    _tmux("new-session", "-d", "-s", "t", "-x", "120", "-y", "40", cmd + "; sleep 30")
    try:
        _wait_for("login:")
        _tmux("send-keys", "-t", "t", "manager", "Enter")
        _wait_for("Password:")
        _tmux("send-keys", "-t", "t", "friend", "Enter")
        _wait_for("Manager >")
        assert "friend" not in _screen()
        # TAB completes a unique prefix, and offers NAME= forms.
        _tmux("send-keys", "-t", "t", "sh", "Tab", "da", "Tab", "r", "Tab")
        _wait_for("Manager > SHOW DATAPLANE RUNTIME")
        _tmux("send-keys", "-t", "t", "Enter")
        _wait_for("output of SHOW DATAPLANE RUNTIME")
        # ? lists what may come next with help, then redisplays the line.
        _tmux("send-keys", "-t", "t", "add ip ", "?")
        _wait_for("Add a static route")
        s = _wait_last_line("Manager > add ip")
        assert "INTERFACE=" in s and "ROUTE=" in s
        _tmux("send-keys", "-t", "t", "int=eth0 ", "Tab")   # IPADDRESS= and MASK=: listed
        _wait_for("IPADDRESS=  MASK=")
        _tmux("send-keys", "-t", "t", "ip=10.0.0.1", "Enter")
        _wait_for("Info (105003): Operation successful.")
        # Ctrl-C abandons the line, not the session.
        _tmux("send-keys", "-t", "t", "show ip rou", "C-c")
        _wait_for("^C")
        _tmux("send-keys", "-t", "t", "show ip arp", "Enter")
        _wait_for("output of show ip arp")
        # A password never reaches the history file; ordinary commands do.
        _tmux("send-keys", "-t", "t", "add user=al pass=secret7", "Enter")
        _wait_for("Operation successful.", 3)
        _tmux("send-keys", "-t", "t", "logoff", "Enter")
        assert srv.wait_bye()
        hist = (home / ".arsec_history").read_text()
        assert "SHOW\\040DATAPLANE\\040RUNTIME" in hist   # libedit encodes blanks
        assert "secret7" not in hist
        assert oct((home / ".arsec_history").stat().st_mode & 0o777) == "0o600"
        assert srv.execs() == ["SHOW DATAPLANE RUNTIME ", "add ip int=eth0 ip=10.0.0.1",
                               "show ip arp", "add user=al pass=secret7"]
    finally:
        _tmux("kill-server")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")
def test_interactive_console_prints_notes_while_idle(server, tmp_path):
    srv = server()
    cmd = "env -i HOME=%s TERM=xterm %s --socket %s --user manager --password friend" % (
        tmp_path, os.path.abspath(ARSEC), srv.path)
    _tmux("kill-server")
    _tmux("new-session", "-d", "-s", "t", "-x", "120", "-y", "40", cmd + "; sleep 30")
    try:
        _wait_for("Manager >")
        _tmux("send-keys", "-t", "t", "show ip")
        _wait_for("Manager > show ip")
        # A NOTE arrives while the user is typing: printed, then the line is redrawn.
        srv.push_note("ISAKMP Tx Message\nCookie's: 5052045c2e566b81:0000000000000000\n")
        _wait_for("Cookie's: 5052045c2e566b81")
        s = _wait_last_line("Manager > show ip")
        assert s.index("ISAKMP Tx Message") < s.rindex("Manager > show ip")
        _tmux("send-keys", "-t", "t", " route", "Enter")
        _wait_for("output of show ip route")
        _tmux("send-keys", "-t", "t", "C-d")
        assert srv.wait_bye()
    finally:
        _tmux("kill-server")
