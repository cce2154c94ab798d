"""An arsec gateway facing a real strongSwan gateway (charon with kernel-libipsec, run by
the shared harness ../shared/peers/strongswan-peer.sh), in namespaces of their own:

    lanA (192.168.10.10) -- gwA arsec (192.0.2.1) -- router -- sw charon (198.51.100.2) -- swlan (192.168.20.10)

Site A is netlab's Site with the seed's addresses; the strongSwan side owns site B's
addresses (its LAN 192.168.20.0/24 behind 198.51.100.2). strongSwan's libipsec always
encapsulates ESP in UDP 4500 and fakes NAT detection, so arsec sees a peer "behind a NAT"
and must speak NAT-T (NATTRAVERSAL=TRUE).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Optional

import netlab
from netlab import SITE_A, SITE_B, Netns, Site, run, site_boot

REPO = Path(__file__).resolve().parents[2]
HARNESS = REPO.parent / "shared" / "peers" / "strongswan-peer.sh"
SWANCTL_QUIET = Path(__file__).resolve().parent / "swanctl_quiet.sh"
PSK = "arsec-interop-psk"


def harness_plugins() -> list[str]:
    """The charon plugins the harness loads by default (its PLUGINS_DEFAULT)."""
    m = re.search(r'^PLUGINS_DEFAULT="([^"]*)"', HARNESS.read_text(), re.M)
    return m.group(1).split() if m else []


def plugin_problem(name: str) -> Optional[str]:
    """Why charon cannot load plugin `name` (e.g. xauth-generic, from Debian's
    libcharon-extauth-plugins), or None."""
    if not Path(f"/usr/lib/ipsec/plugins/libstrongswan-{name}.so").exists():
        return f"strongSwan plugin {name} is not installed"
    return None


def _conf_block(name: str, items: dict, indent: str) -> str:
    """A swanctl.conf section; values are quoted (DNs hold commas and spaces)."""
    lines = [f"{indent}{name} {{"]
    for k, v in items.items():
        if isinstance(v, dict):
            lines.append(_conf_block(k, v, indent + "  "))
        else:
            lines.append(f'{indent}  {k} = "{v}"' if k in ("id", "xauth_id") else
                         f"{indent}  {k} = {v}")
    lines.append(f"{indent}}}")
    return "\n".join(lines)


def harness_problem() -> Optional[str]:
    if not HARNESS.exists():
        return f"strongSwan harness not found at {HARNESS}"
    for b in ("swanctl", "/usr/lib/ipsec/charon"):
        if not shutil.which(b) and not Path(b).exists():
            return f"{b} is not installed"
    return None


class SwanLab:
    def __init__(self, tag: str):
        self.id = f"{netlab._PREFIX}-{next(netlab._counter)}"
        self.router = Netns(f"{self.id}-wan")
        self.a = Site(f"{tag}-A", SITE_A, self.router)
        self.sw = Netns(f"{self.id}-sw")
        self.swlan = Netns(f"{self.id}-swl")
        self.ssp_dir = self.a.dir / "ssp"
        self.instance = f"sw{next(netlab._counter)}"
        self.swan_up = False
        self.plugins_extra: list[str] = []
        self.closed = False
        netlab._open_labs.append(self)

    # ---- topology
    def build(self) -> "SwanLab":
        netlab._add_namespaces([self.router, self.sw, self.swlan])
        self.router.run("sysctl", "-qw", "net.ipv4.ip_forward=1", check=False)
        self.sw.run("sysctl", "-qw", "net.ipv4.ip_forward=1", check=False)
        self.a.build()
        run(["ip", "link", "add", "wan0", "netns", self.sw.name, "type", "veth",
             "peer", "name", "toB", "netns", self.router.name])
        run(["ip", "link", "add", "lan0", "netns", self.sw.name, "type", "veth",
             "peer", "name", "eth0", "netns", self.swlan.name])
        for ns, ifs in ((self.sw, ["wan0", "lan0"]), (self.router, ["toB"]),
                        (self.swlan, ["eth0"])):
            for i in ifs:
                netlab._quiet_link(ns, i)
                ns.ip("link", "set", i, "up")
        b = SITE_B
        self.router.ip("addr", "add", f"{b.router}/24", "dev", "toB")
        self.sw.ip("addr", "add", f"{b.wan}/24", "dev", "wan0")
        self.sw.ip("addr", "add", f"{b.lan_gw}/24", "dev", "lan0")
        self.sw.ip("route", "add", f"{SITE_A.wan_net}/24", "via", b.router)
        self.swlan.ip("addr", "add", f"{b.lan_host}/24", "dev", "eth0")
        self.swlan.ip("route", "add", "default", "via", b.lan_gw)
        return self

    def start(self, extra_boot: list[str] = ()) -> "SwanLab":
        self.a.start(site_boot(SITE_A, SITE_B) + list(extra_boot))
        return self

    # ---- strongSwan
    def swan(self, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
        env = dict(os.environ, SSP_RUNDIR=str(self.ssp_dir), SSP_SWANCTL=str(SWANCTL_QUIET))
        if self.plugins_extra:
            env["SSP_PLUGINS"] = " ".join(harness_plugins() + self.plugins_extra)
        p = subprocess.run(["bash", str(HARNESS), *args], capture_output=True, text=True,
                           timeout=timeout, env=env)
        if check and p.returncode != 0:
            raise AssertionError(f"strongswan-peer.sh {' '.join(args)} failed ({p.returncode}):\n"
                                 f"{p.stdout}\n{p.stderr}\n{self.swan_logs()}")
        return p

    def swan_start(self, *, mode: str = "v1-main", ike: str = "aes128-sha1-modp1024",
                   esp: str = "aes128-sha1", psk: str = PSK, initiate: bool = False,
                   extra: list[str] = ()) -> None:
        args = ["up", self.instance, self.sw.name, "--ike", mode,
                "--local", SITE_B.wan, "--remote", SITE_A.wan,
                "--local-ts", f"{SITE_B.lan_net}/24", "--remote-ts", f"{SITE_A.lan_net}/24",
                "--psk", psk, "--ike-proposal", ike, "--esp", esp, "--timeout", "40",
                *extra]
        if initiate:
            args.append("--initiate")
        self.swan_up = True
        self.swan(*args, timeout=90)

    def swan_start_conf(self, *, local: dict, remote: dict, rounds: dict = None,
                        secrets: dict = None, files: list = (), mode: str = "v1-main",
                        ike: str = "aes128-sha1-modp1024", esp: str = "aes128-sha1",
                        initiate: bool = False, plugins: list = ()) -> None:
        """strongSwan with authentication the harness's options cannot express
        (certificates, XAUTH rounds): the harness starts charon with its PSK connection,
        then this connection (same name, so the harness's initiate/wait-sa/sas work)
        replaces it through swanctl --load-all.

        local/remote: the `local {}`/`remote {}` sections (auth, id, certs ...); rounds:
        more sections such as {"local-xauth": {...}}; secrets: the `secrets {}` entries;
        files: (swanctl subdirectory, source path, file name) to copy in first (x509,
        x509ca, private ...); plugins: charon plugins beyond the harness's."""
        self.plugins_extra = list(plugins)
        self.swan_start(mode=mode, ike=ike, esp=esp)
        d = self.ssp_dir / self.instance / "swanctl"
        for sub, src, name in files:
            shutil.copy(src, d / sub / name)
        name = self.instance
        conn = {
            "version": 1,
            "aggressive": "yes" if mode == "v1-aggr" else "no",
            "local_addrs": SITE_B.wan,
            "remote_addrs": SITE_A.wan,
            "proposals": ike,
            "rekey_time": "14400s",
            "dpd_delay": "0s",
            "encap": "no",
            "local": local,
            "remote": remote,
            **(rounds or {}),
            "children": {name: {
                "local_ts": f"{SITE_B.lan_net}/24",
                "remote_ts": f"{SITE_A.lan_net}/24",
                "esp_proposals": esp,
                "mode": "tunnel",
                "rekey_time": "3600s",
                "start_action": "none",
            }},
        }
        text = "\n".join([
            "# swanctl.conf of a test (tests/integration/swanlab.py swan_start_conf)",
            _conf_block("connections", {name: conn}, ""),
            _conf_block("secrets", secrets or {}, ""), ""])
        conf = d / "swanctl.conf"
        conf.write_text(text)
        p = self.swan("swanctl", name, "--load-all", "--noprompt", "--file", str(conf))
        if re.search(r"fail|invalid|error", p.stdout + p.stderr, re.I):
            raise AssertionError(f"swanctl --load-all:\n{p.stdout}\n{p.stderr}\n{text}")
        if initiate:
            self.swan("initiate", name, "--timeout", "40", timeout=90)

    def swan_logs(self, n: int = 80) -> str:
        if not self.swan_up:
            return ""
        env = dict(os.environ, SSP_RUNDIR=str(self.ssp_dir))
        p = subprocess.run(["bash", str(HARNESS), "logs", self.instance, str(n)],
                           capture_output=True, text=True, timeout=20, env=env)
        return p.stdout + p.stderr

    def swan_sas(self) -> str:
        return self.swan("sas", self.instance, check=False).stdout

    # ---- checks
    def ping_a_to_b(self, count: int = 3, timeout: float = 20) -> netlab.PingResult:
        return self.a.ping(SITE_B.lan_host, ns=self.a.lan, count=count)

    def ping_b_to_a(self, count: int = 3) -> netlab.PingResult:
        p = self.swlan.run("ping", "-c", str(count), "-i", "0.2", "-W", "2", SITE_A.lan_host,
                           check=False, timeout=30)
        return netlab.parse_ping(p.stdout)

    def logs(self) -> str:
        return f"{self.a.logs()}\n===== strongSwan\n{self.swan_logs()}"

    def close(self, keep_dir: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        if self.swan_up:
            self.swan("down", self.instance, check=False, timeout=30)
        self.a.close(keep_dir=keep_dir)
        for ns in (self.sw, self.swlan, self.router):
            run(["ip", "netns", "del", ns.name], check=False)
        if self in netlab._open_labs:
            netlab._open_labs.remove(self)
