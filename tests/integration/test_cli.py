"""The arsec client against a live arsec-control, in batch mode.

Covers `-c` (repeatable) and `-f script`, exit codes, the AR reply lines, the SHOW views
of interfaces and routes, config files (CREATE CONFIG, SET CONFIG, replay at start-up
with reconciliation of the dataplane), and login: a wrong password is refused and no
password ever shows up in output, SHOW LOG or the processes' logs.
"""

import re

import pytest

from netlab import (FAR_HOST, FAR_NET, LAN_GW, PASSWORD, UNROUTED, WAN_GW, WAN_HOST)

IFACES = [
    f"ADD IP INTERFACE=vlan1 IPADDRESS={LAN_GW} MASK=255.255.255.0",
    f"ADD IP INTERFACE=ppp0 IPADDRESS={WAN_GW} MASK=255.255.255.0",
]
ROUTE = f"ADD IP ROUTE={FAR_NET} MASK=255.255.255.0 INTERFACE=ppp0 NEXTHOP={WAN_HOST}"
INFO = re.compile(r"Info \(\d{6}\): ")
ERROR = re.compile(r"Error \(\d{6}\): ")


@pytest.fixture
def bare(lab_factory):
    """A gateway that starts with no boot config at all."""
    return lab_factory().start(boot=None)


def _route_line(text, net):
    return next((l for l in text.splitlines() if net in l), None)


def test_batch_commands_and_script(bare, tmp_path):
    r = bare.cli(*IFACES)
    assert len(r.infos()) == 2 and not r.errors(), r

    r = bare.cli("SHOW IP INTERFACE")
    for ifname, addr in (("vlan1", LAN_GW), ("ppp0", WAN_GW)):
        line = next((l for l in r.stdout.splitlines() if addr in l), None)
        assert line and ifname in line.lower(), f"{ifname} {addr} missing:\n{r}"

    # A script: comments, blank lines, abbreviations and mixed case.
    script = tmp_path / "routes.cfg"
    script.write_text("# routes for the far network\n\n"
                      f"add ip rou={FAR_NET} mask=255.255.255.0 int=ppp0 next={WAN_HOST}\n")
    r = bare.cli(script=script)
    assert len(r.infos()) == 1 and not r.errors(), r

    r = bare.cli("SHOW IP ROUTE")
    line = _route_line(r.stdout, FAR_NET)
    assert line and WAN_HOST in line and "ppp0" in line.lower(), r
    # Directly connected networks of the interfaces are listed as routes too.
    assert _route_line(r.stdout, "192.168.10.0") and _route_line(r.stdout, "192.0.2.0"), r

    # The commands reached the dataplane: traffic crosses it.
    lab = bare
    assert lab.ping_until_ok(FAR_HOST).received


def test_errors_exit_nonzero_and_change_nothing(bare, tmp_path):
    bare.cli(*IFACES)
    cases = [
        "FROBNICATE IP ROUTE",                                       # no such command
        f"ADD IP ROUTE={FAR_NET} MASK=255.255.255.0 INTERFACE=ppp0 NEXTHOP=300.1.1.1",
        f"ADD IP ROUTE={FAR_NET} MASK=255.0.255.0 INTERFACE=ppp0 NEXTHOP={WAN_HOST}",
        "ADD IP INTERFACE=eth9 IPADDRESS=203.0.113.1 MASK=255.255.255.0",  # no such port
        "ADD IP INTERFACE=vlan1",                                    # IPADDRESS missing
        "S IP ROUTE",                                                # ambiguous: SET/SHOW
    ]
    for cmd in cases:
        r = bare.cli(cmd, check=False)
        assert not r.ok, f"expected failure:\n{r}"
        assert len(r.errors()) == 1, f"expected one Error line:\n{r}"
        assert not r.infos(), r
    routes = bare.cli("SHOW IP ROUTE").stdout
    assert FAR_NET not in routes and "203.0.113" not in routes, routes
    assert "203.0.113.1" not in bare.cli("SHOW IP INTERFACE").stdout

    # A failing command in the middle of a batch makes the whole run fail.
    r = bare.cli("SHOW IP ROUTE", "ADD IP ROUTE=bogus", "SHOW IP INTERFACE", check=False)
    assert not r.ok and r.errors(), r
    script = tmp_path / "bad.cfg"
    script.write_text(f"{ROUTE}\nADD IP ROUTE=bogus\n")
    r = bare.cli(script=script, check=False)
    assert not r.ok and r.errors(), r


def test_show_ip_interface_multihoming(bare):
    bare.cli(*IFACES)
    r = bare.cli("ADD IP INTERFACE=ppp0-1 IPADDRESS=203.0.113.1 MASK=255.255.255.0")
    assert r.infos(), r
    out = bare.cli("SHOW IP INTERFACE").stdout
    line = next((l for l in out.splitlines() if "203.0.113.1" in l), None)
    assert line and "ppp0-1" in line.lower(), out
    # The second address is the gateway's own too.
    r = bare.cli("DELETE IP INTERFACE=ppp0-1 IPADDRESS=203.0.113.1")
    assert r.infos(), r
    assert "203.0.113.1" not in bare.cli("SHOW IP INTERFACE").stdout


