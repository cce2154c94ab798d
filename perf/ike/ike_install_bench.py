#!/usr/bin/python3
"""IKE SA installation through the real dataplane (issue 4's benchmark, second half):
install latency p50/p99 and 10,000 SAs installed with traffic flowing.

Why a separate script: ike_setup_bench.cc measures the IKE daemon alone (a recording
installer); these two figures need arsec-dataplane + arsec-control and their rings. The
topology is the strongSwan interop lab of the integration tests (tests/integration/
swanlab.py), reused as is:

    lanA 192.168.10.10 -- arsec (192.0.2.1) -- router -- charon (198.51.100.2) -- swlan 192.168.20.10

1. Install latency. arsec is the responder (main mode PSK, AES-128/SHA1, MODP group 2,
   NAT-T since charon's libipsec forces UDP 4500; quick mode ESP AES-128 + HMAC-SHA1,
   tunnel). charon initiates one IKE SA, then --setups new quick modes on it, one after
   the other, over vici. For each, arsec's daemon times SaInstaller::Install: the IPsec
   model's ring requests (SAs, then the policy pointed at them) up to the dataplane's
   acknowledgement, i.e. quick mode complete -> the bundle in force for the next packet.
   The daemon keeps the durations (control/ike/ike_daemon.h, InstallLatency) and SHOW
   ISAKMP COUNTERS=GENERAL reports sasInstalled, installLatencyP50Us/P99Us/MaxUs; the
   counters are reset before the loop. A ping flow (--pps) runs through the tunnel during
   the loop, so the dataplane is busy as in service.
2. 10,000 SAs. A ping flow at --pps through the negotiated SA (lanA -> swlan, measured
   by ping's own sent/received count); meanwhile --extra manually keyed SA bundles and
   policies (CREATE IPSEC SASPEC ... KEYMAN=MANUAL, BUNDLE, POLICY, SET POLICY selectors)
   go in as one CLI script: the same rings (SA add, policy set, SPD update) as negotiated
   ones. Reported: the script's duration (SAs per second), the SAs the dataplane holds
   afterwards (SHOW IPSEC SA), and the flow's loss; a baseline flow of the same length
   without installs comes first, so that losses of the path itself (charon's userspace
   ESP) are not blamed on the installs.

Run as root: /usr/bin/python3 perf/ike/ike_install_bench.py --build build [--setups 250]
[--extra 10000] [--pps 500] [--json-out FILE]. One JSON line per part on stdout.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def setup_paths(build):
    os.environ['ARSEC_BUILD'] = os.path.abspath(build)
    sys.path.insert(0, os.path.join(REPO, 'tests', 'integration'))
    sys.path.insert(0, os.path.dirname(HERE))


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def arsec_commands(SITE_A, SITE_B, PSK):
    """arsec as site A for the strongSwan peer: the seed's automatic-keying commands with
    NAT-T (as tests/integration/test_ike_strongswan.py configures it)."""
    return [
        f'CREATE ENCO KEY=1 TYPE=GENERAL VALUE="{PSK}"',
        f"CREATE ISAKMP POLICY=i PEER={SITE_B.wan} KEY=1 SENDN=TRUE",
        "SET ISAKMP POLICY=i NATTRAVERSAL=TRUE ENCALG=AES128 HASHALG=SHA GROUP=2",
        "CREATE IPSEC SASPEC=1 KEYMAN=ISAKMP PROT=ESP ENCALG=AES128 HASHALG=SHA",
        'CREATE IPSEC BUNDLE=1 KEYMAN=ISAKMP STRING="1"',
        "CREATE IPSEC POLICY=isa INT=ppp0 ACTION=PERMIT LPORT=500 RPORT=500 TRANSPORT=UDP",
        "CREATE IPSEC POLICY=natt INT=ppp0 ACTION=PERMIT LPORT=4500 TRANSPORT=UDP",
        f"CREATE IPSEC POLICY=vpn INT=ppp0 ACTION=IPSEC KEYMAN=ISAKMP BUNDLE=1 PEER={SITE_B.wan}",
        f"SET IPSEC POLICY=vpn LAD={SITE_A.lan_net} LMA=255.255.255.0 "
        f"RAD={SITE_B.lan_net} RMA=255.255.255.0",
        "CREATE IPSEC POLICY=inet INT=ppp0 ACTION=PERMIT",
        "ENABLE IPSEC", "ENABLE ISAKMP",
    ]


def manual_commands(first, n, peer):
    """n manually keyed ESP bundles and policies, SA specification/bundle ids first..,
    host selectors 10.100.x.y <-> 10.101.x.y (traffic nobody sends), after the other
    policies. Keys 2 and 3 (AES-128, HMAC-SHA1) are shared; SPIs are unique."""
    lines = ["CREATE ENCO KEY=2 TYPE=GENERAL VALUE=0x000102030405060708090a0b0c0d0e0f",
             "CREATE ENCO KEY=3 TYPE=GENERAL VALUE=0x101112131415161718191a1b1c1d1e1f20212223"]
    for k in range(n):
        i = first + k
        a, b = (k >> 8) & 0xff, k & 0xff
        lines += [
            f"CREATE IPSEC SASPEC={i} KEYMAN=MANUAL MODE=TUNNEL PROT=ESP ENCALG=AES128 ENCKEY=2 "
            f"HASHALG=SHA HASHKEY=3 INSPI={0x100000 + k} OUTSPI={0x200000 + k}",
            f'CREATE IPSEC BUNDLE={i} KEYMAN=MANUAL STRING="{i}"',
            f"CREATE IPSEC POLICY=m{k} INT=ppp0 ACTION=IPSEC KEYMAN=MANUAL BUNDLE={i} PEER={peer}",
            f"SET IPSEC POLICY=m{k} LAD=10.100.{a}.{b} RAD=10.101.{a}.{b}",
        ]
    return lines


def boost(pids):
    """nice -20 for every thread of these processes (nice is per thread on Linux) and
    their autogroups, as run_bench.py --boost does for its processes."""
    for pid in pids:
        try:
            for tid in os.listdir(f'/proc/{pid}/task'):
                os.setpriority(os.PRIO_PROCESS, int(tid), -20)
            with open(f'/proc/{pid}/autogroup', 'w') as f:
                f.write('-20')
        except OSError:
            pass


def child_pids(pid):
    """pid and, if it is a wrapper (ip netns exec, sh), the processes it started."""
    out = [pid]
    try:
        with open(f'/proc/{pid}/task/{pid}/children') as f:
            for c in f.read().split():
                out += child_pids(int(c))
    except OSError:
        pass
    return out


def general_counters(lab):
    txt = lab.a.cli("SHOW ISAKMP COUNTERS=GENERAL").text
    return {k: int(v) for k, v in re.findall(r'([A-Za-z0-9]+)\s+(\d+)', txt)}


class Flow:
    """ping at `pps` from lanA to swlan through the tunnel; stop() returns (sent, received)."""

    def __init__(self, lab, pps, host):
        ns = lab.a.lan.name
        self.p = subprocess.Popen(['ip', 'netns', 'exec', ns, 'ping', '-n', '-q', '-i',
                                   f'{1.0 / pps:.4f}', '-W', '1', host],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def stop(self):
        time.sleep(1.5)                      # the last replies
        self.p.send_signal(signal.SIGINT)
        out, _ = self.p.communicate(timeout=20)
        m = re.search(r'(\d+) packets transmitted, (\d+) received', out)
        if not m:
            raise RuntimeError(f'ping gave no summary: {out[-300:]}')
        return int(m.group(1)), int(m.group(2))


def count_ipsec_sas(lab):
    """SHOW IPSEC SA rows (SA Id, Policy, Bundle, State, ...): {'all': n, 'manual': n of
    the bulk policies m<k>, 'states': {state: n} of those}."""
    txt = lab.a.cli("SHOW IPSEC SA", timeout=300).text
    out = {'all': 0, 'manual': 0, 'states': {}}
    for line in txt.splitlines():
        f = line.split()
        if len(f) < 5 or not f[0].isdigit():
            continue
        out['all'] += 1
        if re.fullmatch(r'm\d+', f[1]):
            out['manual'] += 1
            out['states'][f[3]] = out['states'].get(f[3], 0) + 1
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--build', default='build')
    ap.add_argument('--setups', type=int, default=250, help='quick modes for the latency')
    ap.add_argument('--extra', type=int, default=10000, help='SAs installed with traffic flowing')
    ap.add_argument('--pps', type=int, default=500, help='the flow through the negotiated SA')
    ap.add_argument('--baseline-s', type=float, default=20, help='flow without installs first')
    ap.add_argument('--chunk', type=int, default=1000, help='SAs per CLI script in the bulk part')
    ap.add_argument('--parts', default='latency,bulk')
    ap.add_argument('--boost', action='store_true',
                    help='nice -20 for arsec-dataplane, arsec-control and charon (all threads)')
    ap.add_argument('--json-out')
    ap.add_argument('--keep', action='store_true')
    a = ap.parse_args()
    # SIGTERM (timeout, kill) still tears the lab down.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    setup_paths(a.build)
    import netlab
    from netlab import SITE_A, SITE_B
    from swanlab import PSK, SwanLab
    from ike_bench import Vici

    problem = netlab.environment_problem()
    if problem:
        raise SystemExit(f'ike_install_bench: {problem}')
    rows = []

    def emit(r):
        rows.append(r)
        print(json.dumps(r), flush=True)
        if a.json_out:
            with open(a.json_out, 'a') as f:
                f.write(json.dumps(r) + '\n')

    lab = SwanLab("ikbi").build().start()
    try:
        lab.a.cli_script(arsec_commands(SITE_A, SITE_B, PSK))
        lab.swan_start(initiate=True)
        vici_path = str(lab.ssp_dir / lab.instance / 'charon.vici')
        name = lab.instance
        # the tunnel carries traffic
        for _ in range(10):
            if lab.ping_a_to_b(count=3).received > 0:
                break
            time.sleep(0.5)
        else:
            raise RuntimeError(f'no traffic through the tunnel\n{lab.logs()}')
        parts = a.parts.split(',')
        if a.boost:
            pids = child_pids(lab.a.dataplane.pid) + child_pids(lab.a.control.pid)
            try:
                with open(lab.ssp_dir / lab.instance / 'run' / 'charon.pid') as f:
                    pids.append(int(f.read().strip()))
            except (OSError, ValueError):
                pass
            boost(pids)
        if 'latency' in parts:
            lab.a.cli("RESET ISAKMP COUNTERS")
            time.sleep(0.3)
            flow = Flow(lab, a.pps, SITE_B.lan_host)
            v = Vici(vici_path, timeout=60)
            fails, t0 = 0, time.monotonic()
            for _ in range(a.setups):
                r = v.request('initiate', {'child': name, 'timeout': '20000'})
                if r.get('success') != 'yes':
                    fails += 1
            dur = time.monotonic() - t0
            v.close()
            time.sleep(1.0)
            sent, recv = flow.stop()
            g = general_counters(lab)
            emit({'suite': 'ike', 'kind': 'install_latency', 'setups': a.setups, 'boost': a.boost,
                  'initiate_failures': fails, 'loop_s': round(dur, 3),
                  'sas_installed': g.get('sasInstalled'), 'install_failures': g.get('installFailures'),
                  'p50_us': g.get('installLatencyP50Us'), 'p99_us': g.get('installLatencyP99Us'),
                  'max_us': g.get('installLatencyMaxUs'), 'flow_pps': a.pps,
                  'flow_sent': sent, 'flow_received': recv})
            log(f'install latency: {g.get("sasInstalled")} installs, p50 {g.get("installLatencyP50Us")} us, '
                f'p99 {g.get("installLatencyP99Us")} us, max {g.get("installLatencyMaxUs")} us; '
                f'flow {recv}/{sent}')
        if 'bulk' in parts and a.extra > 0:
            before = count_ipsec_sas(lab)
            flow = Flow(lab, a.pps, SITE_B.lan_host)
            time.sleep(a.baseline_s)
            b_sent, b_recv = flow.stop()
            # In scripts of --chunk SAs, so that the rate can be followed as the tables grow.
            script = manual_commands(2, a.extra, SITE_B.wan)
            head, body = script[:2], script[2:]
            per = 4 * a.chunk
            chunks = [head + body[:per]] + [body[i:i + per] for i in range(per, len(body), per)]
            flow = Flow(lab, a.pps, SITE_B.lan_host)
            time.sleep(1.0)
            t0 = time.monotonic()
            rc, errs, chunk_s = 0, [], []
            for i, c in enumerate(chunks):
                tc = time.monotonic()
                r = lab.a.cli_script(c, check=False, timeout=7200, name=f'bulk{i}')
                chunk_s.append(round(time.monotonic() - tc, 2))
                log(f'  chunk {i}: {a.chunk} SAs in {chunk_s[-1]} s')
                rc = rc or r.rc
                errs += [l for l in r.text.splitlines() if 'rror' in l or 'fail' in l.lower()]
            dur = time.monotonic() - t0
            time.sleep(1.0)
            sent, recv = flow.stop()
            after = count_ipsec_sas(lab)
            emit({'suite': 'ike', 'kind': 'bulk_install', 'extra': a.extra, 'cli_lines': len(script),
                  'chunk': a.chunk, 'chunk_s': chunk_s,
                  'cli_rc': rc, 'cli_errors': errs[:5], 'cli_error_lines': len(errs),
                  'install_s': round(dur, 3), 'sas_per_s': round(a.extra / dur, 1) if dur > 0 else None,
                  'ipsec_sa_rows_before': before, 'ipsec_sa_rows_after': after,
                  'baseline_sent': b_sent, 'baseline_received': b_recv,
                  'flow_pps': a.pps, 'flow_sent': sent, 'flow_received': recv,
                  'flow_lost': sent - recv})
            log(f'bulk: {a.extra} SAs in {dur:.1f} s ({a.extra / dur:.0f}/s), SA rows {before} -> {after}; '
                f'flow during {recv}/{sent}, baseline {b_recv}/{b_sent}')
    finally:
        lab.close(keep_dir=a.keep)
    return 0


if __name__ == '__main__':
    sys.exit(main())
