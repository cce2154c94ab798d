"""Restarting arsec-control must not stop forwarding (DESIGN.md "Processes").

A LAN host pings the WAN host every 10 ms while the control process is stopped with
SIGTERM and a new one started; the dataplane keeps forwarding on its own, so at most one
second's worth of echoes may be lost, and the new control process shows the state the
dataplane kept (routes from its replayed boot config, ARP entries learnt before).
"""

import signal
import subprocess
import time

from netlab import FAR_NET, LAN_HOST, WAN_HOST, parse_ping

INTERVAL = 0.01
COUNT = 600            # about six seconds of traffic
MAX_LOSS = int(1 / INTERVAL)


def test_restart_control_during_ping(lab):
    assert lab.ping_until_ok(WAN_HOST).received
    dp_pid = lab.dataplane.pid
    old_control = lab.control

    ping = subprocess.Popen(lab.lan.cmd("ping", "-n", "-q", "-i", str(INTERVAL), "-c",
                                        str(COUNT), "-W", "1", WAN_HOST),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(1.5)
        t0 = time.time()
        rc = lab.stop_control(signal.SIGTERM)
        stopped = time.time() - t0
        lab.start_control()
        restarted = time.time() - t0
        out, _ = ping.communicate(timeout=60)
    finally:
        if ping.poll() is None:
            ping.kill()
            ping.wait()

    assert rc in (0, -signal.SIGTERM), \
        f"arsec-control did not exit cleanly on SIGTERM (rc {rc}):\n{lab.logs()}"
    r = parse_ping(out)
    assert r.transmitted >= COUNT - 5, out
    assert r.lost <= MAX_LOSS, (f"lost {r.lost} of {r.transmitted} echoes while control "
                                f"restarted (stop {stopped:.2f}s, serving again "
                                f"{restarted:.2f}s):\n{out}")
    assert lab.dataplane.alive() and lab.dataplane.pid == dp_pid
    assert not old_control.alive() and lab.control.pid != old_control.pid

    # The new control process sees what the dataplane kept.
    routes = lab.cli("SHOW IP ROUTE").stdout
    assert FAR_NET in routes, routes
    arp = lab.arp()
    assert WAN_HOST in arp and arp[WAN_HOST].mac == lab.wan_mac, lab.cli("SHOW IP ARP")
    assert LAN_HOST in arp and arp[LAN_HOST].mac == lab.lan_mac, lab.cli("SHOW IP ARP")
    c = lab.counters()
    assert c.get("forwarded", 0) >= 2 * r.received, c


def test_restart_control_twice_keeps_serving(lab):
    for _ in range(2):
        lab.restart_control()
        assert lab.ping_until_ok(WAN_HOST).received
    r = lab.ping(WAN_HOST, count=5, interval=0.05)
    assert r.received == 5, r.text
