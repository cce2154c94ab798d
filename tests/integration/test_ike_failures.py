"""IKE failure modes and SA lifecycles against strongSwan (swanlab.py: lanA - arsec -
router - charon - swlan), through the real dataplane:

(a) mismatched phase 1 and phase 2 proposals are refused, logged and counted, and the
    daemon then serves a correct peer;
(b) replayed and truncated IKE messages (a real exchange captured with tshark in the
    router namespace, replayed and cut with scapy) are counted and leave the SAs alone;
(c) a flood of 2000 main mode first messages from random spoofed sources while
    strongSwan brings its tunnel up (the half-open cap, engine.cc);
(d) dead peer detection: charon is killed (-9), arsec declares it dead and removes its
    SAs;
(e) rekeying under continuous traffic without one lost ping, strongSwan initiating the
    rekeys (short CHILD_SA rekey time) and arsec initiating them (bundle EXPIRYKBYTES:
    EXPIRYSECONDS may not go below 300);
(f) NAT-T through a NAT: the router masquerades arsec's WAN (nftables), arsec is behind
    the NAT and floats to 4500, ESP in UDP, traffic both ways.

The arsec configuration is test_ike_strongswan.py's (the seed's automatic-keying
commands with NATTRAVERSAL=TRUE).
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

import netlab
from netlab import SITE_A, SITE_B, parse_table
from swanlab import PSK, SwanLab, harness_problem
from test_ike_strongswan import (arsec_commands, check_sas, ipsec_sas, isakmp_log, isakmp_sas,
                                 traffic_both_ways, wait_for)

pytestmark = pytest.mark.skipif(harness_problem() is not None, reason=harness_problem() or "")


@pytest.fixture
def lab():
    problem = netlab.environment_problem()
    if problem:
        pytest.skip(problem)
    lab = SwanLab("ikef").build().start()
    try:
        yield lab
    finally:
        lab.close()


def counters(lab: SwanLab, group: str) -> dict[str, int]:
    text = lab.a.cli(f"SHOW ISAKMP COUNTERS={group}").text
    out = {}
    for name, value in re.findall(r"([A-Za-z][A-Za-z0-9]*)\s*\.*\s+(\d+)", text):
        out[name] = int(value)
    return out


def swan_up_expect_failure(lab: SwanLab, **kw) -> subprocess.CompletedProcess:
    args = ["up", lab.instance, lab.sw.name, "--ike", kw.get("mode", "v1-main"),
            "--local", SITE_B.wan, "--remote", SITE_A.wan,
            "--local-ts", f"{SITE_B.lan_net}/24", "--remote-ts", f"{SITE_A.lan_net}/24",
            "--psk", PSK, "--ike-proposal", kw.get("ike", "aes128-sha1-modp1024"),
            "--esp", kw.get("esp", "aes128-sha1"), "--initiate", "--timeout", "12", "--replace"]
    lab.swan_up = True
    return lab.swan(*args, check=False, timeout=60)


def esp_spis(lab: SwanLab) -> set[tuple[int, int]]:
    return {(int(r["InSPI"]), int(r["OutSPI"])) for r in ipsec_sas(lab)
            if r.get("Protocol") == "ESP" and r.get("InSPI", "").isdigit()}


def charon_pid(lab: SwanLab) -> int:
    return int((lab.ssp_dir / lab.instance / "run" / "charon.pid").read_text().split()[0])


# ---------------------------------------------------------------- (a)

def test_phase1_proposal_mismatch_refused_then_correct_peer_served(lab):
    lab.a.cli_script(arsec_commands())
    p = swan_up_expect_failure(lab, ike="3des-md5-modp1536")
    assert p.returncode != 0, p.stdout
    assert not isakmp_sas(lab)
    log = isakmp_log(lab)
    assert re.search(r"Failed - [^.]*(NO-PROPOSAL|proposal|offer)", log, re.I), log
    # (SHOW reads the daemon's snapshot, refreshed just after the log line is written)
    wait_for(lambda: counters(lab, "MAIN").get("noProposalChosen", 0) >= 1, 2,
             "MAIN noProposalChosen", lab)
    # The same daemon serves the correct peer next.
    lab.swan_start(initiate=True, extra=["--replace"])
    traffic_both_ways(lab)
    check_sas(lab)


def test_phase2_proposal_mismatch_refused_then_correct_peer_served(lab):
    lab.a.cli_script(arsec_commands())
    p = swan_up_expect_failure(lab, esp="3des-md5")
    assert p.returncode != 0, p.stdout
    assert not esp_spis(lab), lab.a.cli("SHOW IPSEC SA").text
    log = isakmp_log(lab)
    assert re.search(r"Failed - [^.]*(NO-PROPOSAL|proposal|offer)", log, re.I), log
    wait_for(lambda: counters(lab, "QUICK").get("noProposalChosen", 0) >= 1, 2,
             "QUICK noProposalChosen", lab)
    lab.swan_start(initiate=True, extra=["--replace"])
    traffic_both_ways(lab)
    check_sas(lab)


# ---------------------------------------------------------------- (b)

REPLAY = r"""
import sys
from scapy.all import rdpcap, IP, UDP, Raw, send, conf
conf.verb = 0
pkts = [p for p in rdpcap(sys.argv[1]) if p.haslayer(UDP) and p[IP].src == "{peer}"
        and p[UDP].dport in (500, 4500)]
