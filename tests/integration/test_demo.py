"""`make demo` end to end: scripts/demo.sh start builds the seed's two-site VPN (lanA -
gwA - a Linux router - gwB - lanB), types the seed's automatic-keying example into both
gateways' CLIs, pings both ways (IKE brings the tunnel up on the first packet), prints
both gateways' SAs and leaves everything running; stop removes every namespace, process
and DPDK file it made.

Checked as a user would read the output: the commands at the "Manager >" prompt, both
pings answered, on each gateway an ISAKMP SA with the peer and DES/SHA, an ESP SA in
state Valid (A's outbound SPI is B's inbound one), the SA bundle and the seed's log
lines; then that the VPN keeps working after start returned, and that stop leaves
nothing behind.

The demo has fixed names (arsec-demo-*, /run/arsec/demo), so this test leaves a demo
that someone started by hand alone and skips.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest

import netlab
from netlab import SITE_A, SITE_B, parse_table

DEMO = netlab.REPO / "scripts" / "demo.sh"
RUN = Path("/run/arsec/demo")
SITES = {"A": ("a", "arsec-demo-gwA", SITE_B), "B": ("b", "arsec-demo-gwB", SITE_A)}
NAMESPACES = ["arsec-demo-lanA", "arsec-demo-gwA", "arsec-demo-wan", "arsec-demo-gwB",
              "arsec-demo-lanB",
              "arsec-demo-lan", "arsec-demo-gw"]          # the single-gateway demo's
PREFIXES = ["arsec-demo-a", "arsec-demo-b", "arsec-demo"]
PIDFILES = [RUN / s / f"{p}.pid" for s in ("a", "b") for p in ("dataplane", "control")]
SHOWS = ["SHOW ISAKMP SA", "SHOW IPSEC SA", "SHOW IPSEC POLICY=vpn SABUNDLE",
         "SHOW LOG MODULE=ISAK"]


def _running_demo():
    for f in PIDFILES + [RUN / "dataplane.pid", RUN / "control.pid"]:
        try:
            pid = int(f.read_text().strip())
        except (OSError, ValueError):
            continue
        if Path(f"/proc/{pid}").exists():
            return pid
    return None


def _netns():
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()


def _sections(out: str) -> dict:
    """The demo's output cut at its "==> title" lines: title -> the text under it."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
    parts = re.split(r"^==> (.*)$", plain, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def _cli(site: str, *commands: str) -> subprocess.CompletedProcess:
    d, gw, _ = SITES[site]
    argv = ["ip", "netns", "exec", gw, str(netlab.CLI), "--socket", str(RUN / d / "arsec.sock"),
            "--user", "manager", "--password", "friend"]
    for c in commands:
        argv += ["-c", c]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def _ping(ns: str, dst: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", ns, "ping", "-n", "-c", "2", "-W", "2", dst],
                          capture_output=True, text=True, timeout=30)


def test_demo_start_and_stop():
    if _running_demo() or any(ns in _netns() for ns in NAMESPACES):
        pytest.skip("a demo is running on this machine; not touching it")
    env = dict(os.environ, ARSEC_BUILD=str(netlab.BUILD))
    pids = []
    try:
        p = subprocess.run([str(DEMO), "start"], capture_output=True, text=True, timeout=240,
                           env=env)
        out = p.stdout + p.stderr
        assert p.returncode == 0, out
        pids = [int(f.read_text()) for f in PIDFILES]
        assert all(Path(f"/proc/{pid}").exists() for pid in pids), out

        # The seed's commands, as typed, on both gateways; the key is only where typed.
        for expected in ('Manager > CREATE ENCO KEY=1 TYPE=GENERAL VALUE="jogefoge"',
                         "Manager > CREATE ISAKMP POLICY=i PEER=198.51.100.2 KEY=1 SENDN=TRUE",
                         "Manager > CREATE ISAKMP POLICY=i PEER=192.0.2.1 KEY=1 SENDN=TRUE",
                         "Manager > SET IPSEC POLICY=vpn LAD=192.168.10.0 LMA=255.255.255.0 "
                         "RAD=192.168.20.0 RMA=255.255.255.0",
                         "Manager > ENABLE ISAKMP", "ISAKMP has been enabled",
                         "make demo-stop", "ip netns exec arsec-demo-gwA",
                         "ip netns exec arsec-demo-gwB",
                         "--socket /run/arsec/demo/a/arsec.sock",
                         "--socket /run/arsec/demo/b/arsec.sock",
                         "/run/arsec/demo/a/{dataplane,control}.log",
                         "/run/arsec/demo/b/{dataplane,control}.log"):
            assert expected in out, f"'{expected}' missing from the demo's output:\n{out}"
        assert out.count('VALUE="jogefoge"') == 2, out
        assert "Error (" not in out, out

        sections = _sections(out)
        pings = [t for title, t in sections.items() if title.startswith("Ping from")]
        assert len(pings) == 2, list(sections)
        for text in pings:
            assert "3 packets transmitted, 3 received" in text, text

        for site, (_, gw, peer) in SITES.items():
            shown = {cmd: sections.get(f"Gateway {site} ({gw}): {cmd}") for cmd in SHOWS}
            assert all(v is not None for v in shown.values()), (site, list(sections))
            assert re.search(rf"^\s*\d+\s+{re.escape(peer.wan)}\s+DES\s+SHA\b",
                             shown["SHOW ISAKMP SA"], re.M), shown["SHOW ISAKMP SA"]
            esp = [r for r in parse_table(shown["SHOW IPSEC SA"]) if r.get("Protocol") == "ESP"]
            assert esp and all(r["State"] == "Valid" for r in esp), shown["SHOW IPSEC SA"]
            assert "Policy ..........vpn" in shown["SHOW IPSEC POLICY=vpn SABUNDLE"]
            assert "VALID" in shown["SHOW IPSEC POLICY=vpn SABUNDLE"]
            log = " ".join(shown["SHOW LOG MODULE=ISAK"].split())
            assert f"started with peer {peer.wan}" in log, log
            assert "Completed successfully" in log, log
        # A starts (its LAN pings first), B answers; both see the same ESP pair.
        log_a = " ".join(sections["Gateway A (arsec-demo-gwA): SHOW LOG MODULE=ISAK"].split())
        assert f"Phase 1 [init] started with peer {SITE_B.wan}" in log_a, log_a
        esp_a = [r for r in parse_table(sections["Gateway A (arsec-demo-gwA): SHOW IPSEC SA"])
                 if r.get("Protocol") == "ESP"]
        esp_b = [r for r in parse_table(sections["Gateway B (arsec-demo-gwB): SHOW IPSEC SA"])
                 if r.get("Protocol") == "ESP"]
        assert {r["OutSPI"] for r in esp_a} & {r["InSPI"] for r in esp_b}, (esp_a, esp_b)
        assert {r["InSPI"] for r in esp_a} & {r["OutSPI"] for r in esp_b}, (esp_a, esp_b)

        # The VPN keeps running after start returned: new pings both ways and both CLIs.
        for ns, dst in (("arsec-demo-lanA", SITE_B.lan_host), ("arsec-demo-lanB", SITE_A.lan_host)):
            r = _ping(ns, dst)
            assert r.returncode == 0, r.stdout + r.stderr
        for site, (_, _, peer) in SITES.items():
            r = _cli(site, "SHOW ISAKMP SA")
            assert r.returncode == 0 and peer.wan in r.stdout, r.stdout + r.stderr
        assert all(Path(f"/proc/{pid}").exists() for pid in pids)
    finally:
        s = subprocess.run([str(DEMO), "stop"], capture_output=True, text=True, timeout=60,
                           env=env)
    assert s.returncode == 0, s.stdout + s.stderr
    assert not any(ns in _netns() for ns in NAMESPACES), _netns()
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)
    assert not any(f.exists() for f in PIDFILES)
    for prefix in PREFIXES:
        assert not list(Path("/dev/hugepages").glob(f"{prefix}map_*")), prefix
        assert not Path(f"/var/run/dpdk/{prefix}").exists(), prefix
    for d in ("a", "b"):
        assert not (RUN / d / "arsec.sock").exists()
        assert not (RUN / d / "enco.keys").exists()
