"""A small lab of network namespaces around a real arsec gateway, for integration tests.

A `Lab` builds three namespaces joined by veth pairs -- a LAN host, the gateway (where
arsec-dataplane attaches to its veths with net_af_packet and arsec-control runs beside
it), and a WAN host -- writes the gateway's startup config and boot config into a private
temporary directory, starts the two processes and drives the CLI client. Everything it
creates carries a prefix unique to this test process (`arsec-t<pid>-<n>`), and
`Lab.close()` removes it all: the processes it started (by PID), the namespaces, the
DPDK runtime and hugepage files of its own --file-prefix. An atexit guard closes labs a
crashed test left open, and `sweep_stale()` removes what an earlier, killed run of the
suite left behind (its pid no longer exists).

A `TwoSiteLab` is the seed's VPN figure for the IPsec tests: two such gateways (each a
`Site`, a Lab whose WAN port is cabled to a shared router namespace) with their LAN hosts,
192.168.10.0/24 and 192.168.20.0/24; a `HubLab` is the seed's VPN centre (site A) with
N client gateways on the same router. `Capture` runs tshark in a namespace and reads the
pcap back with display filters; `tcp_transfer` sends a file between two namespaces and
reports its sha256 at both ends; `drop_ipsec_input` keeps a namespace's kernel (which has
no IPsec here) quiet when a user-space test peer answers ESP/AH for it.

Nothing here sends a packet outside the namespaces it created: veths are created
directly inside them (`ip link add ... netns A type veth peer ... netns B`), so no
interface of the lab ever exists in the root namespace.
"""

from __future__ import annotations

import atexit
import glob
import itertools
import os
import re
import shutil
import signal
import subprocess
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Sequence

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("ARSEC_BUILD", REPO / "build"))
DATAPLANE = BUILD / "dataplane" / "arsec-dataplane"
CONTROL = BUILD / "control" / "arsec-control"
CLI = BUILD / "cli" / "arsec"
PYTHON = "/usr/bin/python3"   # Debian's: it has scapy

USER, PASSWORD = "manager", "friend"

# Addresses of the standard lab (DESIGN.md "Tests and test networks").
LAN_HOST, LAN_GW, LAN_NET = "192.168.10.10", "192.168.10.1", "192.168.10.0/24"
WAN_HOST, WAN_GW, WAN_NET = "192.0.2.2", "192.0.2.1", "192.0.2.0/24"
FAR_NET, FAR_HOST = "198.51.100.0", "198.51.100.1"      # behind the WAN host
UNROUTED = "203.0.113.99"                                # the gateway has no route to it

STANDARD_BOOT = [
    "# standard integration-test gateway",
    f"ADD IP INTERFACE=vlan1 IPADDRESS={LAN_GW} MASK=255.255.255.0",
    f"ADD IP INTERFACE=ppp0 IPADDRESS={WAN_GW} MASK=255.255.255.0",
    f"ADD IP ROUTE={FAR_NET} MASK=255.255.255.0 INTERFACE=ppp0 NEXTHOP={WAN_HOST}",
]

_PREFIX = f"arsec-t{os.getpid()}"
_counter = itertools.count(1)
_open_labs: "list[Lab]" = []


# --------------------------------------------------------------------------- helpers