sent = 0
def out(sport, dport, payload):
    global sent
    send(IP(src="{peer}", dst="{gw}")/UDP(sport=sport, dport=dport)/Raw(payload), iface="toA")
    sent += 1
for p in pkts:
    u = p[UDP]
    data = bytes(u.payload)
    out(u.sport, u.dport, data)                     # replayed as is
    marker = 4 if u.dport == 4500 else 0
    for cut in (1, 10, 27, 28 + marker, len(data) // 2, len(data) - 1):
        if 0 < cut + marker < len(data):
            out(u.sport, u.dport, data[:marker + cut] if cut > 0 else data)
    if len(data) > 40 + marker:                     # a length field that lies
        bad = bytearray(data)
        bad[marker + 24:marker + 28] = (len(data) + 100).to_bytes(4, "big")
        out(u.sport, u.dport, bytes(bad))
print(len(pkts), sent)
"""


def test_replayed_and_truncated_messages_are_counted_and_harmless(lab):
    lab.a.cli_script(arsec_commands())
    pcap = lab.a.dir / "ike.pcap"
    cap = lab.router.popen("tshark", "-q", "-i", "toA", "-w", str(pcap), "-f",
                           "udp port 500 or udp port 4500", log=lab.a.dir / "tshark.log")
    try:
        time.sleep(2)
        lab.swan_start(initiate=True)
        traffic_both_ways(lab)
        time.sleep(1)
    finally:
        cap.terminate()
        cap.wait(timeout=10)
    before_sas = isakmp_sas(lab)
    before_spis = esp_spis(lab)
    before = counters(lab, "GENERAL")
    script = lab.a.dir / "replay.py"
    script.write_text(REPLAY.replace("{peer}", SITE_B.wan).replace("{gw}", SITE_A.wan))
    r = lab.router.run(netlab.PYTHON, str(script), str(pcap), timeout=180, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    n_captured, n_sent = map(int, r.stdout.split()[-2:])
    assert n_captured >= 4 and n_sent > n_captured, r.stdout
    time.sleep(2)
    after = counters(lab, "GENERAL")
    received = after["messagesReceived"] - before["messagesReceived"]
    assert received >= n_sent * 0.9, (before, after, n_sent)
    rejected = sum(after[k] - before[k] for k in
                   ("badHeader", "malformedPayloads", "unknownCookies", "decryptFailed",
                    "noExchange", "peerRetransmissions", "messagesDropped"))
    assert rejected >= n_sent * 0.5, (before, after, n_sent)
    # The SAs are untouched and carry traffic.
    assert isakmp_sas(lab) == before_sas or len(isakmp_sas(lab)) == len(before_sas)
    assert esp_spis(lab) == before_spis, lab.a.cli("SHOW IPSEC SA").text
    traffic_both_ways(lab)
    assert "INSTALLED" in lab.swan_sas()


# ---------------------------------------------------------------- (c)

FLOOD = r"""
import os, random, sys
from scapy.all import IP, UDP, Raw, send, conf
conf.verb = 0
random.seed(int(sys.argv[2]))
# First messages offering AES-128/SHA/group 2 with a pre-shared key: main mode (just the
# SA payload) and aggressive mode (SA, KE, NONCE, ID), alternately.
def attr(t, v): return (0x8000 | t).to_bytes(2, "big") + v.to_bytes(2, "big")
attrs = attr(1, 7) + attr(14, 128) + attr(2, 2) + attr(4, 2) + attr(3, 1) + attr(11, 1) + attr(12, 28800)
transform = bytes([0, 0]) + (8 + len(attrs)).to_bytes(2, "big") + bytes([1, 1, 0, 0]) + attrs
proposal = bytes([0, 0]) + (8 + len(transform)).to_bytes(2, "big") + bytes([1, 1, 0, 1]) + transform
sa_body = (1).to_bytes(4, "big") + (1).to_bytes(4, "big") + proposal
def payload(nxt, body): return bytes([nxt, 0]) + (4 + len(body)).to_bytes(2, "big") + body
def message(aggressive):
    if aggressive:
        body = (payload(4, sa_body) + payload(10, os.urandom(128)) + payload(5, os.urandom(20))
                + payload(0, bytes([2, 0, 0, 0]) + b"flood.example"))
    else:
        body = payload(0, sa_body)
    hdr = (os.urandom(8) + bytes(8) + bytes([1, 0x10, 4 if aggressive else 2, 0]) + bytes(4)
           + (28 + len(body)).to_bytes(4, "big"))
    return hdr + body
n = int(sys.argv[1])
pkts = [IP(src="100.%d.%d.%d" % (random.randrange(64, 128), random.randrange(256), random.randrange(1, 255)),
           dst="{gw}")/UDP(sport=random.randrange(1024, 65535), dport=500)/Raw(message(i % 2 == 1))
        for i in range(n)]
send(pkts, iface="toA")
print(n)
"""


def test_half_open_flood_does_not_stop_a_real_peer(lab):
    # A PEER=ANY aggressive mode policy too, so that spoofed aggressive first messages get
    # half-open state (and cost a Diffie-Hellman each); the spoofed main mode ones have no
    # policy and are refused before any state is made.
    cmds = arsec_commands()
    cmds.insert(3, 'CREATE ISAKMP POLICY=any PEER=ANY KEY=1 MODE=AGGRESSIVE REMOTEID="flood.example"')
    lab.a.cli_script(cmds)
    script = lab.a.dir / "flood.py"
    script.write_text(FLOOD.replace("{gw}", SITE_A.wan))
    r = lab.router.run(netlab.PYTHON, str(script), "2000", "1", timeout=180, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    time.sleep(1)
    # strongSwan comes up while a second flood runs.
    flood = lab.router.popen(netlab.PYTHON, str(script), "2000", "2", log=lab.a.dir / "flood2.log")
    try:
        lab.swan_start(initiate=True)
    finally:
        flood.wait(timeout=180)
    traffic_both_ways(lab)
    check_sas(lab)
    general = counters(lab, "GENERAL")
    assert general["messagesReceived"] >= 3000, general
    # 4000 spoofed first messages, at most half_open_limit (64) of them hold state.
    assert general.get("halfOpenEvicted", 0) + general.get("halfOpenRefused", 0) >= 3000, \
        lab.a.cli("SHOW ISAKMP COUNTERS").text
    main = counters(lab, "MAIN")
    assert main.get("completed", 0) >= 1, main
    aggr = counters(lab, "AGGRESSIVE")
    assert aggr.get("responderStarted", 0) >= 1000, aggr
    assert len(isakmp_sas(lab)) == 1, lab.a.cli("SHOW ISAKMP SA").text


# ---------------------------------------------------------------- (d)

def test_dead_peer_detected_and_its_sas_removed(lab):
    cmds = arsec_commands()
    cmds.insert(3, "SET ISAKMP POLICY=i DPDMODE=BOTH DPDIDLETIMEOUT=10 MSGTIMEOUT=2 "
                   "MSGRETRYLIMIT=3 MSGBACKOFF=NONE")
    lab.a.cli_script(cmds)
    lab.swan_start(initiate=True, extra=["--dpd", "5"])
    traffic_both_ways(lab)
    assert esp_spis(lab)
    # While charon lives, DPD is answered.
    time.sleep(14)
    dpd = counters(lab, "DPD")
    assert dpd.get("peersDead", 0) == 0, dpd
    # charon dies without a word (no DELETE).
    pid = charon_pid(lab)
    subprocess.run(["kill", "-9", str(pid)], check=True)
    killed = time.time()
    # idle 10 s + 3 R-U-THERE 2 s apart + the daemon's tick: well within 40 s.
    wait_for(lambda: counters(lab, "DPD").get("peersDead", 0) >= 1, 45, "DPD to declare the peer dead", lab)
    took = time.time() - killed
    assert took <= 40, took
    wait_for(lambda: not esp_spis(lab), 10, "the IPsec SAs to go", lab)
    assert not isakmp_sas(lab), lab.a.cli("SHOW ISAKMP SA").text
    log = " ".join(lab.a.cli("SHOW LOG MODULE=ISAK").text.split())
    assert f"DPD: peer {SITE_B.wan} is dead" in log, log


# ---------------------------------------------------------------- (e)

def ping_stream(lab: SwanLab, seconds: int, pps: int = 25) -> subprocess.Popen:
    interval = f"{1.0 / pps:.3f}"
    return subprocess.Popen(lab.a.lan.cmd("ping", "-n", "-i", interval, "-W", "2",
                                          "-c", str(seconds * pps), SITE_B.lan_host),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def run_rekeys(lab: SwanLab, seconds: int, want_rekeys: int) -> None:
    first = esp_spis(lab)
    assert first
    seen = [first]
    stream = ping_stream(lab, seconds)
    end = time.time() + seconds + 15
    while time.time() < end and stream.poll() is None:
        spis = esp_spis(lab)
        if spis and spis != seen[-1]:
            seen.append(spis)
        time.sleep(1)
    out, _ = stream.communicate(timeout=30)
    r = netlab.parse_ping(out)
    ins = set()
    for s in seen:
        ins |= {i for i, _ in s}
    assert len(ins) >= want_rekeys + 1, f"SPIs seen: {seen}\n{lab.logs()}"
    assert r.transmitted >= seconds * 20 and r.lost == 0, f"{r}\n{out[-800:]}\n{lab.logs()}"
    # Only the newest SAs remain once DELETEDELAY has passed.
    time.sleep(12)
    now = esp_spis(lab)
    assert len(now) <= 2, lab.a.cli("SHOW IPSEC SA").text
    assert now and all(i not in {x for x, _ in first} for i, _ in now), (first, now)


def test_rekey_by_strongswan_under_traffic_loses_nothing(lab):
    cmds = arsec_commands()
    cmds.insert(3, "SET ISAKMP POLICY=i DELETEDELAY=5")
    lab.a.cli_script(cmds)
    lab.swan_start(initiate=True, extra=["--esp-rekey", "20", "--child-opt", "rand_time=2s"])
    traffic_both_ways(lab)
    run_rekeys(lab, 50, 2)
    assert counters(lab, "QUICK").get("responderStarted", 0) >= 3


def test_rekey_by_arsec_under_traffic_loses_nothing(lab):
    cmds = arsec_commands()
    cmds.insert(3, "SET ISAKMP POLICY=i DELETEDELAY=5")
    cmds = [c.replace('CREATE IPSEC BUNDLE=1 KEYMAN=ISAKMP STRING="1"',
                      'CREATE IPSEC BUNDLE=1 KEYMAN=ISAKMP STRING="1" EXPIRYKBYTES=60')
            for c in cmds]
    lab.a.cli_script(cmds)
    lab.swan_start()
    wait_for(lambda: lab.ping_a_to_b(count=2).received > 0, 40, "traffic after acquire", lab)
    lab.swan("wait-sa", lab.instance, "--timeout", "20")
    run_rekeys(lab, 50, 2)
    assert counters(lab, "QUICK").get("rekeys", 0) >= 2


# ---------------------------------------------------------------- (f)

def test_nat_traversal_through_a_masquerading_router(lab):
    # The router hides site A's WAN behind its own address toward strongSwan.
    nat = SITE_B.router
    rules = lab.a.dir / "nat.nft"
    rules.write_text("table ip nat {\n  chain post {\n"
                     "    type nat hook postrouting priority 100;\n"
                     f"    oifname \"toB\" ip saddr {SITE_A.wan_net}/24 masquerade\n"
                     "  }\n}\n")
    lab.router.run("nft", "-f", str(rules))
    lab.a.cli_script(arsec_commands())
    # strongSwan knows arsec by its ID (its own address, 192.0.2.1), not by where it
    # comes from.
    args = ["up", lab.instance, lab.sw.name, "--ike", "v1-main", "--local", SITE_B.wan,
            "--remote", "%any", "--remote-id", SITE_A.wan, "--local-id", SITE_B.wan,
            "--local-ts", f"{SITE_B.lan_net}/24", "--remote-ts", f"{SITE_A.lan_net}/24",
            "--psk", PSK, "--ike-proposal", "aes128-sha1-modp1024", "--esp", "aes128-sha1",
            "--timeout", "40"]
    lab.swan_up = True
    lab.swan(*args, timeout=90)
    wait_for(lambda: lab.ping_a_to_b(count=2).received > 0, 40, "traffic after acquire", lab)
    lab.swan("wait-sa", lab.instance, "--timeout", "20")
    traffic_both_ways(lab)
    sa = lab.a.cli("SHOW ISAKMP SA").text
    assert isakmp_sas(lab), sa
    natt = counters(lab, "NATT")
    assert natt.get("localBehindNat", 0) >= 1 and natt.get("floatedTo4500", 0) >= 1, natt
    swan = lab.swan_sas()
    assert re.search(rf"{re.escape(nat)}\[4500\]|{re.escape(nat)}\[\d+\]", swan), swan
    assert "UDP_ENCAP" in swan.upper() or "ENCAP" in swan.upper() or "4500" in swan, swan
    # ESP leaves arsec in UDP from 4500 (inside the NAT) and comes back to 4500.
    cap = subprocess.Popen(lab.router.cmd("timeout", "20", "tshark", "-l", "-i", "toA", "-c", "6",
                                          "-f", "udp port 4500 and greater 100", "-T", "fields",
                                          "-e", "ip.src", "-e", "udp.srcport", "-e", "udp.dstport"),
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    time.sleep(6)                        # tshark takes a few seconds to start
    assert lab.ping_a_to_b(count=10).received == 10
    out, _ = cap.communicate(timeout=30)
    rows = [l.split() for l in out.splitlines() if l.strip()]
    assert any(r[0] == SITE_A.wan and r[1] == "4500" for r in rows), out
    assert any(r[0] == SITE_B.wan and r[2] == "4500" for r in rows), out
