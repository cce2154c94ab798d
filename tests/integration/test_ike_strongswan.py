"""IKEv1 interop: an arsec gateway against strongSwan's charon, both roles, through the
real dataplane (swanlab.py: lanA - arsec - router - charon - swlan).

arsec is configured with the seed's automatic-keying commands (CREATE ENCO KEY, CREATE
ISAKMP POLICY ... SENDN=TRUE, SASPEC/BUNDLE KEYMAN=ISAKMP, the "isa" PERMIT policy for
UDP 500 ahead of the IPSEC one), plus NATTRAVERSAL=TRUE and a PERMIT for UDP 4500,
because strongSwan's userspace ESP always runs over UDP 4500. Each scenario brings the
VPN up, sends traffic both ways between the LANs, and checks SHOW ISAKMP SA, SHOW IPSEC
SA and strongSwan's own view of the SAs.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

import netlab
from netlab import SITE_A, SITE_B, parse_table
from swanlab import PSK, SwanLab, harness_problem, plugin_problem

pytestmark = pytest.mark.skipif(harness_problem() is not None, reason=harness_problem() or "")


def arsec_commands(*, encalg="AES128", hashalg="SHA", group=2, esp_enc="AES128",
                   esp_hash="SHA", mode=None, peer=SITE_B.wan, remoteid=None, localid=None,
                   pfs_group=None, psk=PSK, rsa=False, xauth=None, xauth_name=None,
                   xauth_pass=None, users=()) -> list[str]:
    auth = "AUTHTYPE=RSASIG LOCALRSAKEY=1" if rsa else "KEY=1"
    iso = [f"CREATE ISAKMP POLICY=i PEER={peer} {auth} SENDN=TRUE",
           f"SET ISAKMP POLICY=i NATTRAVERSAL=TRUE ENCALG={encalg} HASHALG={hashalg} GROUP={group}"]
    if rsa:
        # rsa1.key, gw-a.pem and ca.pem in the configuration directory (install_rsa_files).
        iso.append("SET ISAKMP POLICY=i LOCALCERTIFICATE=gw-a.pem CACERTIFICATE=ca.pem")
    if xauth:
        iso[0] += f" XAUTH={xauth}"
    if xauth_name:
        iso.append(f"SET ISAKMP POLICY=i XAUTHNAME={xauth_name} XAUTHPASS={xauth_pass}")
    if mode:
        iso[0] += f" MODE={mode}"
    if remoteid:
        iso[0] += f' REMOTEID="{remoteid}"'
    if localid:
        iso[0] += f' LOCALID="{localid}"'
    vpn_peer = "DYNAMIC" if peer == "ANY" else peer
    lines = [
        *[f"ADD USER={u} PASSWORD={pw} LOGIN=NO" for u, pw in users],
        f'CREATE ENCO KEY=1 TYPE=GENERAL VALUE="{psk}"',
        *iso,
        f"CREATE IPSEC SASPEC=1 KEYMAN=ISAKMP PROT=ESP ENCALG={esp_enc} HASHALG={esp_hash}",
        'CREATE IPSEC BUNDLE=1 KEYMAN=ISAKMP STRING="1"',
        "CREATE IPSEC POLICY=isa INT=ppp0 ACTION=PERMIT LPORT=500 RPORT=500 TRANSPORT=UDP",
        "CREATE IPSEC POLICY=natt INT=ppp0 ACTION=PERMIT LPORT=4500 TRANSPORT=UDP",
        f"CREATE IPSEC POLICY=vpn INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=1 PEER={vpn_peer}",
        f"SET IPSEC POLICY=vpn LAD={SITE_A.lan_net} LMA=255.255.255.0 "
        f"RAD={SITE_B.lan_net} RMA=255.255.255.0",
    ]
    if pfs_group:
        lines.append(f"SET IPSEC POLICY=vpn GROUP={pfs_group} USEPFSKEY=TRUE")
    lines += ["CREATE IPSEC POLICY=inet INT=ppp0 ACTION=PERMIT",
              "ENABLE IPSEC", "ENABLE ISAKMP"]
    return lines


@pytest.fixture
def lab():
    problem = netlab.environment_problem()
    if problem:
        pytest.skip(problem)
    lab = SwanLab("ike").build().start()
    try:
        yield lab
    except Exception:
        raise
    finally:
        lab.close()


def isakmp_sas(lab: SwanLab) -> list[str]:
    out = lab.a.cli("SHOW ISAKMP SA").text
    return [l for l in out.splitlines() if re.match(r"^\s*\d+\s+\d+\.\d+\.\d+\.\d+", l)]


def ipsec_sas(lab: SwanLab) -> list[dict[str, str]]:
    return [r for r in parse_table(lab.a.cli("SHOW IPSEC SA").text) if r]


def isakmp_log(lab: SwanLab) -> str:
    """SHOW LOG MODULE=ISAK with the seed's line wrapping undone."""
    return " ".join(lab.a.cli("SHOW LOG MODULE=ISAK").text.split())


