import json
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")
# pytest runs one test file per core already: the command lines under test run their work units in
# their own process unless a test says otherwise (study.units.default_workers)
os.environ.setdefault("CONJUGATE_CHECK_WORKERS", "0")

import pytest  # noqa: E402

from tests import budget  # noqa: E402
from tests.runs import TINY, run, shifted_engine  # noqa: E402


def statistical_assertions(item) -> int:
    """How many statistical assertions a collected test makes (its ``statistical(k)`` marker, else 0)."""
    mark = item.get_closest_marker("statistical")
    if mark is None:
        return 0
    if len(mark.args) != 1 or not isinstance(mark.args[0], int) or mark.args[0] < 1:
        raise pytest.UsageError(f"{item.nodeid}: write @pytest.mark.statistical(k) with k >= 1 assertions")
    return mark.args[0]


def pytest_collection_modifyitems(config, items):
    """Refuse a suite whose statistical assertions exceed the budget's count (tests/budget.py)."""
    total = sum(statistical_assertions(item) for item in items)
    config.stash[_TOTAL] = total
    worker = hasattr(config, "workeroutput")  # a pytest-xdist worker: the controller reads its count
    if worker:
        config.workeroutput["statistical_assertions"] = total
    if total > budget.ASSERTIONS:
        if not worker:
            raise pytest.UsageError(_over_budget(total))
        config.stash[_OVER] = _over_budget(total)  # an error raised here would lose its message


def _over_budget(total: int) -> str:
    return (
        f"the collected tests make {total} statistical assertions, more than the budget's "
        f"{budget.ASSERTIONS} (tests/budget.py): raise ASSERTIONS, which lowers every test's alpha"
    )


def pytest_runtest_setup(item):
    """Under pytest-xdist, a suite over the budget fails every test with the reason."""
    if _OVER in item.config.stash:
        pytest.fail(item.config.stash[_OVER], pytrace=False)


_TOTAL = pytest.StashKey[int]()
_OVER = pytest.StashKey[str]()


def pytest_report_header(config):
    """State the budget, and the seed offset when one is set."""
    offset = f"; seed offset {budget.OFFSET}" if budget.OFFSET else ""
    return (
        f"false-failure budget {budget.BUDGET:g} over at most {budget.ASSERTIONS} statistical assertions "
        f"(alpha {budget.ALPHA:.1g} each){offset}"
    )


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """Under pytest-xdist the workers collect: keep the count one of them reports."""
    count = getattr(node, "workeroutput", {}).get("statistical_assertions", 0)
    node.config.stash[_TOTAL] = max(node.config.stash.get(_TOTAL, 0), count)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    total = config.stash.get(_TOTAL, 0)
    terminalreporter.write_line(
        f"statistical assertions collected: {total} "
        f"(budget {budget.ASSERTIONS}, alpha {budget.ALPHA:.1g} each)"
    )


def shared_run(tmp_path_factory, name: str, args: list[str], **samplers) -> tuple[int, Path, str]:
    """Run compare.py with ``args`` once per test session, whichever process asks first.

    Under pytest-xdist each worker builds its own session fixtures, and the test files that
    read these runs land on different workers: the first to ask runs it into the session's
    shared temporary folder while the others wait on a file lock, then all read its output
    folder and printed text (pytest-xdist's recipe for a session fixture run once). The run
    is the same whichever process makes it: same flags, same seed. ``samplers`` are test
    doubles added to the registry for the run. Returns (exit status, output folder, text).
    """
    from filelock import FileLock

    from models.engines import SAMPLERS

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # each worker's folder lies in the session's
        root = root.parent
    out, record = root / name / "results", root / name / "run.json"
    with FileLock(str(root / f"{name}.lock")):
        if not record.exists():
            out.parent.mkdir(exist_ok=True)
            with pytest.MonkeyPatch.context() as mp:
                for key, sampler in samplers.items():
                    mp.setitem(SAMPLERS, key, sampler)
                code, text = run(args, out)
            record.write_text(json.dumps({"code": code, "text": text}))
        done = json.loads(record.read_text())
    return done["code"], out, done["text"]


@pytest.fixture(scope="session")
def report_run(tmp_path_factory):
    """Two families, an engine with draws and a point engine: (exit status, output folder, printed text)."""
    args = [*TINY, "--model", "normal_normal,binomial_beta", "--sampler", "exact,find_map"]
    return shared_run(tmp_path_factory, "report", args)


@pytest.fixture(scope="session")
def failing_run(tmp_path_factory):
    """The study with an engine whose draws are shifted by half a posterior sd, beside the exact one."""
    args = [*TINY, "--sampler", "exact,shifted"]
    return shared_run(tmp_path_factory, "failing", args, shifted=shifted_engine())


@pytest.fixture(scope="session")
def sbc_run(tmp_path_factory):
    """A tiny SBC run of the exact engine."""
    args = ["sbc", "--n", "10", "--sims", "20", "--sampler", "exact", "--draws", "200", "--tune", "100",
            "--chains", "2", "--seed", str(budget.seed(2026)), "--alpha", str(budget.ALPHA)]  # fmt: skip
    return shared_run(tmp_path_factory, "sbc", args)


@pytest.fixture(scope="session")
def gradients_run(tmp_path_factory):
    """A tiny gradients run: one family, one N, single-sample estimates, one beta-ELBO weight."""
    args = ["gradients", "--model", "normal_normal", "--n", "10", "--samples", "1", "--reps", "100",
            "--weights", "2", "--seed", str(budget.seed(2026)), "--alpha", str(budget.ALPHA)]  # fmt: skip
    return shared_run(tmp_path_factory, "gradients", args)