def run(cmd: Sequence[str], *, timeout: float = 30, check: bool = True,
        input: Optional[str] = None) -> subprocess.CompletedProcess:
    """Runs a command, capturing text output; raises with the output on failure."""
    p = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout,
                       input=input)
    if check and p.returncode != 0:
        raise RuntimeError(f"command failed ({p.returncode}): {' '.join(cmd)}\n"
                           f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as e:
        return f"<{path}: {e}>"
    return "\n".join(text.splitlines()[-lines:])


def environment_problem() -> Optional[str]:
    """Why the integration tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "integration tests need root (network namespaces, DPDK)"
    try:
        free = int(Path("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages").read_text())
    except OSError:
        free = 0
    if free < 128:
        return (f"only {free} free 2 MiB hugepages; run scripts/bootstrap.sh "
                "(make test does) to reserve them")
    if " hugetlbfs " not in Path("/proc/mounts").read_text():
        return "hugetlbfs is not mounted; run scripts/bootstrap.sh (make test does)"
    for tool in ("ip", "ping"):
        if not shutil.which(tool):
            return f"'{tool}' is missing; run scripts/bootstrap.sh"
    return None


def missing_binaries() -> list[str]:
    return [str(p) for p in (DATAPLANE, CONTROL, CLI) if not os.access(p, os.X_OK)]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_dpdk_files(file_prefix: str) -> None:
    """Hugepage files outlive a killed primary and would starve later tests."""
    for f in glob.glob(f"/dev/hugepages/{file_prefix}map_*"):
        try:
            os.unlink(f)
        except OSError:
            pass
    shutil.rmtree(f"/var/run/dpdk/{file_prefix}", ignore_errors=True)


def sweep_stale() -> list[str]:
    """Removes namespaces and DPDK files of earlier test runs whose process is gone."""
    removed = []
    names = run(["ip", "netns", "list"], check=False).stdout.split()
    for name in names:
        m = re.match(r"arsec-t(\d+)-", name)
        if m and not _pid_alive(int(m.group(1))):
            run(["ip", "netns", "del", name], check=False)
            removed.append(name)
    for d in glob.glob("/var/run/dpdk/arsec-t*") + glob.glob("/dev/hugepages/arsec-t*map_*"):
        m = re.match(r"arsec-t(\d+)-", os.path.basename(d))
        if m and not _pid_alive(int(m.group(1))):
            _remove_dpdk_files(os.path.basename(d).split("map_")[0])
            removed.append(d)
    return removed


# --------------------------------------------------------------------------- namespaces

class Netns:
    def __init__(self, name: str):
        self.name = name

    def cmd(self, *args: str) -> list[str]:
        return ["ip", "netns", "exec", self.name, *args]

    def run(self, *args: str, timeout: float = 30, check: bool = True,
            input: Optional[str] = None) -> subprocess.CompletedProcess:
        return run(self.cmd(*args), timeout=timeout, check=check, input=input)

    def ip(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run(["ip", "-n", self.name, *args], check=check)

    def mac(self, ifname: str) -> str:
        out = self.ip("-o", "link", "show", "dev", ifname).stdout
        m = re.search(r"link/ether ([0-9a-f:]{17})", out)
        assert m, out
        return m.group(1)

    def python(self, code: str, *, timeout: float = 60, check: bool = True,
               ) -> subprocess.CompletedProcess:
        return self.run(PYTHON, "-c", textwrap.dedent(code), timeout=timeout, check=check)

    def popen(self, *args: str, log: Optional[Path] = None) -> subprocess.Popen:
        out = open(log, "ab") if log else subprocess.PIPE
        return subprocess.Popen(self.cmd(*args), stdout=out, stderr=subprocess.STDOUT
                                if log else subprocess.PIPE, stdin=subprocess.DEVNULL,
                                start_new_session=True)


def _add_namespaces(namespaces: Iterable[Netns]) -> None:
    """Creates each namespace with loopback up and IPv6 off (the labs are IPv4 only)."""
    for ns in namespaces:
        run(["ip", "netns", "add", ns.name])
        ns.ip("link", "set", "lo", "up")
        ns.run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", check=False)
        ns.run("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1", check=False)


def _quiet_link(ns: Netns, ifname: str) -> None:
    """A veth that DPDK's af_packet PMD can use: no offloads, no IPv6 chatter.

    With TX checksum offload the kernel hands frames over with partial checksums that a
    DPDK router never completes, and GSO/GRO would hand af_packet frames bigger than the
    MTU; both are turned off on each end.
    """
    if shutil.which("ethtool"):
        ns.run("ethtool", "-K", ifname, "tx", "off", "tso", "off",
               "gso", "off", "gro", "off", check=False)
    ns.run("sysctl", "-qw", f"net.ipv6.conf.{ifname}.disable_ipv6=1", check=False)


# --------------------------------------------------------------------------- CLI output

@dataclass
class CliResult:
    rc: int
    stdout: str
    stderr: str
    argv: list = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.stdout + self.stderr

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def errors(self) -> list[str]:
        return re.findall(r"^.*Error \(\d+\):.*$", self.text, re.M)

    def infos(self) -> list[str]:
        return re.findall(r"^.*Info \(\d+\):.*$", self.text, re.M)

    def __str__(self) -> str:
        hidden = self.argv[self.argv.index("--password") + 1] if "--password" in self.argv else None
        shown = [a if a not in (PASSWORD, hidden) else "***" for a in self.argv]
        return f"$ {' '.join(shown)}\n[rc={self.rc}]\n{self.stdout}{self.stderr}"


def counter_names() -> list[str]:
    """The counter names of common/dp_stats.h, the single table SHOW prints from."""
    text = (REPO / "common" / "dp_stats.h").read_text()
    return re.findall(r'^\s*X\(\w+,\s*"(\w+)"', text, re.M)


_NUM = re.compile(r"(?<![\w.])\d[\d,]*(?![\w.])")


def parse_counters(text: str) -> dict[str, int]:
    """Counter name -> value from SHOW DATAPLANE COUNTERS.

    The layout is free: a line that names a counter carries its numbers after the name
    (`dropBadChecksum ..... 3`, or one column per worker and a total). The largest number
    on the line is the total whichever way it is laid out.
    """
    names = set(counter_names())
    values: dict[str, int] = {}
    for line in text.splitlines():
        for m in re.finditer(r"[A-Za-z]\w*", line):
            if m.group(0) in names:
                nums = [int(n.replace(",", "")) for n in _NUM.findall(line[m.end():])]
                if nums:
                    values[m.group(0)] = max(nums)
                break
    return values


_MAC = re.compile(r"\b([0-9a-fA-F]{2}(?:[:-][0-9a-fA-F]{2}){5}|"
                  r"[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}|"
                  r"[0-9a-fA-F]{12})\b")
_IP = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])")


def norm_mac(mac: str) -> str:
    digits = re.sub(r"[^0-9a-fA-F]", "", mac).lower()
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


@dataclass
class ArpRow:
    ip: str
    mac: Optional[str]
    line: str


def parse_arp(text: str) -> dict[str, ArpRow]:
    """IP -> row from SHOW IP ARP: a row is a line with an address and, once resolved,
    a MAC in any of the usual notations."""
    rows = {}
    for line in text.splitlines():
        ips = _IP.findall(line)
        if not ips:
            continue
        m = _MAC.search(line)
        rows[ips[0]] = ArpRow(ips[0], norm_mac(m.group(1)) if m else None, line)
    return rows


def parse_table(text: str) -> list[dict[str, str]]:
    """Rows of the column tables SHOW prints (title, rule, header, rule, rows, rule).

    The header is the latest line without digits before a row; a row is paired with it
    either word by word (single-word headers such as `Cycles/pkt`) or cell by cell split
    on runs of 2+ spaces (headers such as `IP Address`)."""
    out = []
    header_ws = header_2s = None
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or set(stripped) <= set("-= "):
            continue
        if not re.search(r"\d", line):
            header_ws, header_2s = stripped.split(), re.split(r"\s{2,}|\t", stripped)
            continue
        if header_ws is None:
            continue
        words, cells = stripped.split(), re.split(r"\s{2,}|\t", stripped)
        if len(words) == len(header_ws):
            out.append(dict(zip(header_ws, words)))
        elif len(cells) == len(header_2s):
            out.append(dict(zip(header_2s, cells)))
    return out


@dataclass
class PingResult:
    transmitted: int
    received: int
    text: str

    @property
    def lost(self) -> int:
        return self.transmitted - self.received


def parse_ping(text: str) -> PingResult:
    m = re.search(r"(\d+) packets transmitted, (\d+) (?:packets )?received", text)
    if not m:
        return PingResult(0, 0, text)
    return PingResult(int(m.group(1)), int(m.group(2)), text)


# --------------------------------------------------------------------------- the lab

class Proc:
    """A process the lab started; stopped by its own PID only."""

    def __init__(self, name: str, popen: subprocess.Popen, log: Path):
        self.name, self.popen, self.log = name, popen, log

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> Optional[int]:
        if self.popen.poll() is None:
            try:
                os.kill(self.popen.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)
        return self.popen.returncode


class Lab:
    """LAN host -- gateway (arsec) -- WAN host, in namespaces of their own."""

    def __init__(self, tag: str = "lab", *, arp: Optional[dict] = None,
                 extra_config: str = "", lcores: str = "0,1",
                 workers: Sequence[int] = (1,), eal_args: Sequence[str] = ("--no-pci",)):
        n = next(_counter)
        self.id = f"{_PREFIX}-{n}"
        self.tag = tag
        self.dir = Path(tempfile.mkdtemp(prefix=f"{self.id}-"))
        self.lan = Netns(f"{self.id}-lan")
        self.gw = Netns(f"{self.id}-gw")
        self.wan = Netns(f"{self.id}-wan")
        self.namespaces = [self.lan, self.gw, self.wan]
        self.file_prefix = self.id
        self.socket = self.dir / "control.sock"
        self.boot_config = self.dir / "boot.cfg"
        self.config = self.dir / "arsec.conf"
        self.arp_params = arp or {}
        self.extra_config = extra_config
        self.lcores, self.workers, self.eal_args = lcores, list(workers), list(eal_args)
        self.dataplane: Optional[Proc] = None
        self.control: Optional[Proc] = None
        self.controls_started = 0
        # Who cli() logs in as by default (and start_control() to see control serving);
        # a test that changes the manager's password sets these.
        self.user, self.password = USER, PASSWORD
        self.procs: list[Proc] = []
        self.closed = False
        _open_labs.append(self)

    # ---- topology
    def build(self) -> "Lab":
        _add_namespaces(self.namespaces)
        # Each veth pair is born with its ends in their namespaces.
        run(["ip", "link", "add", "eth0", "netns", self.lan.name, "type", "veth",
             "peer", "name", "lan0", "netns", self.gw.name])
        run(["ip", "link", "add", "eth0", "netns", self.wan.name, "type", "veth",
             "peer", "name", "wan0", "netns", self.gw.name])
        for ns, ifs in ((self.lan, ["eth0"]), (self.wan, ["eth0"]), (self.gw, ["lan0", "wan0"])):
            for i in ifs:
                _quiet_link(ns, i)
                ns.ip("link", "set", i, "up")
        self.lan.ip("addr", "add", f"{LAN_HOST}/24", "dev", "eth0")
        self.lan.ip("route", "add", "default", "via", LAN_GW)
        self.wan.ip("addr", "add", f"{WAN_HOST}/24", "dev", "eth0")
        self.wan.ip("route", "add", "default", "via", WAN_GW)
        # The far network lives on the WAN host itself (on lo: no dummy module needed).
        self.wan.ip("addr", "add", f"{FAR_HOST}/32", "dev", "lo")
        return self

    @property
    def lan_mac(self) -> str:
        return self.lan.mac("eth0")

    @property
    def wan_mac(self) -> str:
        return self.wan.mac("eth0")

    @property
    def gw_lan_mac(self) -> str:
        return self.gw.mac("lan0")

    @property
    def gw_wan_mac(self) -> str:
        return self.gw.mac("wan0")

    # ---- gateway
    def write_config(self) -> None:
        arp = ("arp = { " + " ".join(f"{k} = {v};" for k, v in self.arp_params.items()) + " };\n"
               if self.arp_params else "")
        args = ", ".join(f'"{a}"' for a in self.eal_args)
        workers = ", ".join(str(w) for w in self.workers)
        self.config.write_text(textwrap.dedent(f"""\
            # startup config of integration lab {self.id} ({self.tag})
            eal = {{ lcores = "{self.lcores}"; file_prefix = "{self.file_prefix}"; args = [ {args} ]; }};
            ports = ( {{ name = "vlan1"; device = "net_af_packet0,iface=lan0"; }},
                      {{ name = "ppp0";  device = "net_af_packet1,iface=wan0"; }} );
            workers = {{ lcores = [ {workers} ]; burst = 32; }};
            control = {{ socket = "{self.socket}"; boot_config = "{self.boot_config}"; }};
            """) + arp + self.extra_config)

    def start(self, boot: Optional[Iterable[str]] = STANDARD_BOOT) -> "Lab":
        """Starts arsec-dataplane and arsec-control; `boot` (lines) becomes the boot
        config, None leaves none at all."""
        if boot is not None:
            self.boot_config.write_text("\n".join(boot) + "\n")
        self.write_config()
        self.start_dataplane()
        self.start_control()
        return self

    def _spawn(self, name: str, binary: Path) -> Proc:
        log = self.dir / f"{name}.log"
        p = Proc(name, self.gw.popen(str(binary), "--config", str(self.config), log=log), log)
        self.procs.append(p)
        return p

    def start_dataplane(self, timeout: float = 30) -> None:
        self.dataplane = self._spawn("dataplane", DATAPLANE)
        # The primary is ready for a secondary once its EAL multi-process socket exists;
        # the rings appear a little after that, so start_control() retries.
        deadline = time.time() + timeout
        mp = Path(f"/var/run/dpdk/{self.file_prefix}/mp_socket")
        while time.time() < deadline:
            if not self.dataplane.alive():
                raise RuntimeError("arsec-dataplane exited with "
                                   f"{self.dataplane.popen.returncode}:\n{tail(self.dataplane.log)}")
            if mp.exists():
                return
            time.sleep(0.1)
        raise RuntimeError(f"arsec-dataplane not up after {timeout}s:\n{tail(self.dataplane.log)}")

    def start_control(self, timeout: float = 30) -> None:
        """Starts arsec-control and waits until a login on its socket succeeds."""
        deadline = time.time() + timeout
        last = ""
        while time.time() < deadline:
            self.controls_started += 1
            self.control = self._spawn(f"control{self.controls_started}", CONTROL)
            while time.time() < deadline and self.control.alive():
                if self.socket.exists():
                    r = self.cli("SHOW IP INTERFACE", check=False, timeout=10)
                    if r.ok:
                        return
                    last = str(r)
                time.sleep(0.2)
            if not self.control.alive():
                last = tail(self.control.log)
                time.sleep(0.5)     # the primary may still be creating its rings
        raise RuntimeError(f"arsec-control not serving after {timeout}s:\n{last}\n"
                           f"control log:\n{tail(self.control.log)}\n"
                           f"dataplane log:\n{tail(self.dataplane.log)}")

    def stop_control(self, sig: int = signal.SIGTERM) -> Optional[int]:
        rc = self.control.stop(sig) if self.control else None
        return rc

    def restart_gateway(self) -> None:
        """Both processes anew, as after a reboot (the config directory is kept)."""
        self.stop_control()
        if self.dataplane:
            self.dataplane.stop()
        _remove_dpdk_files(self.file_prefix)
        self.start_dataplane()
        self.start_control()

    def restart_control(self) -> None:
        self.stop_control()
        self.start_control()

    # ---- CLI
    def cli_argv(self, *commands: str, user: Optional[str] = None,
                 password: Optional[str] = None,
                 script: Optional[Path] = None) -> list[str]:
        user = self.user if user is None else user
        password = self.password if password is None else password
        argv = [str(CLI), "--socket", str(self.socket), "--user", user, "--password", password]
        for c in commands:
            argv += ["-c", c]
        if script is not None:
            argv += ["-f", str(script)]
        return argv

    def cli(self, *commands: str, check: bool = True, timeout: float = 30,
            user: Optional[str] = None, password: Optional[str] = None,
            script: Optional[Path] = None) -> CliResult:
        argv = self.cli_argv(*commands, user=user, password=password, script=script)
        p = self.gw.run(*argv, check=False, timeout=timeout)
        r = CliResult(p.returncode, p.stdout, p.stderr, argv)
        if check and not r.ok:
            raise AssertionError(f"CLI command failed:\n{r}")
        return r

    def cli_script(self, lines: Iterable[str], *, check: bool = True, timeout: float = 60,
                   name: str = "commands") -> CliResult:
        """Runs command lines as one `arsec -f` script (what an operator would paste)."""
        path = self.dir / f"{name}-{next(_counter)}.scp"
        path.write_text("\n".join(lines) + "\n")
        return self.cli(script=path, check=check, timeout=timeout)

    def counters(self) -> dict[str, int]:
        return parse_counters(self.cli("SHOW DATAPLANE COUNTERS").text)

    def arp(self) -> dict[str, ArpRow]:
        return parse_arp(self.cli("SHOW IP ARP").text)

    # ---- traffic
    def ping(self, dst: str, *, ns: Optional[Netns] = None, count: int = 3,
             interval: float = 0.2, wait: float = 2, ttl: Optional[int] = None,
             deadline: Optional[float] = None, timeout: float = 60) -> PingResult:
        ns = ns or self.lan
        args = ["ping", "-n", "-c", str(count), "-i", str(interval), "-W", str(wait)]
        if ttl is not None:
            args += ["-t", str(ttl)]
        if deadline is not None:
            args += ["-w", str(deadline)]
        p = ns.run(*args, dst, check=False, timeout=timeout)
        return parse_ping(p.stdout + p.stderr)

    def ping_until_ok(self, dst: str, *, ns: Optional[Netns] = None,
                      timeout: float = 15) -> PingResult:
        """Pings until one reply comes back (the first ones may wait on ARP)."""
        end = time.time() + timeout
        r = None
        while time.time() < end:
            r = self.ping(dst, ns=ns, count=1, wait=1)
            if r.received:
                return r
        return r

    # ---- logs and teardown
    def logs(self, lines: int = 60) -> str:
        parts = []
        for p in self.procs:
            state = "running" if p.alive() else f"exited {p.popen.returncode}"
            parts.append(f"----- {p.name} (pid {p.pid}, {state}) {p.log}\n{tail(p.log, lines)}")
        return "\n".join(parts)

    def all_logs_text(self) -> str:
        return "".join(Path(p.log).read_text(errors="replace") for p in self.procs
                       if Path(p.log).exists())

    def close(self, keep_dir: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        # Control first (a secondary), then the primary.
        for p in sorted(self.procs, key=lambda p: p.name == "dataplane"):
            try:
                p.stop()
            except Exception:
                pass
        for ns in self.namespaces:
            run(["ip", "netns", "del", ns.name], check=False)
        _remove_dpdk_files(self.file_prefix)
        if not keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        if self in _open_labs:
            _open_labs.remove(self)


# --------------------------------------------------------------------------- two sites

@dataclass(frozen=True)
class SiteAddr:
    """The addresses of one site of a TwoSiteLab (masks are all /24)."""
    name: str
    lan_net: str       # the site's LAN
    lan_gw: str        # the gateway's vlan1 address
    lan_host: str      # the host on that LAN
    wan: str           # the gateway's ppp0 address
    wan_net: str       # the WAN segment between the gateway and the router
    router: str        # the router's address on that segment


# The seed's two LANs, each gateway on its own documentation range, a router between.
SITE_A = SiteAddr("A", "192.168.10.0", "192.168.10.1", "192.168.10.10",
                  "192.0.2.1", "192.0.2.0", "192.0.2.254")
SITE_B = SiteAddr("B", "192.168.20.0", "192.168.20.1", "192.168.20.10",
                  "198.51.100.2", "198.51.100.0", "198.51.100.254")


def site_boot(me: SiteAddr, *others: SiteAddr) -> list[str]:
    """A site gateway's IP configuration: both LAN and WAN, and each far site's WAN and
    LAN through the router (a far LAN must leave by ppp0, where the SPD is)."""
    lines = [
        f"# site {me.name} gateway",
        f"ADD IP INTERFACE=vlan1 IPADDRESS={me.lan_gw} MASK=255.255.255.0",
        f"ADD IP INTERFACE=ppp0 IPADDRESS={me.wan} MASK=255.255.255.0",
    ]
    for other in others:
        lines += [
            f"ADD IP ROUTE={other.wan_net} MASK=255.255.255.0 INTERFACE=ppp0 NEXTHOP={me.router}",
            f"ADD IP ROUTE={other.lan_net} MASK=255.255.255.0 INTERFACE=ppp0 NEXTHOP={me.router}",
        ]
    return lines


class Site(Lab):
    """One gateway of a TwoSiteLab with its LAN host. Its ppp0 (veth wan0) is cabled to
    the shared router namespace, which the TwoSiteLab owns and removes; `self.wan` is
    that router, so `ping(..., ns=site.wan)` pings from it."""

    def __init__(self, tag: str, addr: SiteAddr, router: Netns, **kwargs):
        super().__init__(tag, **kwargs)
        self.addr = addr
        self.wan = router
        self.router_if = f"to{addr.name}"
        self.namespaces = [self.lan, self.gw]

    def build(self) -> "Site":
        _add_namespaces(self.namespaces)
        run(["ip", "link", "add", "eth0", "netns", self.lan.name, "type", "veth",
             "peer", "name", "lan0", "netns", self.gw.name])
        run(["ip", "link", "add", "wan0", "netns", self.gw.name, "type", "veth",
             "peer", "name", self.router_if, "netns", self.wan.name])
        for ns, ifs in ((self.lan, ["eth0"]), (self.gw, ["lan0", "wan0"]),
                        (self.wan, [self.router_if])):
            for i in ifs:
                _quiet_link(ns, i)
                ns.ip("link", "set", i, "up")
        a = self.addr
        self.lan.ip("addr", "add", f"{a.lan_host}/24", "dev", "eth0")
        self.lan.ip("route", "add", "default", "via", a.lan_gw)
        self.wan.ip("addr", "add", f"{a.router}/24", "dev", self.router_if)
        return self

    @property
    def wan_mac(self) -> str:
        return self.wan.mac(self.router_if)


class RouterLab:
    """Site gateways (each a Site with its LAN host) around one router namespace with
    forwarding on: what TwoSiteLab and HubLab share. A subclass makes `self.router` and
    its sites before calling `_register()`, and lists them in `sites`."""

    def _register(self, tag: str) -> None:
        self.tag = tag
        self.closed = False
        _open_labs.append(self)

    @property
    def sites(self) -> "list[Site]":
        raise NotImplementedError

    def build(self):
        _add_namespaces([self.router])
        self.router.run("sysctl", "-qw", "net.ipv4.ip_forward=1", check=False)
        for site in self.sites:
            site.build()
        return self

    def logs(self, lines: int = 60) -> str:
        return "\n".join(f"===== site {s.addr.name}\n{s.logs(lines)}" for s in self.sites)

    def close(self, keep_dir: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        for site in self.sites:
            site.close(keep_dir=keep_dir)
        run(["ip", "netns", "del", self.router.name], check=False)
        if self in _open_labs:
            _open_labs.remove(self)


class TwoSiteLab(RouterLab):
    """lanA -- gwA (arsec) -- router -- gwB (arsec) -- lanB, as in the seed's VPN figure.

    Site A is 192.168.10.0/24 behind 192.0.2.1, site B 192.168.20.0/24 behind
    198.51.100.2; the router (a plain Linux namespace with forwarding on, which also
    checks every outer header it forwards) owns 192.0.2.254 and 198.51.100.254. Capture
    on `router` interfaces `toA` / `toB` to see the WAN. The two dataplanes run their
    workers on different CPUs (A on lcore 1, B on lcore 0) so they do not share one.
    """

    def __init__(self, tag: str = "two-site"):
        self.id = f"{_PREFIX}-{next(_counter)}"
        self.router = Netns(f"{self.id}-wan")
        self.a = Site(f"{tag}-A", SITE_A, self.router)
        self.b = Site(f"{tag}-B", SITE_B, self.router, lcores="1,0", workers=(0,),
                      eal_args=("--no-pci", "--main-lcore=1"))
        self._register(tag)

    @property
    def sites(self) -> "list[Site]":
        return [self.a, self.b]

    def start(self) -> "TwoSiteLab":
        self.a.start(site_boot(SITE_A, SITE_B))
        self.b.start(site_boot(SITE_B, SITE_A))
        return self

    def restart(self) -> None:
        """Both gateways anew with only their IP configuration (the topology stays)."""
        for site, me, other in ((self.a, SITE_A, SITE_B), (self.b, SITE_B, SITE_A)):
            site.stop_control()
            if site.dataplane:
                site.dataplane.stop()
            _remove_dpdk_files(site.file_prefix)
            site.boot_config.write_text("\n".join(site_boot(me, other)) + "\n")
            site.start_dataplane()
            site.start_control()


# --------------------------------------------------------------------------- a centre and its clients

def client_addr(k: int) -> SiteAddr:
    """Client site k (1, 2, ...) of a HubLab: a gateway with an address its ISP hands out
    from the shared address space (100.64.k.2/24, RFC 6598, as a VPN client without a
    fixed address would get), the router at 100.64.k.254, and a LAN 192.168.(20+k).0/24."""
    assert 1 <= k <= 9, k
    return SiteAddr(f"C{k}", f"192.168.{20 + k}.0", f"192.168.{20 + k}.1",
                    f"192.168.{20 + k}.10", f"100.64.{k}.2", f"100.64.{k}.0",
                    f"100.64.{k}.254")


# Per gateway of a HubLab: fewer packet buffers and descriptors than an appliance's
# defaults, since a handful of gateways share the machine's hugepages with whatever else
# runs: 59 pages of 2 MiB per dataplane instead of 73 (most of the rest is the FIB's
# 64 MiB LPM table, which no setting shrinks).
HUB_BUFFERS = "buffers = { mbufs = 4095; rx_desc = 256; tx_desc = 256; };\n"


class HubLab(RouterLab):
    """The seed's VPN centre with N clients: lanA -- gwA (the centre, SITE_A) -- router,
    and on the same router client gateways C1..CN (each a Site with its LAN host, WAN
    100.64.k.2/24; see `client_addr`). Capture on `router` interface `toA` for the
    centre's WAN, `toC<k>` for client k's. Each gateway's dataplane has small buffers
    (HUB_BUFFERS); workers alternate between the two CPUs (the centre's on lcore 1,
    client 1's on lcore 0, ...), each main lcore on the other one. Idle workers yield
    (docs/dataplane.md), so four gateways and their control planes share two CPUs.
    """

    def __init__(self, tag: str = "hub", n_clients: int = 3):
        self.id = f"{_PREFIX}-{next(_counter)}"
        self.router = Netns(f"{self.id}-wan")
        self.centre_addr = SITE_A
        self.client_addrs = [client_addr(k) for k in range(1, n_clients + 1)]
        common = dict(extra_config=HUB_BUFFERS)
        self.centre = Site(f"{tag}-A", SITE_A, self.router, **common)
        self.clients = []
        for i, addr in enumerate(self.client_addrs):
            main, worker = (1, 0) if i % 2 == 0 else (0, 1)
            self.clients.append(Site(f"{tag}-{addr.name}", addr, self.router,
                                     lcores=f"{main},{worker}", workers=(worker,),
                                     eal_args=("--no-pci", f"--main-lcore={main}"), **common))
        self._register(tag)

    @property
    def sites(self) -> "list[Site]":
        return [self.centre, *self.clients]

    def boot(self, site: Site) -> list[str]:
        """A gateway's IP configuration: the centre routes to every client, a client to
        the centre only (clients do not talk to each other)."""
        if site is self.centre:
            return site_boot(self.centre_addr, *self.client_addrs)
        return site_boot(site.addr, self.centre_addr)

    def start(self) -> "HubLab":
        for site in self.sites:
            site.start(self.boot(site))
        return self


# --------------------------------------------------------------------------- traffic tools

def drop_ipsec_input(ns: Netns) -> None:
    """Keeps a namespace's kernel (which has no IPsec here) from answering the ESP, AH,
    IPComp and ESP-in-UDP a test peer handles in user space with ICMP unreachables."""
    rules = textwrap.dedent("""\
        table inet arsec_peer {
          chain in {
            type filter hook input priority 0; policy accept;
            meta l4proto { 50, 51, 108 } drop
            udp dport { 2746, 4500 } drop
          }
        }
        """)
    ns.run("nft", "-f", "-", input=rules)


class Capture:
    """tshark writing what crosses `iface` of a namespace to a pcap file, and reading it
    back with display filters."""

    def __init__(self, ns: Netns, iface: str, path: Path, *, timeout: float = 20):
        self.ns, self.iface, self.path = ns, iface, Path(path)
        self.log = self.path.with_suffix(".log")
        self.popen = ns.popen("tshark", "-n", "-i", iface, "-w", str(self.path), log=self.log)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"tshark exited {self.popen.returncode}:\n{tail(self.log)}")
            if "Capturing on" in Path(self.log).read_text(errors="replace"):
                time.sleep(0.3)
                return
            time.sleep(0.1)
        self.stop(settle=0)
        raise RuntimeError(f"tshark did not start capturing:\n{tail(self.log)}")

    def stop(self, settle: float = 2.0) -> None:
        """Stops the capture. dumpcap hands packets over in blocks (TPACKET_V3) and
        drops the block still filling when interrupted: give it `settle` seconds first."""
        if self.popen.poll() is None:
            time.sleep(settle)
            os.kill(self.popen.pid, signal.SIGINT)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)

    def read(self, display_filter: str = "", fields: Sequence[str] = ("frame.number",),
             options: Sequence[str] = ()) -> list[list[str]]:
        """Rows of `fields` (tab separated by tshark) of the frames matching the filter."""
        args = ["tshark", "-n", "-r", str(self.path), *options, "-T", "fields",
                "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"]
        for f in fields:
            args += ["-e", f]
        if display_filter:
            args += ["-Y", display_filter]
        p = run(args, timeout=120)
        return [line.split("\t") for line in p.stdout.splitlines() if line.strip()]

    def frames(self, fields: Sequence[str], options: Sequence[str] = (),
               display_filter: str = "") -> list[dict]:
        """One dict per frame, field -> list of values (a field can occur more than
        once: an outer and an inner IP header), in one tshark pass."""
        rows = self.read(display_filter, fields, options)
        out = []
        for row in rows:
            row = row + [""] * (len(fields) - len(row))
            out.append({f: [x for x in v.split(",") if x != ""] for f, v in zip(fields, row)})
        return out


def tcp_transfer(src: Netns, dst: Netns, dst_ip: str, data: bytes, workdir: Path, *,
                 port: int = 5001, timeout: float = 90) -> tuple[dict, dict]:
    """Sends `data` over one TCP connection from `src` to `dst_ip:port` (a receiver in
    `dst`); returns what each end reports: bytes and sha256 (and the sender's seconds)."""
    import json
    n = next(_counter)
    blob = Path(workdir) / f"transfer-{n}.bin"
    blob.write_bytes(data)
    rlog = Path(workdir) / f"receiver-{n}.log"
    receiver = dst.popen(PYTHON, "-c", textwrap.dedent(f"""
        import hashlib, json, socket
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", {port})); s.listen(1); s.settimeout({timeout})
        print("LISTENING", flush=True)
        c, peer = s.accept(); c.settimeout({timeout})
        h, n = hashlib.sha256(), 0
        while True:
            b = c.recv(65536)
            if not b:
                break
            h.update(b); n += len(b)
        c.close()
        print("RESULT " + json.dumps({{"bytes": n, "sha256": h.hexdigest(), "peer": peer[0]}}), flush=True)
        """), log=rlog)
    try:
        deadline = time.time() + 15
        while "LISTENING" not in rlog.read_text(errors="replace"):
            if receiver.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"TCP receiver did not start:\n{tail(rlog)}")
            time.sleep(0.05)
        p = src.run(PYTHON, "-c", textwrap.dedent(f"""
            import hashlib, json, socket, time
            data = open({str(blob)!r}, "rb").read()
            t0 = time.time()
            s = socket.create_connection(({dst_ip!r}, {port}), timeout={timeout})
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            s.settimeout({timeout})
            while s.recv(65536):
                pass
            s.close()
            print("RESULT " + json.dumps({{"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                                          "seconds": time.time() - t0}}), flush=True)
            """), timeout=timeout + 10, check=False)
        receiver.wait(timeout=30)
        m = re.search(r"RESULT (.*)", p.stdout)
        sent = json.loads(m.group(1)) if m else {"error": p.stdout + p.stderr}
        m = re.search(r"RESULT (.*)", rlog.read_text(errors="replace"))
        got = json.loads(m.group(1)) if m else {"error": tail(rlog)}
        return sent, got
    finally:
        if receiver.poll() is None:
            os.kill(receiver.pid, signal.SIGKILL)
            receiver.wait(5)


@atexit.register
def _close_open_labs() -> None:
    for lab in list(_open_labs):
        lab.close(keep_dir=True)


# --------------------------------------------------------------------------- scapy

def send_frames(ns: Netns, iface: str, frames: Sequence[bytes], *, gap: float = 0.002,
                timeout: float = 60) -> None:
    """Sends raw Ethernet frames (built by the caller, e.g. with scapy) from `ns`."""
    code = f"""
        import logging; logging.getLogger("scapy").setLevel(logging.ERROR)
        from scapy.all import Raw, sendp, conf
        conf.verb = 0
        frames = [bytes.fromhex(h) for h in {[f.hex() for f in frames]!r}]
        sendp([Raw(f) for f in frames], iface={iface!r}, inter={gap}, verbose=0)
        print("sent", len(frames))
    """
    ns.python(code, timeout=timeout)


class Sniffer:
    """Counts, in a namespace, the frames arriving on `iface` that contain each of some
    byte markers, or that match a scapy expression on `p` (no BPF compiler needed)."""

    def __init__(self, ns: Netns, iface: str, duration: float, log: Path, *,
                 markers: Sequence[bytes] = (), expr: Optional[str] = None):
        code = f"""
            import json, logging; logging.getLogger("scapy").setLevel(logging.ERROR)
            from scapy.all import sniff, get_if_hwaddr, ARP, IP, ICMP, UDP
            markers = {list(markers)!r}
            counts = {{m.decode(): 0 for m in markers}}
            counts["expr"] = 0
            own = get_if_hwaddr({iface!r})
            def see(p):
                if p.src == own:      # only what arrives, not the host's own answers
                    return
                b = bytes(p)
                for m in markers:
                    if m in b:
                        counts[m.decode()] += 1
                if {expr or 'False'}:
                    counts["expr"] += 1
            sniff(iface={iface!r}, timeout={duration}, prn=see, store=False)
            print("COUNTS", json.dumps(counts), flush=True)
        """
        self.log = log
        self.popen = ns.popen(PYTHON, "-c", textwrap.dedent(code), log=log)
        time.sleep(1.5)   # let the capture socket open before traffic starts

    def result(self, timeout: float = 60) -> dict:
        import json
        self.popen.wait(timeout)
        m = re.search(r"COUNTS (.*)", Path(self.log).read_text())
        assert m, f"sniffer failed:\n{tail(self.log)}"
        return json.loads(m.group(1))

    def kill(self) -> None:
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)
