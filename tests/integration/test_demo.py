"""`make demo` end to end: scripts/demo.sh start pings across the gateway, prints the
CLI's view and leaves the gateway running; stop removes every namespace and process.

The demo has fixed names (arsec-demo-*, /run/arsec/demo), so this test leaves a demo
that someone started by hand alone and skips.
"""

import os
import subprocess
from pathlib import Path

import pytest

import netlab

DEMO = netlab.REPO / "scripts" / "demo.sh"
RUN = Path("/run/arsec/demo")
NAMESPACES = ["arsec-demo-lan", "arsec-demo-gw", "arsec-demo-wan"]


def _running_demo():
    for name in ("dataplane", "control"):
        f = RUN / f"{name}.pid"
        if f.exists():
            try:
                pid = int(f.read_text().strip())
            except ValueError:
                continue
            if Path(f"/proc/{pid}").exists():
                return pid
    return None


def _netns():
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def test_demo_start_and_stop():
    if _running_demo() or any(ns in _netns() for ns in NAMESPACES):
        pytest.skip("a demo is running on this machine; not touching it")
    env = dict(os.environ, ARSEC_BUILD=str(netlab.BUILD))
    try:
        p = subprocess.run([str(DEMO), "start"], capture_output=True, text=True, timeout=180,
                           env=env)
        out = p.stdout + p.stderr
        assert p.returncode == 0, out
        for expected in ("SHOW IP ROUTE", "SHOW IP ARP", "SHOW DATAPLANE COUNTERS",
                         "198.51.100.0", "forwarded", "make demo-stop",
                         "ip netns exec arsec-demo-gw", "--socket /run/arsec/demo/arsec.sock"):
            assert expected in out, f"'{expected}' missing from the demo's output:\n{out}"
        assert "3 received" in out, out
        pids = [int((RUN / f"{n}.pid").read_text()) for n in ("dataplane", "control")]
        assert all(Path(f"/proc/{pid}").exists() for pid in pids), out

        # The gateway keeps running: a new ping and a CLI call work after start returned.
        r = subprocess.run(["ip", "netns", "exec", "arsec-demo-lan", "ping", "-n", "-c", "2",
                            "-W", "2", "198.51.100.1"], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr
        r = subprocess.run(["ip", "netns", "exec", "arsec-demo-gw", str(netlab.CLI),
                            "--socket", str(RUN / "arsec.sock"), "--user", "manager",
                            "--password", "friend", "-c", "SHOW IP ARP"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and "192.0.2.2" in r.stdout, r.stdout + r.stderr
    finally:
        s = subprocess.run([str(DEMO), "stop"], capture_output=True, text=True, timeout=60,
                           env=env)
    assert s.returncode == 0, s.stdout + s.stderr
    assert not any(ns in _netns() for ns in NAMESPACES), _netns()
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)
    assert not list(Path("/dev/hugepages").glob("arsec-demomap_*"))