def wait_for(pred, timeout: float, what: str, lab: SwanLab):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}\n{lab.logs()}")


def traffic_both_ways(lab: SwanLab) -> None:
    # The first packets may be spent on the SA coming up.
    ok = False
    for _ in range(10):
        if lab.ping_a_to_b(count=3).received > 0:
            ok = True
            break
        time.sleep(0.5)
    assert ok, f"no ping A -> B through the tunnel\n{lab.logs()}"
    r = lab.ping_a_to_b(count=5)
    assert r.received == 5, f"A -> B: {r}\n{lab.logs()}"
    r = lab.ping_b_to_a(count=5)
    assert r.received == 5, f"B -> A: {r}\n{lab.logs()}"


def check_sas(lab: SwanLab, enc: str = "AES128", hashalg: str = "SHA") -> None:
    rows = isakmp_sas(lab)
    assert rows, f"SHOW ISAKMP SA is empty\n{lab.a.cli('SHOW ISAKMP SA').text}"
    assert SITE_B.wan in rows[0] and enc in rows[0] and hashalg in rows[0], rows
    sas = lab.a.cli("SHOW IPSEC SA").text
    assert re.search(r"\bvpn\b.*\bValid\b.*\bESP\b", sas, re.I), sas
    swan = lab.swan_sas()
    assert "INSTALLED" in swan, swan
    # strongSwan's inbound SPI is arsec's outbound one and vice versa.
    swan_in = {int(x, 16) for x in re.findall(r"\bin\s+([0-9a-f]{8})", swan)}
    swan_out = {int(x, 16) for x in re.findall(r"\bout\s+([0-9a-f]{8})", swan)}
    rows = [r for r in parse_table(sas) if r.get("Protocol") == "ESP"]
    assert rows, sas
    ours_out = {int(r["OutSPI"]) for r in rows}
    ours_in = {int(r["InSPI"]) for r in rows}
    assert swan_in & ours_out and swan_out & ours_in, f"{sas}\n{swan}"


def test_main_mode_psk_strongswan_initiates(lab):
    lab.a.cli_script(arsec_commands())
    lab.swan_start(initiate=True)
    wait_for(lambda: isakmp_sas(lab), 20, "the ISAKMP SA", lab)
    traffic_both_ways(lab)
    check_sas(lab)
    log = isakmp_log(lab)
    assert "Phase 1 [resp] started with peer 198.51.100.2" in log, log
    assert "Completed successfully" in log, log


def test_main_mode_psk_arsec_initiates_on_traffic(lab):
    lab.a.cli_script(arsec_commands())
    lab.swan_start()
    # The first ping raises an acquire; arsec negotiates; later pings cross.
    wait_for(lambda: lab.ping_a_to_b(count=2).received > 0, 40, "traffic after acquire", lab)
    lab.swan("wait-sa", lab.instance, "--timeout", "20")
    traffic_both_ways(lab)
    check_sas(lab)
    log = isakmp_log(lab)
    assert "Phase 1 [init] started with peer 198.51.100.2" in log, log
    assert "Phase 2 [init] started with peer 198.51.100.2" in log, log


@pytest.mark.parametrize("group,swgroup", [(1, "modp768"), (2, "modp1024")])
def test_main_mode_des_sha(lab, group, swgroup):
    lab.a.cli_script(arsec_commands(encalg="DES", hashalg="SHA", group=group, esp_enc="DES"))
    lab.swan_start(ike=f"des-sha1-{swgroup}", esp="des-sha1", initiate=True)
    wait_for(lambda: isakmp_sas(lab), 20, "the ISAKMP SA", lab)
    traffic_both_ways(lab)
    check_sas(lab, enc="DES")


def test_quick_mode_with_pfs(lab):
    lab.a.cli_script(arsec_commands(pfs_group=2))
    lab.swan_start(esp="aes128-sha1-modp1024", initiate=True)
    traffic_both_ways(lab)
    check_sas(lab)


