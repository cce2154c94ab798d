#!/usr/bin/python3
"""Benchmark runner: plain IPv4 forwarding through arsec-dataplane with one worker lcore.

`--suite ipsec` runs the IPsec suite instead: ESP tunnel outbound and inbound through
arsec and DPDK's ipsec-secgw side by side on the same harnesses (perf/ipsec_bench.py,
docs/benchmarks.md "IPsec (issue 3)"). `--suite ike` runs the IKE suite: IKEv1 tunnel
set-up rate of arsec and strongSwan side by side (perf/ike_bench.py, "IKE (issue 4)").
What follows describes the forwarding suite.

Two harnesses, both printed and labelled (see docs/benchmarks.md):

  memif  arsec-dataplane has two net_memif server ports (vlan1, ppp0). arsec-pktgen, a
         separate DPDK process on core 0, connects to both as a client, sends UDP/IPv4
         from 192.168.10.2 to 198.51.100.x through the gateway 192.168.10.1 and counts
         what the dataplane forwards to the next hop 192.0.2.2 (whose ARP it answers).
         Real two-process I/O, but noisy: the generator shares core 0 with the dataplane's
         main lcore, and memif copies cross the two vCPUs (near/far placement, PERF.md).
  pcap   one process, PERF.md's low-noise harness: vlan1 = net_pcap replaying a pcap from
         memory (infinite_rx), ppp0 = net_null (no rx). Throughput = ppp0's tx packets per
         second over DPDK telemetry. The next hop on a net_null port can never answer ARP,
         so this harness needs a static ARP entry (ADD IP ARP, else arsec-dpctl
         neigh-add); without one the runner
         falls back to 'pcap-sink': ppp0 = net_memif to an arsec-pktgen --no-tx sink that
         answers ARP and counts (labelled as such).

Cycles per packet come from the dataplane itself: arsec-dpstat (a DPDK secondary process)
reads the per-worker busy cycles and packets in the arsec_stats memzone over the
measurement window.

Addresses and routes are configured through arsec-control + the arsec CLI when both are
built, else through arsec-dpctl (the dataplane's ring debugging client). Only processes
this script starts are stopped, by PID; only its own /var/run/dpdk/<prefix> dirs are removed.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

LAN_IF, LAN_GW, LAN_HOST = 'vlan1', '192.168.10.1', '192.168.10.2'
WAN_IF, WAN_ADDR, WAN_NH = 'ppp0', '192.0.2.1', '192.0.2.2'
DST_NET, DST_FIRST = '198.51.100.0', '198.51.100.1'
MASK24 = '255.255.255.0'
PCAP_PORT0_MAC = '02:70:63:61:70:00'   # net_pcap's fixed MAC for its first instance
NH_MAC = '02:00:00:00:00:02'           # the next hop's MAC in the pcap harness
USER, PASSWORD = 'manager', 'friend'


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Tele:
    """DPDK telemetry v2 client (/var/run/dpdk/<prefix>/dpdk_telemetry.v2)."""

    def __init__(self, prefix, timeout=15):
        path = f'/var/run/dpdk/{prefix}/dpdk_telemetry.v2'
        end = time.time() + timeout
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.time() > end:
                    raise RuntimeError(f'no DPDK telemetry socket {path}')
                time.sleep(0.2)
        info = json.loads(self.s.recv(1 << 16).decode())
        self.maxlen = info.get('max_output_len', 1 << 16)

    def cmd(self, c):
        self.s.send(c.encode())
        return json.loads(self.s.recv(self.maxlen).decode())

    def port_stats(self):
        ports = self.cmd('/ethdev/list')['/ethdev/list']
        return {p: self.cmd(f'/ethdev/stats,{p}')['/ethdev/stats'] for p in ports}

    def close(self):
        self.s.close()


class Procs:
    """Processes started by this script, stopped by PID in reverse order: `stop_signal`
    (SIGINT, what DPDK applications handle; strongSwan's charon takes SIGTERM), then
    SIGKILL after the timeout."""

    def __init__(self, stop_signal=signal.SIGINT):
        self.items = []
        self.stop_signal = stop_signal

    def start(self, name, argv, logpath, env=None):
        lf = open(logpath, 'w')
        # A session of its own = a scheduler autogroup of its own, so --boost can raise it
        # above other sessions' work (nice alone only ranks threads inside one autogroup).
        p = subprocess.Popen(argv, stdout=lf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=env, start_new_session=True)
        self.items.append((name, p, lf))
        return p

    def stop(self, p, name, timeout=15):
        if p.poll() is None:
            p.send_signal(self.stop_signal)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f'{name} pid {p.pid} ignored {signal.Signals(self.stop_signal).name} for '
                    f'{timeout} s: SIGKILL')
                p.kill()
                p.wait()

    def stop_all(self):
        for name, p, lf in reversed(self.items):
            self.stop(p, name)
            lf.close()
        self.items = []


def wait_for_text(path, text, timeout, proc):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with open(path, errors='replace') as f:
                if text in f.read():
                    return
        except FileNotFoundError:
            pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f'process exited (rc={proc.returncode}) before "{text}"; see {path}')
        time.sleep(0.1)
    raise RuntimeError(f'timeout waiting for "{text}" in {path}')


def c2c_rtt(binary):
    """Core 0 <-> core 1 cache-line round trip (ns): near ~80-140, far ~350-450 (PERF.md)."""
    if not binary:
        return None
    try:
        out = subprocess.run([binary, '0', '1', '10', 'rt'], capture_output=True, text=True,
                             timeout=20).stdout
        return float(out.split('c2c_rtt_ns=')[1].split()[0])
    except Exception:
        return None


def build_c2c(workdir):
    src = os.path.join(ROOT, '..', 'shared', 'perf-baseline', 'c2c', 'c2c.c')
    if not os.path.exists(src) or not shutil.which('gcc'):
        return None
    dst = os.path.join(workdir, 'c2c')
    shutil.copy(src, dst + '.c')
    r = subprocess.run(['gcc', '-O2', '-pthread', '-o', dst, dst + '.c'], capture_output=True)
    return dst if r.returncode == 0 else None


HZ = os.sysconf('SC_CLK_TCK')


def machine_busy_ticks():
    with open('/proc/stat') as f:
        v = list(map(int, f.readline().split()[1:]))
    return sum(v[:8]) - v[3] - v[4]


def thread_ticks(pid):
    """{tid: (comm, utime+stime ticks, last cpu)} for every thread of pid."""
    out = {}
    try:
        tids = os.listdir(f'/proc/{pid}/task')
    except FileNotFoundError:
        return out
    for tid in tids:
        try:
            with open(f'/proc/{pid}/task/{tid}/stat') as f:
                st = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        comm = st[st.index('(') + 1:st.rindex(')')]
        fl = st[st.rindex(')') + 2:].split()
        out[int(tid)] = (comm, int(fl[11]) + int(fl[12]), int(fl[36]))
    return out


class CpuWindow:
    """CPU use over a window: the dataplane worker's share of its core, and the 'foreign'
    load (machine busy minus our own processes). On this 2-vCPU box anything foreign
    steals the worker's core, and TSC busy cycles then include the time it was preempted."""

    def __init__(self, dp_pid, our_pids, include_main=False):
        # include_main: the polling lcore may be the main thread (arsec-pktgen's is).
        self.dp_pid, self.pids, self.include_main = dp_pid, list(our_pids), include_main
        self.t0, self.b0 = time.time(), machine_busy_ticks()
        self.th0 = {p: thread_ticks(p) for p in self.pids}

    def finish(self):
        dt = time.time() - self.t0
        busy = (machine_busy_ticks() - self.b0) / HZ / dt
        ours, worker = 0.0, None
        for p in self.pids:
            a, b = self.th0[p], thread_ticks(p)
            for tid, (comm, t1, cpu) in b.items():
                share = (t1 - a.get(tid, (comm, t1, cpu))[1]) / HZ / dt
                ours += share
                if (p == self.dp_pid and (tid != p or self.include_main) and
                        (worker is None or share > worker[1])):
                    worker = (comm, share, cpu)
        return {'worker_thread': worker[0] if worker else None,
                'worker_cpu_share': round(min(1.0, worker[1]), 3) if worker else None,
                'worker_cpu': worker[2] if worker else None,
                'machine_busy_cores': round(busy, 3),
                'foreign_cores': round(max(0.0, busy - ours), 3)}


def window_delta(snaps, t0, t1):
    """Difference of the first arsec-dpstat snapshot at or after t0 and the last one at or
    before t1 (CLOCK_MONOTONIC seconds): the dataplane's work inside the generator's window."""
    inside = [s for s in snaps if t0 <= s['mono'] <= t1]
    if len(inside) < 2:
        raise RuntimeError(f'arsec-dpstat has {len(inside)} snapshot(s) in the window '
                           f'[{t0:.2f}, {t1:.2f}]; the machine may be overloaded')
    a, b = inside[0], inside[-1]
    dt = b['mono'] - a['mono']
    busy = sum(w['busy_cycles'] for w in b['workers']) - sum(w['busy_cycles'] for w in a['workers'])
    vec = sum(w['vectors'] for w in b['workers']) - sum(w['vectors'] for w in a['workers'])
    ctr = lambda s, k: sum(w['counters'][k] for w in s['workers'])
    workers = []
    for wa, wb in zip(a['workers'], b['workers']):
        d = {k: wb[k] - wa[k] for k in ('busy_cycles', 'busy_polls', 'idle_polls', 'vectors')}
        d['index'], d['lcore'] = wb['index'], wb['lcore']
        d['cycles_per_packet'] = d['busy_cycles'] / d['vectors'] if d['vectors'] else None
        d['packets_per_busy_poll'] = d['vectors'] / d['busy_polls'] if d['busy_polls'] else None
        d['counters'] = {k: wb['counters'][k] - wa['counters'][k] for k in wb['counters']}
        workers.append(d)
    return {'tool': 'arsec-dpstat', 'tsc_hz': b['tsc_hz'], 'n_workers': b['n_workers'],
            'delta': True, 'interval_s': dt, 'busy_cycles': busy, 'vectors': vec,
            'cycles_per_packet': busy / vec if vec else None,
            'rx_pps': (ctr(b, 'rxPackets') - ctr(a, 'rxPackets')) / dt,
            'tx_pps': (ctr(b, 'txPackets') - ctr(a, 'txPackets')) / dt, 'workers': workers}


def wait_quiet(limit_s, our_pids, threshold=0.3):
    """Waits (up to limit_s) until processes other than ours use < threshold cores."""
    end = time.time() + limit_s
    while True:
        w = CpuWindow(None, our_pids)
        time.sleep(1.0)
        f = w.finish()['foreign_cores']
        if f < threshold or time.time() >= end:
            return f
        log(f'  machine busy with other work ({f:.2f} cores): waiting for it to settle')


class Bench:
    def __init__(self, a):
        self.a = a
        b = os.path.abspath(a.build)
        self.dataplane = os.path.join(b, 'dataplane', 'arsec-dataplane')
        self.control = os.path.join(b, 'control', 'arsec-control')
        self.cli = os.path.join(b, 'cli', 'arsec')
        self.dpctl = os.path.join(b, 'dataplane', 'tools', 'arsec-dpctl')
        self.pktgen = os.path.join(b, 'perf', 'arsec-pktgen')
        self.dpstat = os.path.join(b, 'perf', 'arsec-dpstat')
        for exe in (self.dataplane, self.pktgen, self.dpstat):
            if not os.access(exe, os.X_OK):
                raise SystemExit(f'run_bench: {exe} is missing: build it first (make build, or '
                                 f'ninja -C {a.build} ...)')
        self.rid = f'{os.getpid()}'
        self.work = tempfile.mkdtemp(prefix=f'arsec-bench-{self.rid}-')
        self.prefixes = []
        self.procs = Procs()
        self.failures = 0
        self.c2c = build_c2c(self.work) if not a.no_c2c else None
        via = a.config_via
        if via == 'auto':
            via = 'cli' if all(os.access(x, os.X_OK) for x in (self.control, self.cli)) else 'dpctl'
        if via == 'dpctl' and not os.access(self.dpctl, os.X_OK):
            raise SystemExit(f'run_bench: neither arsec-control + arsec nor {self.dpctl} is built')
        self.via = via

    # ---- the dataplane and its configuration -------------------------------------------
    def write_config(self, tag, ports):
        prefix = f'arsec-bench-{self.rid}-{tag}'
        self.prefixes.append(prefix)
        sock = os.path.join(self.work, f'{tag}-control.sock')
        boot = os.path.join(self.work, f'{tag}-boot.cfg')
        open(boot, 'w').close()
        port_lines = ',\n            '.join(
            f'{{ name = "{n}"; device = "{d}"; }}' for n, d in ports)
        text = f'''# written by perf/run_bench.py
eal     = {{ lcores = "0,1"; file_prefix = "{prefix}"; args = [ "--no-pci" ]; }};
ports   = ( {port_lines} );
workers = {{ lcores = [ 1 ]; burst = {self.a.burst}; }};
control = {{ socket = "{sock}"; boot_config = "{boot}"; }};
'''
        path = os.path.join(self.work, f'{tag}-startup.cfg')
        with open(path, 'w') as f:
            f.write(text)
        return path, prefix, sock

    def start_dataplane(self, tag, cfg):
        logp = os.path.join(self.work, f'{tag}-dataplane.log')
        cmd = [self.dataplane, '--config', cfg]
        p = self.procs.start('arsec-dataplane', cmd, logp)
        wait_for_text(logp, 'ready:', 60, p)
        return p, cmd

    def configure(self, tag, cfg, sock, static_arp):
        """Returns (commands as shown in the docs, static ARP installed?)."""
        cmds = [f'ADD IP INTERFACE={LAN_IF} IPADDRESS={LAN_GW} MASK={MASK24}',
                f'ADD IP INTERFACE={WAN_IF} IPADDRESS={WAN_ADDR} MASK={MASK24}',
                f'ADD IP ROUTE={DST_NET} MASK={MASK24} INTERFACE={WAN_IF} NEXTHOP={WAN_NH}']
        arp_cmd = f'ADD IP ARP={WAN_NH} INTERFACE={WAN_IF} ETHERNET={NH_MAC.replace(":", "-")}'
        if self.via == 'cli':
            logp = os.path.join(self.work, f'{tag}-control.log')
            p = self.procs.start('arsec-control', [self.control, '--config', cfg], logp)
            end = time.time() + 30
            while not os.path.exists(sock):
                if p.poll() is not None or time.time() > end:
                    raise RuntimeError(f'arsec-control did not open {sock}; see {logp}')
                time.sleep(0.1)
            base = [self.cli, '--socket', sock, '--user', USER, '--password', PASSWORD]
            for c in cmds:
                r = subprocess.run(base + ['-c', c], capture_output=True, text=True, timeout=30)
                if r.returncode != 0:
                    raise RuntimeError(f'CLI command failed: {c}: {r.stdout}{r.stderr}')
            shown = [' '.join(base[:3] + ['--user', USER, '--password', '***', '-c', f'"{c}"'])
                     for c in cmds]
            ok_arp = False
            if static_arp:
                r = subprocess.run(base + ['-c', arp_cmd], capture_output=True, text=True, timeout=30)
                ok_arp = r.returncode == 0
                if ok_arp:
                    shown.append(f'arsec ... -c "{arp_cmd}"')
                else:
                    why = ' '.join((r.stdout + r.stderr).split())
                    log(f'CLI has no static ARP ({arp_cmd}): {why}; using arsec-dpctl neigh-add')
                    ok_arp = self.dpctl_neigh(cfg, shown)
            return shown, ok_arp
        argv = [self.dpctl, '--config', cfg,
                'addr-add', LAN_IF, f'{LAN_GW}/24', ',',
                'addr-add', WAN_IF, f'{WAN_ADDR}/24', ',',
                'route-add', f'{DST_NET}/24', WAN_IF, WAN_NH]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f'arsec-dpctl failed: {r.stdout}{r.stderr}')
        shown = [' '.join(argv)]
        return shown, self.dpctl_neigh(cfg, shown) if static_arp else False

    def dpctl_neigh(self, cfg, shown):
        """A static neighbour for the next hop through the dataplane's ring debugging client."""
        if not os.access(self.dpctl, os.X_OK):
            return False
        argv = [self.dpctl, '--config', cfg, 'neigh-add', WAN_IF, WAN_NH, NH_MAC]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            log(f'arsec-dpctl neigh-add failed: {(r.stdout + r.stderr).strip()}')
            return False
        shown.append(' '.join(argv))
        return True

    def boost(self, pid):
        """--boost: nice -20 for the busiest thread of pid (a polling lcore) and for its
        session's scheduler autogroup. On this 2-vCPU
        machine other work (builds, tests) otherwise takes the worker's core and the TSC
        busy cycles grow by the time it was preempted. CFS weights give a nice -20 thread
        about 99% of a core against one nice-0 competitor, without starving anyone (unlike
        SCHED_FIFO, which also blocks the runner and the probes)."""
        if not self.a.boost:
            return
        a = thread_ticks(pid)
        time.sleep(0.5)
        b = thread_ticks(pid)
        busiest = max(b, key=lambda t: b[t][1] - a.get(t, b[t])[1], default=None)
        if busiest is not None:
            try:
                os.setpriority(os.PRIO_PROCESS, busiest, -20)
                # The process runs in its own session (Procs.start): with autogroups on,
                # its group's weight is what competes with other sessions.
                if os.path.exists(f'/proc/{pid}/autogroup'):
                    with open(f'/proc/{pid}/autogroup', 'w') as f:
                        f.write('-20')
            except OSError as e:
                log(f'cannot boost thread {busiest}: {e}')

    def our_pids(self, extra=()):
        return [p.pid for _, p, _ in self.procs.items if p.poll() is None] + list(extra)

    def dpstat_window(self, prefix, interval, dp_pid, extra_pids=()):
        cw = CpuWindow(dp_pid, self.our_pids(extra_pids))
        r = subprocess.run([self.dpstat, '--file-prefix', prefix, '--interval', f'{interval:.2f}'],
                           capture_output=True, text=True, timeout=interval + 60)
        cpu = cw.finish()
        if r.returncode != 0:
            raise RuntimeError(f'arsec-dpstat failed: {r.stderr.strip()}')
        st = json.loads(r.stdout.strip().splitlines()[-1])
        st['cpu'] = cpu
        return st

    @staticmethod
    def add_cpu_fields(row, st):
        cpu = st['cpu']
        row.update(cpu)
        cpp, share = st['cycles_per_packet'], cpu['worker_cpu_share']
        # TSC busy cycles also count time the worker spent preempted; scaling by its share
        # of the core estimates the cycles it really executed (only an estimate: the
        # preemption may fall on idle polls as well).
        row['cycles_per_packet_on_cpu'] = round(cpp * share, 1) if cpp and share else None
        # The pcap harness is the worker alone: it is clean while the worker keeps its core.
        # The memif harness also needs core 0 for the generator, so any foreign load counts.
        starved = share is None or share < 0.95
        row['noisy'] = bool(starved or (row['harness'] == 'memif' and cpu['foreign_cores'] > 0.3))

    # ---- memif harness ----------------------------------------------------------------
    def run_memif(self, sizes):
        # A fresh dataplane per run: DPDK 22.11's memif server can crash in the worker's
        # rx/tx when a client disconnects while it polls (regions unmapped under it), and
        # every generator run ends with a disconnect.
        rows = []
        for size in sizes:
            for rep in range(self.a.repeat):
                tag = f'memif-{size}-{rep}'
                s0 = os.path.join(self.work, f'{tag}-lan.sock')
                s1 = os.path.join(self.work, f'{tag}-wan.sock')
                ports = [(LAN_IF, f'net_memif0,role=server,id=0,socket={s0}'),
                         (WAN_IF, f'net_memif1,role=server,id=0,socket={s1}')]
                cfg, prefix, sock = self.write_config(tag, ports)
                try:
                    dp, dp_cmd = self.start_dataplane(tag, cfg)
                    shown, _ = self.configure(tag, cfg, sock, static_arp=False)
                    self.boost(dp.pid)
                    rows.append(self.memif_one(size, rep, s0, s1, prefix, dp, dp_cmd, shown))
                except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as e:
                    log(f'memif {size} B run {rep} failed: {e}')
                    self.failures += 1
                    self.a.keep = True
                finally:
                    self.procs.stop_all()
        return rows

    def memif_one(self, size, rep, s0, s1, prefix, dp, dp_cmd, shown):
        a = self.a
        gprefix = f'arsec-bench-{self.rid}-gen'
        if gprefix not in self.prefixes:
            self.prefixes.append(gprefix)
        gen_cmd = [self.pktgen, '--lcore', '0', '--file-prefix', gprefix,
                   '--port', f'net_memif0,role=client,id=0,socket={s0}',
                   '--port', f'net_memif1,role=client,id=0,socket={s1}',
                   '--tx-port', '0', '--rx-port', '1', '--size', str(size),
                   '--flows', str(a.flows), '--vary', a.vary,
                   '--src-ip', LAN_HOST, '--dst-ip', DST_FIRST, '--gateway', LAN_GW,
                   '--arp-ip', WAN_NH, '--rate', a.rate,
                   '--duration', str(a.duration), '--warmup', str(a.warmup), '--json']
        tag = f'memif-{size}-{rep}'
        errp = os.path.join(self.work, f'{tag}-pktgen.err')
        outp = os.path.join(self.work, f'{tag}-pktgen.json')
        if a.quiet_wait:
            wait_quiet(a.quiet_wait, self.our_pids())
        rtt0 = c2c_rtt(self.c2c)
        # The sampler attaches first (a secondary's start-up can take seconds on a loaded
        # machine); its time-stamped snapshots are cut to the generator's window afterwards.
        samp_out = os.path.join(self.work, f'{tag}-dpstat.jsonl')
        with open(samp_out, 'w') as so:
            sampler = subprocess.Popen([self.dpstat, '--file-prefix', prefix, '--every', '0.25'],
                                       stdout=so, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        row = {'harness': 'memif', 'frame': size, 'rep': rep, 'gen_cmd': ' '.join(gen_cmd),
               'dp_cmd': ' '.join(dp_cmd), 'config': shown, 'c2c_ns_before': rtt0}
        gen = None
        try:
            end = time.time() + 30
            while os.path.getsize(samp_out) == 0:
                if sampler.poll() is not None or time.time() > end:
                    raise RuntimeError(f'arsec-dpstat could not attach to {prefix}')
                time.sleep(0.1)
            with open(outp, 'w') as out, open(errp, 'w') as err:
                gen = subprocess.Popen(gen_cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
            wait_for_text(errp, 'sending ', 60, gen)
            self.boost(gen.pid)
            time.sleep(a.warmup + 0.3)
            cw = CpuWindow(dp.pid, self.our_pids([gen.pid]))
            time.sleep(max(0.5, a.duration - a.warmup - 1.0))
            cpu = cw.finish()
            gen.wait(a.duration + 60)
        finally:
            if gen is not None and gen.poll() is None:
                self.procs.stop(gen, 'arsec-pktgen')
            self.procs.stop(sampler, 'arsec-dpstat')
        if gen.returncode != 0:
            raise RuntimeError(f'arsec-pktgen failed (rc={gen.returncode}); see {errp}')
        g = json.loads(open(outp).read().strip().splitlines()[-1])
        st = window_delta([json.loads(x) for x in open(samp_out) if x.startswith('{')],
                          *g['window_mono'])
        st['cpu'] = cpu
        row['c2c_ns_after'] = c2c_rtt(self.c2c)
        rtts = [x for x in (row['c2c_ns_before'], row['c2c_ns_after']) if x]
        row['placement'] = ('near' if rtts and max(rtts) < 250 else
                            'far' if rtts and min(rtts) > 300 else
                            'mixed' if rtts else 'unknown')
        row.update({'offered_mpps': g['tx_mpps'], 'mpps': g['rx_mpps'],
                    'gbps_l2': g['rx_gbps_l2'], 'gbps_l1': g['rx_gbps_l1'],
                    'loss_ratio': g['loss_ratio'],
                    'dp_tx_mpps': (st['tx_pps'] or 0) / 1e6,
                    'cycles_per_packet': st['cycles_per_packet'],
                    'tsc_hz': st['tsc_hz'], 'dpstat': st})
        self.add_cpu_fields(row, st)
        self.print_row(row)
        return row

    # ---- pcap harness -----------------------------------------------------------------
    def run_pcap(self, sizes):
        rows = []
        for size in sizes:
            for rep in range(self.a.repeat):
                try:
                    rows.append(self.pcap_one(size, rep))
                    if self.a.ceiling:
                        rows.append(self.ceiling_one(size, rep,
                                                     os.path.join(self.work, f'in-{size}.pcap')))
                except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as e:
                    log(f'pcap {size} B run {rep} failed: {e}')
                    self.failures += 1
                    self.a.keep = True
        return rows

    def ceiling_one(self, size, rep, pcap):
        """The pcap harness's own I/O cost: arsec-pktgen --no-tx on lcore 1 receives from
        the same net_pcap port (the same copy from memory per packet) and frees, bursts of
        the dataplane's size. Its cycles per packet = TSC Hz x its CPU share / packets per
        second: what the dataplane's figure contains before arsec does anything."""
        a = self.a
        prefix = f'arsec-bench-{self.rid}-ceil'
        if prefix not in self.prefixes:
            self.prefixes.append(prefix)
        cmd = [self.pktgen, '--lcore', '1', '--file-prefix', prefix,
               '--port', f'net_pcap0,infinite_rx=1,rx_pcap={pcap}', '--no-tx',
               '--burst', str(a.burst), '--rx-burst', str(a.burst),
               '--duration', str(a.duration), '--warmup', str(a.warmup),
               '--json', '--quiet']
        outp = os.path.join(self.work, f'ceil-{size}-{rep}.json')
        with open(outp, 'w') as out:
            p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            self.boost(p.pid)
            time.sleep(max(0.0, a.warmup - 0.3))
            cw = CpuWindow(p.pid, [p.pid], include_main=True)
            time.sleep(max(0.5, a.duration - a.warmup - 1.0))
            cpu = cw.finish()
            p.wait(a.duration + 60)
        finally:
            if p.poll() is None:
                self.procs.stop(p, 'arsec-pktgen ceiling')
        g = json.loads(open(outp).read().strip().splitlines()[-1])
        hz = 2.5e9
        try:
            hz = float(open('/sys/devices/system/cpu/cpu0/tsc_freq_khz').read()) * 1e3
        except (OSError, ValueError):
            pass
        share = cpu['worker_cpu_share']   # the busiest thread: the generator's lcore
        proc_share = share if share is not None else 1.0
        pps = g['rx_mpps'] * 1e6
        row = {'harness': 'pcap-ceiling', 'frame': size, 'rep': rep, 'gen_cmd': ' '.join(cmd),
               'mpps': g['rx_mpps'], 'gbps_l2': g['rx_gbps_l2'], 'gbps_l1': g['rx_gbps_l1'],
               'loss_ratio': None, 'placement': 'n/a',
               'cycles_per_packet': round(hz * min(1.0, proc_share) / pps, 1) if pps else None,
               'tsc_hz': hz}
        row.update(cpu)
        row['noisy'] = bool(share is not None and share < 0.95)
        self.print_row(row)
        return row

    def pcap_one(self, size, rep):
        a = self.a
        tag = f'pcap-{size}-{rep}'
        pcap = os.path.join(self.work, f'in-{size}.pcap')
        if not os.path.exists(pcap):
            w = subprocess.run([self.pktgen, '--write-pcap', pcap, '--size', str(size),
                                '--flows', str(a.flows), '--vary', a.vary, '--src-ip', LAN_HOST,
                                '--dst-ip', DST_FIRST, '--src-mac', '02:00:00:00:00:01',
                                '--dst-mac', PCAP_PORT0_MAC], capture_output=True, text=True)
            if w.returncode != 0:
                raise RuntimeError(f'cannot write {pcap}: {w.stderr}')
        # infinite_rx first: DPDK 22.11's net_pcap crashes in secondary processes
        # (arsec-control, arsec-dpstat) when a long rx_pcap path precedes it.
        src = f'net_pcap0,infinite_rx=1,rx_pcap={pcap}'
        mode = 'pcap' if not a.pcap_sink else 'pcap-sink'
        row = None
        for attempt_mode in ([mode] if mode == 'pcap-sink' else ['pcap', 'pcap-sink']):
            sink_sock = os.path.join(self.work, f'{tag}-sink.sock')
            out = ('net_null0,no-rx=1' if attempt_mode == 'pcap'
                   else f'net_memif1,role=server,id=0,socket={sink_sock}')
            cfg, prefix, sock = self.write_config(tag + ('' if attempt_mode == 'pcap' else 's'),
                                                  [(LAN_IF, src), (WAN_IF, out)])
            try:
                dp, dp_cmd = self.start_dataplane(tag, cfg)
                shown, arp_ok = self.configure(tag, cfg, sock, static_arp=(attempt_mode == 'pcap'))
                if attempt_mode == 'pcap' and not arp_ok:
                    log(f'{tag}: no static ARP for the net_null next hop: using pcap-sink instead')
                    continue
                sink = None
                sink_cmd = None
                if attempt_mode == 'pcap-sink':
                    sprefix = f'arsec-bench-{self.rid}-sink'
                    if sprefix not in self.prefixes:
                        self.prefixes.append(sprefix)
                    sink_cmd = [self.pktgen, '--lcore', '0', '--file-prefix', sprefix,
                                '--port', f'net_memif0,role=client,id=0,socket={sink_sock}',
                                '--no-tx', '--arp-ip', WAN_NH, '--duration', str(a.duration + 10),
                                '--json', '--quiet']
                    sink = self.procs.start('arsec-pktgen sink', sink_cmd,
                                            os.path.join(self.work, f'{tag}-sink.log'))
                    self.boost(sink.pid)
                self.boost(dp.pid)
                tele = Tele(prefix)
                # Forwarding starts once the next hop is resolved (ARP from the sink, or the
                # static entry): wait for it so the window measures forwarding, not drops.
                end = time.time() + 15
                while sum(x['opackets'] for x in tele.port_stats().values()) < 1000:
                    if time.time() > end:
                        log(f'{tag}: the dataplane sends nothing (next hop unresolved?)')
                        break
                    time.sleep(0.2)
                time.sleep(a.warmup)
                if a.quiet_wait:
                    wait_quiet(a.quiet_wait, self.our_pids())
                t0, p0 = time.time(), tele.port_stats()
                st = self.dpstat_window(prefix, max(1.0, a.duration - a.warmup), dp.pid)
                t1, p1 = time.time(), tele.port_stats()
                tele.close()
                dt = t1 - t0
                # The output port is the one that sent the most (ARP aside, only it sends).
                outp = max(p1, key=lambda p: p1[p]['opackets'] - p0[p]['opackets'])
                pps = (p1[outp]['opackets'] - p0[outp]['opackets']) / dt
                bps = (p1[outp]['obytes'] - p0[outp]['obytes']) * 8 / dt
                if bps == 0 and pps > 0:
                    # net_null in DPDK 22.11 counts packets but not bytes; every frame in
                    # the input pcap has the same size, so the bytes follow from the count.
                    bps = pps * size * 8
                row = {'harness': attempt_mode, 'frame': size, 'rep': rep,
                       'dp_cmd': ' '.join(dp_cmd), 'config': shown,
                       'sink_cmd': ' '.join(sink_cmd) if sink_cmd else None,
                       'mpps': pps / 1e6, 'gbps_l2': bps / 1e9,
                       'gbps_l1': (bps + pps * 24 * 8) / 1e9, 'loss_ratio': None,
                       'offered_mpps': None, 'dp_tx_mpps': (st['tx_pps'] or 0) / 1e6,
                       'cycles_per_packet': st['cycles_per_packet'], 'tsc_hz': st['tsc_hz'],
                       'placement': 'n/a', 'dpstat': st}
                self.add_cpu_fields(row, st)
                if st['workers'] and st['workers'][0]['counters'].get('forwarded', 0) == 0:
                    row['note'] = 'dataplane forwarded nothing (see its counters)'
            finally:
                self.procs.stop_all()
            self.print_row(row)
            return row
        raise RuntimeError('pcap harness could not run')

    # ---- output -----------------------------------------------------------------------
    @staticmethod
    def print_row(r):
        cpp = r['cycles_per_packet']
        log(f"{r['harness']:9s} {r['frame']:5d} B  {r['mpps']:7.3f} Mpps  {r['gbps_l2']:7.3f} Gbps(L2)"
            f"  {cpp if cpp is not None else float('nan'):7.1f} cyc/pkt  worker on CPU "
            f"{r.get('worker_cpu_share')}  foreign load {r.get('foreign_cores')} cores"
            f"  placement {r['placement']}{'  NOISY' if r.get('noisy') else ''}")

    def cleanup(self):
        self.procs.stop_all()
        for p in self.prefixes:
            shutil.rmtree(f'/var/run/dpdk/{p}', ignore_errors=True)
        if not self.a.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            log(f'logs kept in {self.work}')


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def fmt(x, nd=3):
    return 'n/a' if x is None else f'{x:.{nd}f}'


def table(rows):
    groups = {}
    for r in rows:
        groups.setdefault((r['harness'], r['frame']), []).append(r)
    lines = ['| harness | frame (B) | Mpps | Gbps (L2) | Gbps (L1) | cycles/packet | worker on CPU | '
             'foreign load (cores) | loss | runs | vCPU placement |',
             '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|']
    for (h, f), rs in groups.items():
        loss = median([r['loss_ratio'] for r in rs])
        cpp = median([r['cycles_per_packet'] for r in rs])
        noisy = ' (noisy)' if any(r.get('noisy') for r in rs) else ''
        lines.append(
            f"| {h}{noisy} | {f} | {median([r['mpps'] for r in rs]):.3f} | {median([r['gbps_l2'] for r in rs]):.3f} | "
            f"{median([r['gbps_l1'] for r in rs]):.3f} | {cpp if cpp is None else round(cpp, 1)} | "
            f"{fmt(median([r.get('worker_cpu_share') for r in rs]))} | "
            f"{fmt(median([r.get('foreign_cores') for r in rs]))} | "
            f"{'n/a' if loss is None else f'{100 * loss:.2f}%'} | {len(rs)} | "
            f"{','.join(sorted(set(r['placement'] for r in rs)))} |")
    return '\n'.join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--suite', choices=['forward', 'ipsec', 'ike'], default='forward',
                    help='forward: plain IPv4 forwarding (below); ipsec: ESP tunnel, arsec and '
                         'ipsec-secgw side by side (perf/ipsec_bench.py); ike: IKEv1 set-up '
                         'rate, arsec and strongSwan side by side (perf/ike_bench.py)')
    ap.add_argument('--harness', choices=['memif', 'pcap', 'both'], default='both')
    ap.add_argument('--sizes', default='64,128,256,512,1024,1500',
                    help='frame sizes in bytes without FCS (64..1514)')
    ap.add_argument('--duration', type=float, default=10.0, help='seconds per run')
    ap.add_argument('--warmup', type=float, default=2.0, help='seconds excluded at the start')
    ap.add_argument('--repeat', type=int, default=1, help='runs per size (the table shows medians)')
    ap.add_argument('--flows', type=int, default=1)
    ap.add_argument('--vary', default='src-port', help='fields that differ between flows')
    ap.add_argument('--rate', default='max', help='memif offered rate: max or packets per second')
    ap.add_argument('--burst', type=int, default=32, help='dataplane workers.burst')
    ap.add_argument('--build', default=os.path.join(ROOT, 'build'))
    ap.add_argument('--config-via', choices=['auto', 'cli', 'dpctl'], default='auto')
    ap.add_argument('--pcap-sink', action='store_true',
                    help='pcap harness: use the memif sink instead of net_null right away')
    ap.add_argument('--no-c2c', action='store_true', help='skip the core-to-core latency probe')
    ap.add_argument('--quiet-wait', type=float, default=120.0,
                    help='before each run, wait up to this many seconds for other processes to '
                         'leave the CPUs (0 = do not wait); runs with foreign load are flagged')
    ap.add_argument('--no-ceiling', dest='ceiling', action='store_false',
                    help='skip the pcap-ceiling runs (the harness\'s own rx cost, no dataplane)')
    ap.add_argument('--boost', action='store_true',
                    help='renice the polling threads (dataplane worker, generator, sink) to -20 '
                         'so that other load on the machine rarely preempts them')
    ap.add_argument('--json-out', help='append one JSON line per run to this file')
    ap.add_argument('--keep', action='store_true', help='keep the work dir with all logs')
    import ipsec_bench
    ipsec_bench.add_arguments(ap)
    import ike_bench
    ike_bench.add_arguments(ap)
    a = ap.parse_args()
    if a.warmup >= a.duration:
        ap.error('--warmup must be shorter than --duration')
    sizes = [int(s) for s in a.sizes.split(',')]
    if any(s < 64 or s > 1514 for s in sizes):
        ap.error('frame sizes must be 64..1514')
    if a.suite == 'ipsec':
        return ipsec_bench.main(a)
    if a.suite == 'ike':
        return ike_bench.main(a)

    b = Bench(a)

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    rows = []
    rc = 0
    try:
        log(f'arsec benchmark: work dir {b.work}, configuring through {b.via}, '
            f'c2c probe {"on" if b.c2c else "off"}')
        if a.harness in ('pcap', 'both'):
            rows += b.run_pcap(sizes)
        if a.harness in ('memif', 'both'):
            rows += b.run_memif(sizes)
    except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as e:
        log(f'run_bench: {e}')
        rc = 1
        a.keep = True
    except KeyboardInterrupt:
        rc = 130
    finally:
        b.cleanup()
    if a.json_out and rows:
        with open(a.json_out, 'a') as f:
            for r in rows:
                f.write(json.dumps(r) + '\n')
    if b.failures:
        log(f'run_bench: {b.failures} run(s) failed')
        rc = rc or 1
    if rows:
        hz = rows[0].get('tsc_hz')
        print(f'\nPlain IPv4 forwarding, 1 worker lcore, {a.flows} flow(s), '
              f'TSC {hz / 1e9 if hz else 0:.2f} GHz; medians of {a.repeat} run(s) of {a.duration:g} s '
              f'(first {a.warmup:g} s excluded)')
        print(table(rows))
    return rc


if __name__ == '__main__':
    sys.exit(main())
