"""Runner plumbing shared by the suites of perf/run_bench.py (perf/ipsec_bench.py,
perf/ike_bench.py), so that both frame their runs the same way:

  work_dir          the suite's work dir: --workdir, or a fresh /tmp/arsec-<name>-bench-<pid>
  remove_work_dir   at the end: removed unless --keep or --workdir asked to keep the logs
  append_json_lines --json-out: one JSON line per run, appended as soon as the run is done
  read_json_lines   the JSON lines of such a file (other lines, e.g. log text, are skipped)
  run_suite         a suite's main(): run, clean up even on ^C/SIGTERM, print the heading and
                    summary table when there are rows, the exit code (130 on ^C, 1 when a
                    run failed)
  summary_main      `<suite>_bench.py RESULTS.jsonl [...]`: the summary tables again from
                    earlier --json-out files, e.g. to merge runs made apart

A suite object for run_suite has run() -> rows, cleanup() and a `failures` count. Processes
are started and stopped through run_bench.Procs (by PID, in reverse order).
"""
import json
import os
import shutil
import sys

from run_bench import log


def work_dir(a, name):
    """--workdir, or /tmp/arsec-<name>-bench-<pid>; made if missing."""
    path = a.workdir or os.path.join('/tmp', f'arsec-{name}-bench-{os.getpid()}')
    os.makedirs(path, exist_ok=True)
    return path


def remove_work_dir(a, path):
    if not a.keep and not a.workdir:
        shutil.rmtree(path, ignore_errors=True)
    else:
        log(f'logs kept in {path}')


def append_json_lines(path, rows):
    """Appends one JSON line per row to `path` (nothing when path or rows is empty)."""
    if path and rows:
        with open(path, 'a') as f:
            for r in rows:
                f.write(json.dumps(r) + '\n')


def read_json_lines(path):
    with open(path) as f:
        return [json.loads(x) for x in f if x.startswith('{')]


def run_suite(suite, heading, summary, then=None):
    """Runs the suite and returns the exit code. `heading` is printed (after a blank line)
    above summary(rows) when there are rows; `then`, if given, runs after a run that was
    not interrupted and returns the exit code to carry on with."""
    rows, rc = [], 0
    try:
        rows = suite.run()
    except KeyboardInterrupt:
        rc = 130
    finally:
        suite.cleanup()
    if rows:
        print('\n' + heading)
        print(summary(rows))
    if then is not None and rc == 0:
        rc = then()
    if suite.failures:
        log(f'run_bench: {suite.failures} run(s) failed')
        rc = rc or 1
    return rc


def summary_main(prog, suite_name, summary, argv=None):
    """`prog RESULTS.jsonl [...]`: prints summary() of the files' rows of this suite;
    returns the exit code (2 with the usage line when no file is named)."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0].startswith('-'):
        print(f'usage: {prog} RESULTS.jsonl [...]   (runs: run_bench.py --suite {suite_name})',
              file=sys.stderr)
        return 2
    loaded = []
    for path in argv:
        loaded += read_json_lines(path)
    print(summary([r for r in loaded if r.get('suite') == suite_name]))
    return 0
