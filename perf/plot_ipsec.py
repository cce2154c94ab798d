#!/usr/bin/python3
"""Plots the IPsec suite's results: Mpps and Gbps against packet size for each DUT.

Reads the JSON lines that `run_bench.py --suite ipsec --json-out FILE` appends (one per
run; several files may be given) and draws, for one harness, SA count, and each
(direction, algorithm) present, Mpps (top row) and Gbps (bottom row) against the
plaintext frame size, one line per DUT (arsec, ipsec-secgw -l, ipsec-secgw legacy) at the
median of its runs. Gbps are on plaintext frame bytes, as in the runner's table. The raw
IPsec-MB rate (dpdk-test-crypto-perf rows of the same files) is drawn as a dotted line
when present, in Mops on the Mpps axes.

usage: plot_ipsec.py RESULTS.jsonl [...] -o docs/ipsec-bench.png [--harness memif]
                     [--nsa 1] [--title TEXT]
"""
import argparse
import json
import statistics
import sys

import matplotlib
matplotlib.use('Agg')            # no display: write the file only
import matplotlib.pyplot as plt  # noqa: E402

STYLE = {'arsec': ('arsec', 'tab:red', 'o', '-'),
         'secgw-lib': ('ipsec-secgw -l', 'tab:blue', 's', '-'),
         'secgw-legacy': ('ipsec-secgw (legacy)', 'tab:cyan', '^', '--')}
DIR_NAME = {'out': 'outbound (encrypt)', 'in': 'inbound (decrypt)'}
ALGO_NAME = {'gcm': 'AES-128-GCM', 'cbc': 'AES-128-CBC + HMAC-SHA1-96'}


def load(paths):
    rows = []
    for p in paths:
        with open(p) as f:
            for line in f:
                line = line.strip()
                if line.startswith('{'):
                    r = json.loads(line)
                    if r.get('suite') == 'ipsec':
                        rows.append(r)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('results', nargs='+')
    ap.add_argument('-o', '--output', required=True, help='PNG file to write')
    ap.add_argument('--harness', default='memif')
    ap.add_argument('--nsa', type=int, default=1)
    ap.add_argument('--title', default=None)
    a = ap.parse_args()
    rows = load(a.results)
    runs = [r for r in rows if r.get('ok') and 'kind' not in r
            and r['harness'] == a.harness and r['nsa'] == a.nsa]
    if not runs:
        print(f'plot_ipsec: no successful {a.harness} runs with {a.nsa} SA(s) in the input',
              file=sys.stderr)
        return 1
    raw = [r for r in rows if r.get('kind') == 'crypto-perf']
    panels = sorted({(r['dir'], r['algo']) for r in runs},
                    key=lambda k: (k[0] != 'out', k[1] != 'gcm'))
    fig, axes = plt.subplots(2, len(panels), figsize=(4.2 * len(panels), 6.4), squeeze=False)
    for col, (d, algo) in enumerate(panels):
        ax_p, ax_g = axes[0][col], axes[1][col]
        for dut, (label, color, marker, ls) in STYLE.items():
            pts = {}
            for r in runs:
                if r['dir'] == d and r['algo'] == algo and r['dut'] == dut:
                    pts.setdefault(r['frame'], []).append(r)
            if not pts:
                continue
            xs = sorted(pts)
            ax_p.plot(xs, [statistics.median(x['mpps'] for x in pts[s]) for s in xs],
                      color=color, marker=marker, linestyle=ls, label=label)
            ax_g.plot(xs, [statistics.median(x['gbps'] for x in pts[s]) for s in xs],
                      color=color, marker=marker, linestyle=ls, label=label)
        rk = sorted((r for r in raw if r['dir'] == d and r['algo'] == algo and r.get('frame')),
                    key=lambda r: r['frame'])
        if rk:
            ax_p.plot([r['frame'] for r in rk], [r['mops'] for r in rk], color='gray',
                      linestyle=':', marker='x', label='raw IPsec-MB (Mops)')
        ax_p.set_title(f'{DIR_NAME.get(d, d)}\n{ALGO_NAME.get(algo, algo)}', fontsize=9)
        ax_p.set_ylabel('Mpps')
        ax_g.set_ylabel('Gbps (plaintext frames)')
        ax_g.set_xlabel('plaintext frame size (B, no FCS)')
        for ax in (ax_p, ax_g):
            ax.set_ylim(bottom=0)
            ax.grid(True, alpha=0.3)
        ax_p.legend(fontsize=7)
    fig.suptitle(a.title or f'IPsec ESP tunnel, 1 worker core, {a.harness} harness, '
                            f'{a.nsa} SA{"s" if a.nsa > 1 else ""} (medians)', fontsize=10)
    fig.tight_layout()
    fig.savefig(a.output, dpi=110)
    print(f'wrote {a.output}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
