"""pytest fixtures for the arsec integration tests (see netlab.py for the lab itself).

Each test that asks for `lab` gets namespaces, processes and a DPDK file prefix of its
own, and loses them when it ends, pass or fail. When a test fails, the logs of the
processes it started are attached to its report. The environment is checked once: no
root or no hugepages is a skip that says how to fix it; missing binaries are a failure,
since `make test` builds them first.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import netlab  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def arsec_environment():
    problem = netlab.environment_problem()
    if problem:
        pytest.skip(problem)
    missing = netlab.missing_binaries()
    if missing:
        pytest.fail("arsec binaries are not built (run `make build`): " + ", ".join(missing),
                    pytrace=False)
    stale = netlab.sweep_stale()
    if stale:
        print(f"removed leftovers of earlier runs: {stale}")
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    item.__dict__.setdefault("_arsec_reports", {})[report.when] = report
    labs = item.__dict__.get("_arsec_labs", [])
    if report.failed and labs:
        for lab in labs:
            report.sections.append((f"arsec logs ({lab.id}, dir {lab.dir})", lab.logs()))


def _make_lab(request, **kwargs):
    lab = netlab.Lab(request.node.name, **kwargs)
    request.node.__dict__.setdefault("_arsec_labs", []).append(lab)
    return lab


def _failed(request):
    reps = request.node.__dict__.get("_arsec_reports", {})
    return any(r.failed for r in reps.values())


@pytest.fixture
def lab_factory(request):
    """Builds labs on demand (topology only; call .start()). All are closed at the end."""
    made = []

    def make(**kwargs):
        lab = _make_lab(request, **kwargs)
        made.append(lab)
        lab.build()
        return lab

    try:
        yield make
    finally:
        for lab in made:
            lab.close(keep_dir=_failed(request))


@pytest.fixture
def lab(lab_factory):
    """The standard lab, gateway running with the standard boot config."""
    return lab_factory().start()


def _running_router_lab(request, lab):
    """A netlab.RouterLab for a fixture: built and started, yielded, then closed (its
    directory kept when the test failed); a failed test's report carries every site's logs."""
    for site in lab.sites:
        request.node.__dict__.setdefault("_arsec_labs", []).append(site)
    try:
        lab.build().start()
        yield lab
    finally:
        lab.close(keep_dir=_failed(request))


@pytest.fixture
def two_sites(request):
    """The seed's two-site figure (netlab.TwoSiteLab), both gateways running."""
    yield from _running_router_lab(request, netlab.TwoSiteLab(request.node.name))


@pytest.fixture
def hub(request):
    """The seed's VPN centre and three clients (netlab.HubLab), every gateway running."""
    yield from _running_router_lab(request, netlab.HubLab(request.node.name, n_clients=3))
