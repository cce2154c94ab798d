#!/usr/bin/python3
"""End-to-end check of arsec-control against a real arsec-dataplane (root only).

Builds three network namespaces (LAN host, gateway, WAN host) joined by veth pairs, runs
the dataplane on net_af_packet in the gateway namespace, starts arsec-control, configures
the gateway over the CLI socket (speaking common/cli_protocol.h directly, so it needs no
arsec client), pings through it, then kills arsec-control with SIGKILL during a continuous
ping and starts it again: forwarding must go on and the new process must re-assert the
unsaved running config from its snapshot. Everything it creates is removed on exit.

    control/tools/e2e_restart.py [BUILD_DIR]        (default: build)
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
DP = os.path.join(BUILD, "dataplane/arsec-dataplane")
CTL = os.path.join(BUILD, "control/arsec-control")
PFX = "arsec-ctl-e2e"
NS = {"lan": "arsec-c-lan", "wan": "arsec-c-wan", "gw": "arsec-c-gw"}
procs = []


def sh(*cmd, check=True, ns=None):
    if ns:
        cmd = ("ip", "netns", "exec", ns) + cmd
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr.strip()}")
    return r


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    for ns in NS.values():
        sh("ip", "netns", "del", ns, check=False)
    subprocess.run(["rm", "-rf", f"/var/run/dpdk/{PFX}"])


class Cli:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.f = self.s.makefile("rb")

    def call(self, verb, body=""):
        data = body.encode()
        self.s.sendall(f"{verb} {len(data)}\n".encode() + data)
        header = self.f.readline().decode().split()
        if len(header) != 2:
            raise RuntimeError("connection closed")
        return header[0], self.f.read(int(header[1])).decode()

    def login(self, user="manager", pw="friend"):
        v, b = self.call("LOGIN", f"{user}\n{pw}")
        assert v == "OK", b
        return b

    def ok(self, cmd):
        v, b = self.call("EXEC", cmd)
        print(f"> {cmd}\n{b}", end="" if b.endswith("\n") else "\n")
        assert v == "OK", f"{cmd}: {b}"
        return b


def wait_for(pred, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def start_control(tmp, cfg, log):
    p = subprocess.Popen(["ip", "netns", "exec", NS["gw"], CTL, "--config", cfg,
                          "--wait", "20"], stdout=log, stderr=subprocess.STDOUT)
    procs.append(p)
    sock = os.path.join(tmp, "run/arsec.sock")
    wait_for(lambda: os.path.exists(sock) and _connects(sock), 25, "the control socket")
    return p


def _connects(path):
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.close()
        return True
    except OSError:
        return False


def main():
    cleanup()
    tmp = tempfile.mkdtemp(prefix="arsec-ctl-e2e.")
    try:
        for ns in NS.values():
            sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", "lan-h", "netns", NS["lan"], "type", "veth", "peer", "name",
           "gw-lan", "netns", NS["gw"])
        sh("ip", "link", "add", "wan-h", "netns", NS["wan"], "type", "veth", "peer", "name",
           "gw-wan", "netns", NS["gw"])
        for l in ("gw-lan", "gw-wan"):
            sh("ip", "link", "set", l, "up", ns=NS["gw"])
            sh("sysctl", "-qw", f"net.ipv6.conf.{l}.disable_ipv6=1", ns=NS["gw"])
        sh("ip", "addr", "add", "192.168.10.2/24", "dev", "lan-h", ns=NS["lan"])
        sh("ip", "link", "set", "lan-h", "up", ns=NS["lan"])
        sh("ip", "route", "add", "default", "via", "192.168.10.1", ns=NS["lan"])
        sh("ip", "addr", "add", "192.0.2.2/24", "dev", "wan-h", ns=NS["wan"])
        sh("ip", "link", "set", "wan-h", "up", ns=NS["wan"])
        sh("ip", "route", "add", "default", "via", "192.0.2.1", ns=NS["wan"])

        cfg = os.path.join(tmp, "startup.cfg")
        with open(cfg, "w") as f:
            f.write(f'''eal = {{ lcores = "0,1"; file_prefix = "{PFX}"; args = [ "--no-pci", "--no-telemetry" ]; }};
ports = ( {{ name = "vlan1"; device = "net_af_packet0,iface=gw-lan"; }},
          {{ name = "ppp0";  device = "net_af_packet1,iface=gw-wan"; }} );
workers = {{ lcores = [ 1 ]; burst = 32; }};
control = {{ socket = "{tmp}/run/arsec.sock"; boot_config = "{tmp}/etc/boot.cfg"; lcores = "0"; }};
''')
        dplog = open(os.path.join(tmp, "dp.log"), "w")
        dp = subprocess.Popen(["ip", "netns", "exec", NS["gw"], DP, "--config", cfg],
                              stdout=dplog, stderr=subprocess.STDOUT)
        procs.append(dp)
        ctllog = open(os.path.join(tmp, "ctl.log"), "w")
        ctl = start_control(tmp, cfg, ctllog)

        cli = Cli(os.path.join(tmp, "run/arsec.sock"))
        assert cli.login() == "Manager"
        cli.ok("ADD IP INT=vlan1 IP=192.168.10.1 MASK=255.255.255.0")
        cli.ok("ADD IP INT=ppp0 IP=192.0.2.1 MASK=255.255.255.0")
        cli.ok("ADD IP INT=ppp0-1 IP=198.51.100.1 MASK=255.255.255.0")
        cli.ok("ADD IP ROUTE=203.0.113.0 MASK=255.255.255.0 INT=ppp0 NEXT=192.0.2.2")
        v, b = cli.call("EXEC", "ADD IP INT=eth7 IP=10.0.0.1")
        assert v == "ERR" and "Error (" in b, b
        r = sh("ping", "-c", "3", "-i", "0.2", "-W", "1", "192.0.2.2", ns=NS["lan"], check=False)
        print(r.stdout)
        assert r.returncode == 0, "ping through the gateway failed"
        arp = cli.ok("SHOW IP ARP")
        assert "192.168.10.2" in arp and "192.0.2.2" in arp, arp
        cli.ok("SHOW IP ROUTE")
        cli.ok("SHOW IP INTERFACE")
        cli.ok("SHOW DATAPLANE PORTS")
        counters = cli.ok("SHOW DATAPLANE COUNTERS")
        assert "forwarded" in counters
        cli.ok("SHOW DATAPLANE RUNTIME")
        cli.ok("SHOW DATAPLANE")
        cli.ok("CREATE CONFIG=e2e.cfg")
        # Not saved: must survive the restart through the snapshot, not the boot config.
        cli.ok("ADD IP ROUTE=10.0.0.0 MASK=255.0.0.0 INT=ppp0 NEXT=192.0.2.2")
        cli.call("BYE")

        # Continuous ping while control is killed and restarted.
        ping = subprocess.Popen(["ip", "netns", "exec", NS["lan"], "ping", "-i", "0.05", "-W",
                                 "1", "192.0.2.2"], stdout=subprocess.PIPE, text=True)
        procs.append(ping)
        time.sleep(1)
        os.kill(ctl.pid, signal.SIGKILL)   # the `ip netns exec` wrapper execs the binary
        ctl.wait()
        time.sleep(1)
        ctl = start_control(tmp, cfg, ctllog)
        time.sleep(1)
        ping.send_signal(signal.SIGINT)
        out, _ = ping.communicate(5)
        summary = [l for l in out.splitlines() if "transmitted" in l][0]
        print("continuous ping across the restart:", summary)
        sent = int(summary.split()[0])
        got = int(summary.split()[3])
        assert sent - got <= 20, f"lost {sent - got} of {sent} (more than one second)"

        cli = Cli(os.path.join(tmp, "run/arsec.sock"))
        cli.login()
        routes = cli.ok("SHOW IP ROUTE")
        assert "10.0.0.0" in routes and "203.0.113.0" in routes, routes
        log = cli.ok("SHOW LOG")
        assert "snapshot" in log, log
        assert "friend" not in log
        assert sh("ping", "-c", "2", "-i", "0.2", "-W", "1", "192.0.2.2", ns=NS["lan"],
                  check=False).returncode == 0
        cli.ok("DELETE IP ROUTE=10.0.0.0 MASK=255.0.0.0")
        v, b = cli.call("EXEC", "LOGOFF")
        assert v == "OK"
        ctl.send_signal(signal.SIGTERM)
        assert ctl.wait(10) == 0, "arsec-control did not exit cleanly on SIGTERM"
        assert not os.path.exists(os.path.join(tmp, "run/arsec.sock"))
        # A clean exit of the secondary (rte_eal_cleanup) must not disturb the ports.
        assert sh("ping", "-c", "2", "-i", "0.2", "-W", "1", "192.0.2.2", ns=NS["lan"],
                  check=False).returncode == 0, "forwarding stopped after control exited"
        print("PASS")
        return 0
    except Exception as e:  # noqa: BLE001 - report and clean up
        print("FAIL:", e)
        for name in ("dp.log", "ctl.log"):
            p = os.path.join(tmp, name)
            if os.path.exists(p):
                print(f"--- {name}\n" + open(p).read()[-4000:])
        return 1
    finally:
        cleanup()
        if os.environ.get("KEEP") is None:
            subprocess.run(["rm", "-rf", tmp])
        else:
            print("kept", tmp)


if __name__ == "__main__":
    sys.exit(main())