def test_aggressive_mode_peer_any_by_remoteid(lab):
    lab.a.cli_script(arsec_commands(mode="AGGRESSIVE", peer="ANY", remoteid="right-gw.example"))
    lab.swan_start(mode="v1-aggr", initiate=True,
                   extra=["--local-id", "fqdn:right-gw.example", "--remote-id", SITE_A.wan])
    traffic_both_ways(lab)
    rows = isakmp_sas(lab)
    assert rows and SITE_B.wan in rows[0], rows


def test_wrong_psk_is_refused_and_logged(lab):
    lab.a.cli_script(arsec_commands(psk="not-the-same"))
    p = lab.swan("up", lab.instance, lab.sw.name, "--ike", "v1-main", "--local", SITE_B.wan,
                 "--remote", SITE_A.wan, "--local-ts", f"{SITE_B.lan_net}/24",
                 "--remote-ts", f"{SITE_A.lan_net}/24", "--psk", PSK, "--initiate",
                 "--timeout", "15", check=False, timeout=60)
    lab.swan_up = True
    assert p.returncode != 0
    assert not isakmp_sas(lab)
    log = isakmp_log(lab)
    assert "Failed" in log, log
    counters = lab.a.cli("SHOW ISAKMP COUNTERS=MAIN").text
    assert re.search(r"authenticationFailed\D+[1-9]", counters), counters
    # Secrets never show.
    for text in (log, counters, lab.a.all_logs_text()):
        assert PSK not in text and "not-the-same" not in text


# ---------------------------------------------------------------- RSA signatures

DATA = Path(__file__).resolve().parents[1] / "unit" / "ike" / "data"
DN_A = "C=JP, O=arsec test, OU=vpn, CN=gw-a"       # data/rsa-peer-cert.pem (arsec)
DN_B = "C=JP, O=arsec test, OU=vpn, CN=gw-b"       # data/rsa-peer2-cert.pem (strongSwan)


def install_rsa_files(lab: SwanLab) -> None:
    """arsec's LOCALRSAKEY=1 key and certificates, in its configuration directory."""
    for src, name in (("rsa-peer-key.pem", "rsa1.key"), ("rsa-peer-cert.pem", "gw-a.pem"),
                      ("rsa-ca-cert.pem", "ca.pem")):
        shutil.copy(DATA / src, lab.a.dir / name)


def swan_start_rsa(lab: SwanLab, *, initiate: bool, mode: str = "v1-main") -> None:
    lab.swan_start_conf(
        local={"auth": "pubkey", "certs": "gw-b.pem", "id": DN_B},
        remote={"auth": "pubkey", "id": DN_A},
        files=[("x509", DATA / "rsa-peer2-cert.pem", "gw-b.pem"),
               ("private", DATA / "rsa-peer2-key.pem", "gw-b.key"),
               ("x509ca", DATA / "rsa-ca-cert.pem", "ca.pem")],
        mode=mode, initiate=initiate)


def check_rsa_sa(lab: SwanLab) -> None:
    rows = isakmp_sas(lab)
    assert rows, lab.a.cli("SHOW ISAKMP SA").text
    detail = lab.a.cli(f"SHOW ISAKMP SA={rows[0].split()[0]}").text
    assert re.search(r"Authentication Type\W+RSASIG", detail), detail
    assert DN_B in detail and DN_A in detail, detail
    log = isakmp_log(lab)
    assert f'peer certificate "{DN_B}"' in log, log
    for text in (log, lab.a.all_logs_text()):
        assert "PRIVATE KEY" not in text


def test_main_mode_rsasig_strongswan_initiates(lab):
    install_rsa_files(lab)
    lab.a.cli_script(arsec_commands(rsa=True))
    swan_start_rsa(lab, initiate=True)
    wait_for(lambda: isakmp_sas(lab), 20, "the ISAKMP SA", lab)
    traffic_both_ways(lab)
    check_sas(lab)
    check_rsa_sa(lab)


def test_main_mode_rsasig_arsec_initiates(lab):
    install_rsa_files(lab)
    lab.a.cli_script(arsec_commands(rsa=True))
    swan_start_rsa(lab, initiate=False)
    wait_for(lambda: lab.ping_a_to_b(count=2).received > 0, 40, "traffic after acquire", lab)
    lab.swan("wait-sa", lab.instance, "--timeout", "20")
    traffic_both_ways(lab)
    check_sas(lab)
    check_rsa_sa(lab)
    assert "Phase 1 [init] started with peer 198.51.100.2" in isakmp_log(lab)
    # strongSwan checked arsec's certificate against the CA and arsec's DN.
    assert re.search(r"authentication of '" + re.escape(DN_A) + r"' with RSA.* successful",
                     lab.swan_logs(400)), lab.swan_logs(400)