def _show_config_field(lab, name):
    out = lab.cli("SHOW CONFIG").stdout
    m = re.search(rf"^{name}\s*:\s*(.*)$", out, re.M | re.I)
    assert m, f"SHOW CONFIG lacks '{name}':\n{out}"
    return m.group(1).strip()


def test_config_save_boot_and_replay(bare):
    lab = bare
    lab.cli(*IFACES, ROUTE)
    r = lab.cli("CREATE CONFIG=itest.cfg")
    assert r.infos() and not r.errors(), r
    r = lab.cli("SET CONFIG=itest.cfg")
    assert r.infos() and not r.errors(), r
    assert "itest.cfg" in _show_config_field(lab, "Boot configuration file"), lab.cli("SHOW CONFIG")
    running = lab.cli("SHOW CONFIG DYNAMIC").stdout
    assert re.search(rf"ADD IP ROUTE={re.escape(FAR_NET)}\b", running, re.I), running

    # The saved file is a command script, written whole (no temp file left beside it).
    cdir = _show_config_field(lab, "Configuration directory")
    saved = open(f"{cdir}/itest.cfg").read()
    assert re.search(rf"ADD IP ROUTE={re.escape(FAR_NET)}\b", saved, re.I), saved
    assert re.search(rf"ADD IP INTERFACE=vlan1\b", saved, re.I), saved
    import os
    leftovers = [f for f in os.listdir(cdir) if "itest" in f and f != "itest.cfg"]
    assert not leftovers, leftovers

    # A change made after the save...
    lab.cli(f"ADD IP ROUTE=203.0.113.0 MASK=255.255.255.0 INTERFACE=ppp0 NEXTHOP={WAN_HOST}")
    assert lab.ping_until_ok(FAR_HOST).received

    # ...survives a restart of arsec-control alone: the dataplane kept forwarding with
    # the running config, so the new control process re-asserts that.
    lab.restart_control()
    routes = lab.cli("SHOW IP ROUTE").stdout
    assert _route_line(routes, FAR_NET) and _route_line(routes, "203.0.113.0"), routes
    assert "snapshot" in _show_config_field(lab, "Replayed at start").lower()

    # A restart of the whole gateway starts from the boot config chosen by SET CONFIG.
    lab.restart_gateway()
    assert "boot" in _show_config_field(lab, "Replayed at start").lower(), lab.cli("SHOW CONFIG")
    routes = lab.cli("SHOW IP ROUTE").stdout
    line = _route_line(routes, FAR_NET)
    assert line and WAN_HOST in line, routes
    assert "203.0.113.0" not in routes, routes
    ifs = lab.cli("SHOW IP INTERFACE").stdout
    assert LAN_GW in ifs and WAN_GW in ifs, ifs
    assert lab.ping_until_ok(FAR_HOST).received
    # Without the unsaved route the gateway has none to 203.0.113.0/24.
    r = lab.ping(UNROUTED, count=1)
    assert re.search(r"Unreachable", r.text, re.I), r.text


def test_boot_config_bad_line_reported_rest_loaded(lab_factory):
    lab = lab_factory().start(boot=[*IFACES, "ADD IP ROUTE=bogus", ROUTE])
    routes = lab.cli("SHOW IP ROUTE").stdout
    assert _route_line(routes, FAR_NET), routes
    # The bad line is reported with its line number (in SHOW LOG or the control log).
    text = lab.cli("SHOW LOG").stdout + lab.all_logs_text()
    assert re.search(r"boot\.cfg:3\b", text), text[-3000:]


WRONG = "Wr0ngPw-q7x"


def test_login_refused_and_passwords_hidden(lab):
    r = lab.cli("SHOW IP ROUTE", password=WRONG, check=False)
    assert not r.ok, r
    assert re.search(r"login|password|denied|refused|incorrect|invalid", r.text, re.I), r
    assert WRONG not in r.text, r
    r = lab.cli("SHOW IP ROUTE", user="nobody", password=WRONG, check=False)
    assert not r.ok, r

    # A user of lower privilege: can log in and look, cannot change.
    secret = "S3cret-alice-55"
    r = lab.cli(f"ADD USER=alice PASSWORD={secret} PRIVILEGE=USER")
    assert r.infos(), r
    users = lab.cli("SHOW USER").stdout
    assert "alice" in users.lower() and secret not in users, users
    r = lab.cli("SHOW IP ROUTE", user="alice", password=secret)
    assert r.ok, r
    r = lab.cli(ROUTE.replace(FAR_NET, "203.0.113.0"), user="alice", password=secret,
                check=False)
    assert not r.ok and r.errors(), r

    shown = "".join(lab.cli(c).stdout for c in
                    ("SHOW CONFIG", "SHOW CONFIG DYNAMIC", "SHOW CONFIG DYNAMIC=USER", "SHOW LOG"))
    for pw in (WRONG, secret):
        assert pw not in shown, f"{pw} appears in SHOW CONFIG / SHOW LOG"
    logs = lab.all_logs_text()
    for pw in (WRONG, secret, PASSWORD):
        assert pw not in logs, f"password {pw!r} appears in a process log"
