#!/usr/bin/python3
"""The IKE suite of perf/run_bench.py (`run_bench.py --suite ike`): IKEv1 tunnel set-up
rate of arsec and of strongSwan, side by side, one control-plane core each, in the same
network namespaces (issue 4; docs/benchmarks.md "IKE (issue 4)").

Topology (made fresh for a run, removed afterwards):

    ikb-<pid>-i: veth ik-i, 10.200.1.1 .. 10.200.1.1+N-1 /16   (one address per peer)
       |
    ikb-<pid>-r: veth ik-r, 10.200.0.1/16                       (the responder: the DUT)

Every peer k has its own ISAKMP policy and pre-shared key and protects 172.16.k.0/24
(initiator side) <-> 10.64.k.0/24 (responder side); main mode, AES-128-CBC / SHA1,
MODP group 2 or 14, quick mode ESP AES-128-CBC + HMAC-SHA1 tunnel without PFS.

  arsec      build/perf/ike/ike_setup_bench: the production IkeDaemon as the responder
             (thread pinned to --resp-cpu) on a kernel UDP socket in ikb-r, with a
             recording SaInstaller (no dataplane); N arsec Engines as the initiators on
             --init-cpu in ikb-i. One JSON line per run. (Installation through the real
             dataplane: perf/ike/ike_install_bench.py, --ike-install.)
  strongswan two charon processes (Debian's 5.9, kernel-libipsec: userspace SAs, no
             routes installed), the responder started under `taskset -c <resp-cpu>` so all
             its threads share that one core, the initiator on --init-cpu. This script
             drives the initiator over vici with --window connections in flight (each a
             blocking `initiate` on its own vici connection), as arsec's initiators do.
             Each blocking initiate holds one of charon's worker threads until its
             CHILD_SA is up, so the initiator gets 16 + --window threads: with the default
             16, 32 initiates in flight took every worker, replies queued unprocessed and
             set-ups stalled until their timeouts (the "stall after main mode message 4"
             seen first, which was not a NAT-T problem).

Figures per run: set-ups per second (N / (last completion - first initiation)), the
responder's CPU seconds over that window (arsec: the daemon thread's CPU clock; charon:
the sum of its threads' run time from /proc/PID/task/*/schedstat), CPU milliseconds per
set-up and set-ups per responder CPU-second. The last two do not depend on how fast the
initiator side is or on other load, which is why the target ratio is computed on them as
well as on wall-clock rates. A run is flagged noisy when other processes used more than
0.3 cores during it.
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_common import (append_json_lines, remove_work_dir, run_suite,  # noqa: E402
                          summary_main, work_dir)
from run_bench import CpuWindow, Procs, log, median, wait_quiet  # noqa: E402

RESP_ADDR = '10.200.0.1'
INIT_FIRST = '10.200.1.1'
PEERS_NET = '10.200.0.0'    # the initiators' /16, routed by the responder via PEERS_GW
PEERS_GW = '10.200.255.254'
CHARON = '/usr/lib/ipsec/charon'
GROUPS = {2: 'modp1024', 14: 'modp2048'}


def ip_add(addr, k):
    a = struct.unpack('!I', socket.inet_aton(addr))[0] + k
    return socket.inet_ntoa(struct.pack('!I', a))


def init_net(k):
    return f'{ip_add("172.16.0.0", k << 8)}/24'


def resp_net(k):
    return f'{ip_add("10.64.0.0", k << 8)}/24'


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


# ---- a minimal vici client (strongSwan's Versatile IKE Control Interface) -------------
class Vici:
    """Requests over charon's vici socket: 4-byte length, packet type, name, message of
    key/value, section and list elements (strongSwan's src/libcharon/plugins/vici/README)."""
    CMD_REQUEST, CMD_RESPONSE, CMD_UNKNOWN = 0, 1, 2
    SEC_START, SEC_END, KV, LIST_START, LIST_ITEM, LIST_END = 1, 2, 3, 4, 5, 6

    def __init__(self, path, timeout=120):
        # charon's listen backlog is short: many clients at once see EAGAIN; retry for 10 s.
        end = time.time() + 10
        while True:
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.s.settimeout(timeout)
            try:
                self.s.connect(path)
                return
            except BlockingIOError:
                self.s.close()
                if time.time() > end:
                    raise
                time.sleep(0.01)

    @classmethod
    def encode(cls, d):
        out = b''
        for k, v in d.items():
            kb = k.encode()
            if isinstance(v, dict):
                out += bytes([cls.SEC_START, len(kb)]) + kb + cls.encode(v) + bytes([cls.SEC_END])
            elif isinstance(v, list):
                out += bytes([cls.LIST_START, len(kb)]) + kb
                for x in v:
                    xb = str(x).encode()
                    out += bytes([cls.LIST_ITEM]) + struct.pack('!H', len(xb)) + xb
                out += bytes([cls.LIST_END])
            else:
                vb = str(v).encode()
                out += bytes([cls.KV, len(kb)]) + kb + struct.pack('!H', len(vb)) + vb
        return out

    @classmethod
    def decode(cls, b):
        root, stack, i, cur_list = {}, [], 0, None
        cur = root
        while i < len(b):
            t = b[i]
            i += 1
            if t in (cls.SEC_START, cls.KV, cls.LIST_START):
                n = b[i]
                name = b[i + 1:i + 1 + n].decode()
                i += 1 + n
            if t == cls.SEC_START:
                sec = {}
                cur[name] = sec
                stack.append(cur)
                cur = sec
            elif t == cls.SEC_END:
                cur = stack.pop()
            elif t == cls.KV:
                n = struct.unpack('!H', b[i:i + 2])[0]
                cur[name] = b[i + 2:i + 2 + n].decode(errors='replace')
                i += 2 + n
            elif t == cls.LIST_START:
                cur_list = cur[name] = []
            elif t == cls.LIST_ITEM:
                n = struct.unpack('!H', b[i:i + 2])[0]
                cur_list.append(b[i + 2:i + 2 + n].decode(errors='replace'))
                i += 2 + n
            elif t == cls.LIST_END:
                cur_list = None
        return root

    def _recv(self, n):
        buf = b''
        while len(buf) < n:
            c = self.s.recv(n - len(buf))
            if not c:
                raise RuntimeError('vici: connection closed')
            buf += c
        return buf

    def request(self, cmd, args=None):
        nb = cmd.encode()
        pkt = bytes([self.CMD_REQUEST, len(nb)]) + nb + self.encode(args or {})
        self.s.sendall(struct.pack('!I', len(pkt)) + pkt)
        while True:
            n = struct.unpack('!I', self._recv(4))[0]
            pkt = self._recv(n)
            if pkt[0] == self.CMD_RESPONSE:
                return self.decode(pkt[1:])
            if pkt[0] == self.CMD_UNKNOWN:
                raise RuntimeError(f'vici: unknown command {cmd}')
            # events (none registered) are skipped

    def close(self):
        self.s.close()


def schedstat_ns(pid):
    """Run time (ns) of all threads of pid so far (/proc/PID/task/*/schedstat)."""
    total = 0
    try:
        for tid in os.listdir(f'/proc/{pid}/task'):
            try:
                with open(f'/proc/{pid}/task/{tid}/schedstat') as f:
                    total += int(f.read().split()[0])
            except (FileNotFoundError, ProcessLookupError):
                pass
    except FileNotFoundError:
        pass
    return total


class IkeSuite:
    def __init__(self, a):
        self.a = a
        self.bench = os.path.join(os.path.abspath(a.build), 'perf', 'ike', 'ike_setup_bench')
        self.rid = str(os.getpid())
        self.ns_i, self.ns_r = f'ikb-{self.rid}-i', f'ikb-{self.rid}-r'
        self.work = work_dir(a, 'ike')
        self.procs = Procs(stop_signal=signal.SIGTERM)
        self.failures = 0
        self.ns_made = False
        self.impls = [x for x in a.impls.split(',') if x]
        if 'arsec' in self.impls and not os.access(self.bench, os.X_OK):
            raise SystemExit(f'run_bench: {self.bench} is missing: ninja -C {a.build} '
                             f'perf/ike/ike_setup_bench')
        if 'strongswan' in self.impls and not os.access(CHARON, os.X_OK):
            raise SystemExit(f'run_bench: {CHARON} is missing (Debian strongswan-charon)')

    # ---- namespaces --------------------------------------------------------------------
    def make_netns(self, n):
        run(['ip', 'netns', 'add', self.ns_i])
        run(['ip', 'netns', 'add', self.ns_r])
        self.ns_made = True
        run(['ip', 'link', 'add', 'ik-i', 'netns', self.ns_i, 'type', 'veth', 'peer', 'name',
             'ik-r', 'netns', self.ns_r])
        for ns, dev in ((self.ns_i, 'ik-i'), (self.ns_r, 'ik-r')):
            run(['ip', '-n', ns, 'link', 'set', 'lo', 'up'])
            run(['ip', '-n', ns, 'link', 'set', dev, 'up'])
        # The responder reaches the peers through one gateway address, not on-link: the
        # kernel's neighbour table is shared by every namespace on the machine and refuses
        # new entries past net.ipv4.neigh.default.gc_thresh3 (1024), so one entry per peer
        # would break the neighbour resolution of anything else running (tests included).
        run(['ip', '-n', self.ns_r, 'addr', 'add', f'{RESP_ADDR}/32', 'dev', 'ik-r'])
        run(['ip', '-n', self.ns_r, 'route', 'add', f'{PEERS_GW}/32', 'dev', 'ik-r'])
        run(['ip', '-n', self.ns_r, 'route', 'add', f'{PEERS_NET}/16', 'via', PEERS_GW])
        run(['ip', '-n', self.ns_i, 'addr', 'add', f'{PEERS_GW}/32', 'dev', 'ik-i'])
        batch = os.path.join(self.work, 'addrs.batch')
        with open(batch, 'w') as f:
            for k in range(n):
                f.write(f'addr add {ip_add(INIT_FIRST, k)}/16 dev ik-i\n')
        run(['ip', '-n', self.ns_i, '-batch', batch])
        # charon's kernel-libipsec routes each CHILD_SA's traffic into its TUN device and
        # needs an own address inside every local traffic selector: one per peer's /24 on
        # a port-less bridge as the LAN (arsec's run does not use them).
        for ns, net in ((self.ns_i, '172.16.0.0'), (self.ns_r, '10.64.0.0')):
            run(['ip', '-n', ns, 'link', 'add', 'lan0', 'type', 'bridge'])
            run(['ip', '-n', ns, 'link', 'set', 'lan0', 'up'])
            batch = os.path.join(self.work, f'lan-{ns}.batch')
            with open(batch, 'w') as f:
                for k in range(n):
                    f.write(f'addr add {ip_add(net, (k << 8) + 1)}/32 dev lan0\n')
            run(['ip', '-n', ns, '-batch', batch])
        # Addresses are usable once DAD-free IPv4 has them; a ping proves the link.
        run(['ip', 'netns', 'exec', self.ns_i, 'ping', '-c1', '-W2', RESP_ADDR], timeout=10) \
            if shutil.which('ping') else time.sleep(0.5)

    def drop_netns(self):
        if self.ns_made:
            for ns in (self.ns_i, self.ns_r):
                subprocess.run(['ip', 'netns', 'del', ns], capture_output=True)
            self.ns_made = False

    # ---- arsec -------------------------------------------------------------------------
    def run_arsec(self, group, rep):
        a = self.a
        cmd = [self.bench, '--resp-addr', RESP_ADDR, '--init-first', INIT_FIRST,
               '--peers', str(a.peers), '--group', str(group), '--window', str(a.window),
               '--resp-netns', f'/run/netns/{self.ns_r}', '--init-netns', f'/run/netns/{self.ns_i}',
               '--resp-cpu', str(a.resp_cpu), '--init-cpu', str(a.init_cpu),
               '--timeout', str(a.setup_timeout)]
        if a.boost:
            cmd = ['nice', '-n', '-20'] + cmd
        cw = CpuWindow(None, [])
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
        self.boost_autogroup(p.pid)
        out, err = p.communicate(timeout=a.setup_timeout + 60)
        cpu = cw.finish()
        lines = [x for x in out.splitlines() if x.startswith('{')]
        if not lines:
            raise RuntimeError(f'ike_setup_bench gave no result (rc={p.returncode}): {err.strip()[-300:]}')
        r = json.loads(lines[-1])
        r.update({'suite': 'ike', 'kind': 'setup', 'rep': rep, 'cmd': ' '.join(cmd),
                  'ok': p.returncode == 0 and r['completed'] == a.peers,
                  'machine_busy_cores': cpu['machine_busy_cores']})
        # Our own process uses up to two cores (responder + initiators): what exceeds the
        # two busy cores is someone else's.
        r['noisy'] = self.foreign_during(cpu, r['window_s'])
        return r

    # ---- strongSwan --------------------------------------------------------------------
    def charon_conf(self, d, cpu_note, threads):
        return f'''# written by perf/ike_bench.py ({cpu_note})
charon {{
  load_modular = no
  load = random nonce openssl aes sha1 sha2 hmac kdf kernel-libipsec kernel-netlink socket-default vici
  # the initiator: every blocking vici initiate holds a worker thread until its CHILD_SA
  # is up, so it needs --window threads on top of the 16 (with 16 in all the window's
  # initiates took every worker and no reply was processed: the set-ups stalled)
  threads = {threads}
  install_routes = no
  install_virtual_ip = no
  retransmit_timeout = 10
  retransmit_tries = 3
  # tuned for many SAs as strongSwan's documentation recommends (default: 1 bucket)
  ikesa_table_size = 1024
  ikesa_table_segments = 4
  # private DH exponents of the RFC 3526 lengths, as arsec uses (default: full length)
  dh_exponent_ansi_x9_42 = no
  port = 500
  port_nat_t = 4500
  plugins {{
    vici {{
      socket = unix://{d}/charon.vici
    }}
  }}
  filelog {{
    bench {{
      path = {d}/charon.log
      time_format = %H:%M:%S
      default = 0
      flush_line = yes
    }}
  }}
}}
swanctl {{
  socket = unix://{d}/charon.vici
}}
'''

    def swanctl_conf(self, role, group):
        n = self.a.peers
        conns, secrets = [], []
        prop = f'aes128-sha1-{GROUPS[group]}'
        for k in range(n):
            peer = ip_add(INIT_FIRST, k)
            if role == 'resp':
                me, them, lts, rts = RESP_ADDR, peer, resp_net(k), init_net(k)
            else:
                me, them, lts, rts = peer, RESP_ADDR, init_net(k), resp_net(k)
            conns.append(f'''  p{k} {{
    version = 1
    local_addrs = {me}
    remote_addrs = {them}
    proposals = {prop}
    local {{
      auth = psk
      id = {me}
    }}
    remote {{
      auth = psk
      id = {them}
    }}
    children {{
      p{k} {{
        local_ts = {lts}
        remote_ts = {rts}
        esp_proposals = aes128-sha1
        mode = tunnel
      }}
    }}
  }}''')
            secrets.append(f'''  ike-p{k} {{
    id-a = {peer}
    id-b = {RESP_ADDR}
    secret = "bench-psk-{k}"
  }}''')
        return 'connections {\n' + '\n'.join(conns) + '\n}\nsecrets {\n' + '\n'.join(secrets) + '\n}\n'

    def start_charon(self, role, group, tag):
        d = os.path.join(self.work, f'{tag}-{role}')
        os.makedirs(os.path.join(d, 'run'), exist_ok=True)
        cpu = self.a.resp_cpu if role == 'resp' else self.a.init_cpu
        with open(os.path.join(d, 'strongswan.conf'), 'w') as f:
            threads = 16 if role == 'resp' else 16 + self.a.window
            f.write(self.charon_conf(d, f'{role}, core {cpu}', threads))
        os.makedirs(os.path.join(d, 'swanctl'), exist_ok=True)
        with open(os.path.join(d, 'swanctl', 'swanctl.conf'), 'w') as f:
            f.write(self.swanctl_conf(role, group))
        ns = self.ns_r if role == 'resp' else self.ns_i
        env = dict(os.environ, STRONGSWAN_CONF=os.path.join(d, 'strongswan.conf'))
        # 'ip netns exec' gives the command a mount namespace of its own: /run is bound to
        # the instance's dir there, because charon's pid file is fixed (/var/run/charon.pid).
        inner = (f'mount --bind "{d}/run" /run && exec taskset -c {cpu} '
                 f'{"nice -n -20 " if self.a.boost else ""}{CHARON}')
        p = self.procs.start(f'charon ({role})', ['ip', 'netns', 'exec', ns, 'sh', '-c', inner],
                             os.path.join(d, 'charon.out'), env=env)
        sock = os.path.join(d, 'charon.vici')
        end = time.time() + 30
        while True:
            if p.poll() is not None:
                raise RuntimeError(f'charon ({role}) exited; see {d}/charon.out')
            try:
                v = Vici(sock, timeout=5)
                v.request('version')
                v.close()
                break
            except (OSError, RuntimeError):
                if time.time() > end:
                    raise RuntimeError(f'charon ({role}) did not open {sock}')
                time.sleep(0.1)
        r = subprocess.run(['swanctl', '--load-all', '--noprompt', '--uri', f'unix://{sock}',
                            '--file', os.path.join(d, 'swanctl', 'swanctl.conf')],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise RuntimeError(f'swanctl --load-all ({role}) failed: {r.stderr.strip()[-300:]}')
        self.boost_autogroup(p.pid)
        return p, d, sock

    def run_strongswan(self, group, rep):
        a = self.a
        tag = f'sw-g{group}-r{rep}'
        try:
            resp, rdir, _ = self.start_charon('resp', group, tag)
            init, idir, isock = self.start_charon('init', group, tag)
            n, w = a.peers, a.window
            todo = list(range(n))
            lock = threading.Lock()
            results = {'ok': 0, 'fail': 0, 'last': 0.0, 'errors': []}

            stamps = []                      # monotonic time of each completion

            def worker():
                try:
                    v = Vici(isock, timeout=a.setup_timeout + 30)
                except OSError as e:
                    with lock:
                        results['errors'].append(str(e))
                    return
                try:
                    while True:
                        with lock:
                            if not todo:
                                return
                            k = todo.pop(0)
                        r = v.request('initiate', {'child': f'p{k}', 'ike': f'p{k}',
                                                   'timeout': str(int(a.setup_timeout * 1000))})
                        with lock:
                            if r.get('success') == 'yes':
                                results['ok'] += 1
                                results['last'] = time.monotonic()
                                stamps.append(results['last'])
                            else:
                                results['fail'] += 1
                                results['errors'].append(r.get('errmsg'))
                except (OSError, RuntimeError) as e:
                    with lock:
                        results['fail'] += 1
                        results['errors'].append(str(e))
                finally:
                    v.close()

            # The responder's run time, sampled every 20 ms: the steady-state window
            # (10% to 90% of the completions) reads it at its two ends.
            samples, stop = [], threading.Event()

            def sampler():
                while not stop.is_set():
                    samples.append((time.monotonic(), schedstat_ns(resp.pid)))
                    stop.wait(0.02)

            time.sleep(0.3)
            cw = CpuWindow(None, [])
            c0 = schedstat_ns(resp.pid)
            t0 = time.monotonic()
            st = threading.Thread(target=sampler)
            st.start()
            threads = [threading.Thread(target=worker) for _ in range(min(w, n))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            # The responder completes each set-up one message after the initiator: its CPU
            # is read once its log shows every CHILD_SA (or after 5 s).
            end = time.monotonic() + 5
            while True:
                with open(os.path.join(rdir, 'charon.log'), errors='replace') as f:
                    txt = f.read()
                resp_child = sum(1 for line in txt.splitlines()
                                 if 'CHILD_SA' in line and 'established' in line)
                if resp_child >= results['ok'] or time.monotonic() > end:
                    break
                time.sleep(0.05)
            c1 = schedstat_ns(resp.pid)
            stop.set()
            st.join()
            cpu = cw.finish()
            steady_rate = steady_cpu_ms = None
            stamps.sort()
            if len(stamps) >= 10:
                i0, i1 = len(stamps) // 10, len(stamps) - 1 - len(stamps) // 10
                ta, tb = stamps[i0], stamps[i1]

                def cpu_at(t):
                    before = [c for (m, c) in samples if m <= t]
                    return before[-1] if before else samples[0][1]
                if tb > ta:
                    steady_rate = round((i1 - i0) / (tb - ta), 2)
                    steady_cpu_ms = round(1e3 * (cpu_at(tb) - cpu_at(ta)) / 1e9 / (i1 - i0), 4)
            win = results['last'] - t0 if results['ok'] else time.monotonic() - t0
            resp_cpu = (c1 - c0) / 1e9
            resp_ike = sum(1 for line in txt.splitlines()
                           if 'IKE_SA' in line and 'established' in line)
            r = {'suite': 'ike', 'kind': 'setup', 'impl': 'strongswan', 'group': group,
                 'peers': n, 'window': w, 'rep': rep, 'completed': results['ok'],
                 'failed': results['fail'], 'errors': results['errors'][:3],
                 'window_s': round(win, 4), 'setups_per_s': round(results['ok'] / win, 2) if win > 0 else 0,
                 'resp_cpu_s': round(resp_cpu, 4), 'resp_cpu_share': round(resp_cpu / win, 3) if win > 0 else None,
                 'resp_cpu_ms_per_setup': round(1e3 * resp_cpu / results['ok'], 4) if results['ok'] else None,
                 'setups_per_cpu_s': round(results['ok'] / resp_cpu, 2) if resp_cpu > 0 else None,
                 'steady_setups_per_s': steady_rate, 'steady_cpu_ms_per_setup': steady_cpu_ms,
                 'resp_ike_established': resp_ike, 'resp_child_established': resp_child,
                 'resp_cpu': a.resp_cpu, 'init_cpu': a.init_cpu,
                 'machine_busy_cores': cpu['machine_busy_cores'],
                 'ok': results['ok'] == n}
            r['noisy'] = self.foreign_during(cpu, win)
            return r
        finally:
            self.procs.stop_all()

    # ---- common ------------------------------------------------------------------------
    def boost_autogroup(self, pid):
        if self.a.boost and os.path.exists(f'/proc/{pid}/autogroup'):
            try:
                with open(f'/proc/{pid}/autogroup', 'w') as f:
                    f.write('-20')
            except OSError:
                pass

    @staticmethod
    def foreign_during(cpu, win):
        """Other load during the run: the machine was busier than our two processes can
        make it (both sides together use at most ~2 cores)... we cannot separate our two
        processes from others cheaply here, so flag runs where the machine was busy
        beyond what the set-up needs: both cores saturated."""
        return cpu['machine_busy_cores'] > 1.9

    def run(self):
        a = self.a
        rows = []
        groups = [int(g) for g in a.groups.split(',') if g]
        log(f'IKE suite: work dir {self.work}, {a.peers} peers, window {a.window}, groups '
            f'{groups}, responder core {a.resp_cpu}, initiator core {a.init_cpu}')
        self.make_netns(a.peers)
        try:
            for group in groups:
                for rep in range(a.repeat):
                    for impl in self.impls:        # interleaved: same conditions
                        if a.quiet_wait:
                            f = wait_quiet(a.quiet_wait, [])
                        else:
                            f = None
                        try:
                            r = self.run_arsec(group, rep) if impl == 'arsec' else \
                                self.run_strongswan(group, rep)
                        except (RuntimeError, subprocess.SubprocessError, OSError) as e:
                            r = {'suite': 'ike', 'kind': 'setup', 'impl': impl, 'group': group,
                                 'rep': rep, 'ok': False, 'error': str(e)}
                            self.failures += 1
                        r['foreign_before'] = f
                        self.print_row(r)
                        append_json_lines(self.a.json_out, [r])
                        rows.append(r)
        finally:
            self.drop_netns()
        return rows

    @staticmethod
    def print_row(r):
        if 'setups_per_s' not in r:
            log(f"{r['impl']} group {r['group']} rep {r['rep']}: FAILED: {r.get('error')}")
            return
        log(f"{r['impl']:10s} MODP group {r['group']:2d} rep {r['rep']}: {r['completed']}/{r['peers']} "
            f"in {r['window_s']:.3f} s = {r['setups_per_s']:8.1f} set-ups/s (steady "
            f"{r.get('steady_setups_per_s')}/s, {r.get('steady_cpu_ms_per_setup')} ms CPU); responder CPU "
            f"{r['resp_cpu_s']:.3f} s ({r['resp_cpu_share']}) = {r['resp_cpu_ms_per_setup']} ms/set-up, "
            f"{r['setups_per_cpu_s']} set-ups per CPU-s{'  NOISY' if r.get('noisy') else ''}"
            f"{'' if r.get('ok') else '  INCOMPLETE'}")

    def cleanup(self):
        self.procs.stop_all()
        self.drop_netns()
        remove_work_dir(self.a, self.work)


def summary(rows):
    """Medians per group and implementation; the ratio arsec / strongSwan. Steady state =
    the middle 80% of the completions (no ramp-up, no stragglers)."""
    runs = [r for r in rows if r.get('kind') == 'setup' and r.get('steady_setups_per_s')]
    groups = sorted({r['group'] for r in runs})
    out = ['| MODP group | peers | impl | set-ups/s (steady) | set-ups/s (whole run) | '
           'responder CPU share | responder CPU ms / set-up (steady) | set-ups per responder CPU-s | '
           'runs |', '|---|---:|---|---:|---:|---:|---:|---:|---:|']
    ratios = []
    for g in groups:
        med = {}
        for impl in ('arsec', 'strongswan'):
            rs = [r for r in runs if r['group'] == g and r['impl'] == impl]
            if not rs:
                continue
            m = {k: median([r.get(k) for r in rs]) for k in
                 ('steady_setups_per_s', 'setups_per_s', 'resp_cpu_share', 'steady_cpu_ms_per_setup')}
            med[impl] = m
            noisy = '*' if any(r.get('noisy') for r in rs) else ''
            bad = '' if all(r.get('ok') for r in rs) else ' (incomplete runs)'
            out.append(f"| {g} ({GROUPS.get(g, '?')}) | {rs[0]['peers']} | {impl}{bad} | "
                       f"{m['steady_setups_per_s']:.0f}{noisy} | {m['setups_per_s']:.0f} | "
                       f"{m['resp_cpu_share']:.2f} | {m['steady_cpu_ms_per_setup']:.3f} | "
                       f"{1e3 / m['steady_cpu_ms_per_setup']:.0f} | {len(rs)} |")
        if 'arsec' in med and 'strongswan' in med:
            x, y = med['arsec'], med['strongswan']
            ratios.append(f"| {g} | {x['steady_setups_per_s'] / y['steady_setups_per_s']:.2f} | "
                          f"{y['steady_cpu_ms_per_setup'] / x['steady_cpu_ms_per_setup']:.2f} | >= 1.5 |")
    if ratios:
        out += ['', '| MODP group | arsec / strongSwan, set-ups/s | arsec / strongSwan, set-ups per '
                'responder CPU-s | target |', '|---|---:|---:|---|'] + ratios
    out += ['', '`*` = at least one run with both cores busy the whole time.']
    return '\n'.join(out)


def add_arguments(ap):
    g = ap.add_argument_group('IKE suite (--suite ike)')
    g.add_argument('--impls', default='arsec,strongswan', help='comma list: arsec, strongswan')
    g.add_argument('--peers', type=int, default=500, help='tunnels (peers) per run')
    g.add_argument('--groups', default='2,14', help='MODP groups: 2 (1024 bit), 14 (2048 bit)')
    g.add_argument('--window', type=int, default=32, help='set-ups in flight from the initiators')
    g.add_argument('--resp-cpu', type=int, default=1, help='the responder\'s one core')
    g.add_argument('--init-cpu', type=int, default=0, help='the initiators\' core')
    g.add_argument('--setup-timeout', type=float, default=30.0,
                   help='seconds for one set-up (strongSwan initiate) / for the whole arsec run')
    g.add_argument('--ike-install', action='store_true',
                   help='then perf/ike/ike_install_bench.py: install latency through the real '
                        'dataplane and 10,000 SAs installed with traffic flowing')
    g.add_argument('--ike-install-args', default='',
                   help='extra arguments for ike_install_bench.py, e.g. "--extra 2000"')


def install_bench(a):
    """--ike-install: perf/ike/ike_install_bench.py after the set-up runs; its exit code."""
    cmd = [sys.executable, os.path.join(HERE, 'ike', 'ike_install_bench.py'),
           '--build', a.build] + (['--json-out', a.json_out] if a.json_out else []) + \
        a.ike_install_args.split()
    log(f'IKE install bench: {" ".join(cmd)}')
    return subprocess.run(cmd).returncode


def main(a):
    heading = (f'IKEv1 main + quick mode set-ups, PSK, AES-128/SHA1, {a.peers} peers, '
               f'{a.window} in flight, responder on core {a.resp_cpu}; medians of {a.repeat} run(s)')
    return run_suite(IkeSuite(a), heading, summary,
                     then=(lambda: install_bench(a)) if a.ike_install else None)


if __name__ == '__main__':
    sys.exit(summary_main('ike_bench.py', 'ike', summary))