def test_aggressive_mode_rsasig_peer_any(lab):
    # PEER=ANY with signatures: the certificate, not the address, says who the peer is.
    install_rsa_files(lab)
    lab.a.cli_script(arsec_commands(rsa=True, mode="AGGRESSIVE", peer="ANY"))
    swan_start_rsa(lab, initiate=True, mode="v1-aggr")
    traffic_both_ways(lab)
    check_sas(lab)
    check_rsa_sa(lab)
    assert "AGGRESSIVE" in lab.a.cli(f"SHOW ISAKMP SA={isakmp_sas(lab)[0].split()[0]}").text


def big_certificate(lab: SwanLab) -> int:
    """gw-a's certificate made again at test time, same key, DN and CA, with a hundred
    more subjectAltNames: about 7 KB, so the CERT payload alone is more than one 2 KB
    dataplane buffer holds and the IKE message leaves arsec as a chain of buffers, in
    IP fragments at MTU 1500. Replaces gw-a.pem in arsec's configuration directory;
    returns its DER size."""
    work = lab.a.dir / "bigcert"
    work.mkdir(exist_ok=True)
    sans = ",".join(f"DNS:host-{i:03d}.a-long-name-to-make-a-large-certificate.example.test"
                    for i in range(100))
    (work / "ext.cnf").write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        f"subjectAltName=DNS:gw-a.example.test,email:gw-a@example.test,IP:{SITE_A.wan},{sans}\n")
    netlab.run(["openssl", "req", "-new", "-key", str(DATA / "rsa-peer-key.pem"),
                "-subj", "/C=JP/O=arsec test/OU=vpn/CN=gw-a", "-out", str(work / "gw-a.csr")])
    netlab.run(["openssl", "x509", "-req", "-in", str(work / "gw-a.csr"),
                "-CA", str(DATA / "rsa-ca-cert.pem"), "-CAkey", str(DATA / "rsa-ca-key.pem"),
                "-set_serial", "4", "-days", "2", "-extfile", str(work / "ext.cnf"),
                "-out", str(lab.a.dir / "gw-a.pem")])
    netlab.run(["openssl", "x509", "-in", str(lab.a.dir / "gw-a.pem"), "-outform", "DER",
                "-out", str(work / "gw-a.der")])
    return (work / "gw-a.der").stat().st_size


def reassembled(ns: netlab.Netns) -> int:
    """IP datagrams the namespace's kernel put together from fragments."""
    lines = [l.split() for l in ns.run("cat", "/proc/net/snmp").stdout.splitlines()
             if l.startswith("Ip:")]
    return int(dict(zip(lines[0][1:], lines[1][1:]))["ReasmOKs"])


@pytest.mark.parametrize("initiator", ["strongswan", "arsec"])
def test_main_mode_rsasig_certificate_larger_than_a_buffer(lab, initiator):
    install_rsa_files(lab)
    size = big_certificate(lab)
    assert size > 4096, size
    lab.a.cli_script(arsec_commands(rsa=True))
    before = reassembled(lab.sw)
    if initiator == "strongswan":
        swan_start_rsa(lab, initiate=True)
        wait_for(lambda: isakmp_sas(lab), 20, "the ISAKMP SA", lab)
    else:
        swan_start_rsa(lab, initiate=False)
        wait_for(lambda: lab.ping_a_to_b(count=2).received > 0, 40, "traffic after acquire", lab)
        lab.swan("wait-sa", lab.instance, "--timeout", "20")
    traffic_both_ways(lab)
    check_sas(lab)
    check_rsa_sa(lab)
    # strongSwan got the whole message with arsec's certificate (main mode 5 or 6, on
    # 4500 after NAT-T's float), which crossed the wire in fragments, and checked it.
    logs = lab.swan_logs(400)
    sizes = [int(n) for n in re.findall(
        rf"received packet: from {re.escape(SITE_A.wan)}\[\d+\] to \S+ \((\d+) bytes\)", logs)]
    assert sizes and max(sizes) > size, (size, sizes, logs)
    assert re.search(r"received end entity cert \"" + re.escape(DN_A) + '"', logs), logs
    assert reassembled(lab.sw) > before, "no IKE message arrived in fragments"


# ---------------------------------------------------------------- XAUTH

XAUTH_USER, XAUTH_PASS = "client1", "passclie1"


def xauth_detail(lab: SwanLab) -> str:
    rows = isakmp_sas(lab)
    assert rows, lab.a.cli("SHOW ISAKMP SA").text
    return lab.a.cli(f"SHOW ISAKMP SA={rows[0].split()[0]}").text


