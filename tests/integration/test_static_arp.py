"""Static ARP entries (ADD IP ARP / DELETE IP ARP) against a real gateway.

The entry names a host on the WAN link that never answers ARP: packets to it must still
leave the gateway, addressed to the configured MAC, without a single ARP request for it;
SHOW IP ARP lists the entry as static; CREATE CONFIG saves it and a rebooted gateway
(both processes anew) replays it; DELETE IP ARP removes it.
"""

import netlab
from netlab import WAN_GW

SILENT_HOST = "192.0.2.77"            # on the WAN link; nothing answers for it
SILENT_MAC = "02:00:00:00:00:77"
AR_MAC = SILENT_MAC.replace(":", "-")


def _frames_to_silent_host(lab, tmp_path, tag, seconds=6):
    """Pings the silent host from the LAN; returns (frames to it with its MAC, ARP
    requests for it) as seen on the WAN host's side of the link."""
    to_host = netlab.Sniffer(
        lab.wan, "eth0", seconds, tmp_path / f"{tag}-ip.log",
        expr=f"p.haslayer(IP) and p[IP].dst == {SILENT_HOST!r} and p.dst == {SILENT_MAC!r}")
    arp_req = netlab.Sniffer(
        lab.wan, "eth0", seconds, tmp_path / f"{tag}-arp.log",
        expr=f"p.haslayer(ARP) and p[ARP].op == 1 and p[ARP].pdst == {SILENT_HOST!r}")
    try:
        lab.ping(SILENT_HOST, count=5, interval=0.3, wait=1)
        return to_host.result()["expr"], arp_req.result()["expr"]
    finally:
        to_host.kill()
        arp_req.kill()


def _arp_row(lab):
    return lab.arp().get(SILENT_HOST)


def test_static_arp_entry_forwards_saves_and_replays(lab, tmp_path):
    r = lab.cli(f"ADD IP ARP={SILENT_HOST} INTERFACE=ppp0 ETHERNET={AR_MAC}")
    assert r.infos() and not r.errors(), r

    row = _arp_row(lab)
    assert row and row.mac == SILENT_MAC and "static" in row.line, lab.cli("SHOW IP ARP")

    sent, asked = _frames_to_silent_host(lab, tmp_path, "first")
    assert sent >= 3, f"only {sent} frames reached the link with {SILENT_MAC}"
    assert asked == 0, f"the gateway asked for {SILENT_HOST} {asked} times despite the entry"

    # The colon form is accepted too; a second entry for the same address is refused.
    r = lab.cli(f"ADD IP ARP={SILENT_HOST} INT=ppp0 ETH=02:00:00:00:00:78", check=False)
    assert not r.ok and r.errors(), r

    # Saved in the AR's form, replayed by a gateway that starts from scratch.
    r = lab.cli("CREATE CONFIG=arp.cfg", "SET CONFIG=arp.cfg")
    assert not r.errors(), r
    saved = (lab.dir / "arp.cfg").read_text()
    assert f"ADD IP ARP={SILENT_HOST} INTERFACE=ppp0 ETHERNET={AR_MAC}" in saved, saved
    lab.boot_config.unlink()     # only SET CONFIG's choice may bring it back
    lab.restart_gateway()
    row = _arp_row(lab)
    assert row and row.mac == SILENT_MAC and "static" in row.line, lab.cli("SHOW IP ARP")
    sent, asked = _frames_to_silent_host(lab, tmp_path, "rebooted")
    assert sent >= 3 and asked == 0, (sent, asked)

    # A restart of control alone keeps it (the running-config snapshot).
    lab.restart_control()
    assert _arp_row(lab) is not None

    r = lab.cli(f"DELETE IP ARP={SILENT_HOST}")
    assert r.infos() and not r.errors(), r
    row = _arp_row(lab)
    assert row is None or "static" not in row.line, lab.cli("SHOW IP ARP")
    assert f"ARP={SILENT_HOST}" not in lab.cli("SHOW CONFIG DYNAMIC").stdout
    r = lab.cli(f"DELETE IP ARP={SILENT_HOST}", check=False)
    assert not r.ok and r.errors(), r


def test_static_arp_errors_change_nothing(lab):
    before = lab.cli("SHOW CONFIG DYNAMIC").stdout
    for bad in (f"ADD IP ARP={SILENT_HOST} INTERFACE=ppp0 ETHERNET=02-00-00-00-77",
                f"ADD IP ARP={SILENT_HOST} INTERFACE=ppp7 ETHERNET={AR_MAC}",
                f"ADD IP ARP={SILENT_HOST} INTERFACE=ppp0 ETHERNET=01-00-5e-00-00-01",
                f"ADD IP ARP=224.0.0.5 INTERFACE=ppp0 ETHERNET={AR_MAC}",
                f"ADD IP ARP={SILENT_HOST} ETHERNET={AR_MAC}"):
        r = lab.cli(bad, check=False)
        assert not r.ok and len(r.errors()) == 1, r
    assert lab.cli("SHOW CONFIG DYNAMIC").stdout == before
    assert WAN_GW in lab.cli("SHOW IP INTERFACE").stdout