@pytest.mark.skipif(plugin_problem("xauth-generic") is not None,
                    reason=plugin_problem("xauth-generic") or "")
def test_xauth_arsec_server_strongswan_client(lab):
    # The seed's XAUTH server: PEER=ANY, one pre-shared key, users told apart by XAUTH.
    lab.a.cli_script(arsec_commands(peer="ANY", xauth="SERVER",
                                    users=[(XAUTH_USER, XAUTH_PASS), ("client2", "passclie2")]))
    lab.swan_start_conf(
        local={"auth": "psk", "id": SITE_B.wan},
        rounds={"local-xauth": {"auth": "xauth", "xauth_id": XAUTH_USER}},
        remote={"auth": "psk", "id": SITE_A.wan},
        secrets={"ike-gw": {"secret": "0x" + PSK.encode().hex()},
                 "xauth-client1": {"id": XAUTH_USER, "secret": XAUTH_PASS}},
        plugins=["xauth-generic"], initiate=True)
    traffic_both_ways(lab)
    check_sas(lab)
    detail = xauth_detail(lab)
    assert re.search(r"XAUTH\W+SERVER client1", detail), detail
    log = isakmp_log(lab)
    assert "XAUTH: user client1 authenticated" in log, log
    counters = lab.a.cli("SHOW ISAKMP COUNTERS=XAUTH").text
    assert re.search(r"succeeded\D+1\b", counters), counters
    for text in (log, lab.a.all_logs_text()):
        assert XAUTH_PASS not in text


@pytest.mark.skipif(plugin_problem("xauth-generic") is not None,
                    reason=plugin_problem("xauth-generic") or "")
def test_xauth_wrong_password_is_refused(lab):
    lab.a.cli_script(arsec_commands(peer="ANY", xauth="SERVER", users=[(XAUTH_USER, XAUTH_PASS)]))
    with pytest.raises(AssertionError):
        lab.swan_start_conf(
            local={"auth": "psk", "id": SITE_B.wan},
            rounds={"local-xauth": {"auth": "xauth", "xauth_id": XAUTH_USER}},
            remote={"auth": "psk", "id": SITE_A.wan},
            secrets={"ike-gw": {"secret": "0x" + PSK.encode().hex()},
                     "xauth-client1": {"id": XAUTH_USER, "secret": "not-the-password"}},
            plugins=["xauth-generic"], initiate=True)
    wait_for(lambda: "not authenticated" in isakmp_log(lab), 20, "the XAUTH refusal", lab)
    assert not ipsec_sas_with_esp(lab)
    counters = lab.a.cli("SHOW ISAKMP COUNTERS=XAUTH").text
    assert re.search(r"failed\D+1\b", counters), counters
    for text in (isakmp_log(lab), lab.a.all_logs_text()):
        assert "not-the-password" not in text and XAUTH_PASS not in text


def ipsec_sas_with_esp(lab: SwanLab) -> list[dict[str, str]]:
    return [r for r in parse_table(lab.a.cli("SHOW IPSEC SA").text) if r.get("Protocol") == "ESP"]


@pytest.mark.skipif(plugin_problem("xauth-generic") is not None,
                    reason=plugin_problem("xauth-generic") or "")
def test_xauth_arsec_client_strongswan_server(lab):
    # The seed's XAUTH client: a fixed peer, XAUTHNAME/XAUTHPASS; arsec dials in on traffic.
    lab.a.cli_script(arsec_commands(xauth="CLIENT", xauth_name=XAUTH_USER, xauth_pass=XAUTH_PASS))
    lab.swan_start_conf(
        local={"auth": "psk", "id": SITE_B.wan},
        remote={"auth": "psk", "id": SITE_A.wan},
        rounds={"remote-xauth": {"auth": "xauth"}},
        secrets={"ike-gw": {"secret": "0x" + PSK.encode().hex()},
                 "xauth-client1": {"id": XAUTH_USER, "secret": XAUTH_PASS}},
        plugins=["xauth-generic"])
    wait_for(lambda: lab.ping_a_to_b(count=2).received > 0, 40, "traffic after acquire", lab)
    lab.swan("wait-sa", lab.instance, "--timeout", "20")
    traffic_both_ways(lab)
    check_sas(lab)
    detail = xauth_detail(lab)
    assert re.search(r"XAUTH\W+CLIENT client1", detail), detail
    assert "XAUTH: authenticated to peer 198.51.100.2 as user client1" in isakmp_log(lab)
    assert re.search(r"XAuth authentication of 'client1' successful", lab.swan_logs(400)), \
        lab.swan_logs(400)
