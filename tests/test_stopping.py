"""Stopping a run: Ctrl-C and SIGTERM at every stage, a swallowed interrupt, a hung engine, a failed write.

Each test runs ``compare.py`` as a subprocess in a session of its own, so that a signal can
go to its whole process group (what a terminal's Ctrl-C does) or to its main process alone
(what ``kill PID`` does), and so that whatever happens, every process it started is
killed when the test ends. The run pauses at a named stage (``CONJUGATE_CHECK_PAUSE_AT``,
``study.stopping.checkpoint``) until the test sends the signal; then it must exit with
128 + the signal's number, one line on stderr, ``--out`` as it was before, and no process
of its group alive.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from tests import budget

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["--sampler", "exact", "--n", "10", "--reps", "2", "--draws", "200", "--tune", "100", "--chains", "2"]
WAIT_S = 240  # for a stage to be reached, or a stopped run to end, on a slow machine


@contextmanager
def started(args: list[str], out: Path, **env: str) -> Iterator[subprocess.Popen]:
    """Start ``compare.py ARGS --out OUT`` in a session of its own; kill its whole group on the way out."""
    proc = subprocess.Popen(
        [sys.executable, "compare.py", *args, "--out", str(out)],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        with_group(proc.pid, lambda p: p.kill())
        proc.kill()
        proc.communicate()


def with_group(group: int, act) -> list[psutil.Process]:
    """Apply ``act`` to every living (not zombie) process of ``group``; return them."""
    found = []
    for p in psutil.process_iter():
        try:
            if os.getpgid(p.pid) == group and p.status() != psutil.STATUS_ZOMBIE:
                act(p)
                found.append(p)
        except (psutil.Error, ProcessLookupError):
            continue
    return found


def wait_for(proc: subprocess.Popen, text: str) -> list[str]:
    """Read the run's stderr until a line holds ``text``; return the lines read."""
    lines = []
    deadline = time.monotonic() + WAIT_S
    for line in proc.stderr:
        lines.append(line)
        if text in line or time.monotonic() > deadline:
            break
    assert lines and text in lines[-1], f"never reached {text!r}:\n{''.join(lines[-20:])}"
    return lines


def stopped(proc: subprocess.Popen, signum: int, *, group: bool) -> tuple[int, str, str]:
    """Send ``signum`` (to the group, or the main process alone); return status, stdout, stderr left."""
    (os.killpg if group else os.kill)(proc.pid, signum)
    out, err = proc.communicate(timeout=WAIT_S)
    return proc.returncode, out, err


def assert_clean_stop(code: int, err: str, signum: int, out: Path, before: set[str], group: int) -> None:
    """The run ended as a stop must: its status, one line, --out untouched, no process left."""
    assert code == 128 + signum, err[-2000:]
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1] == f"compare.py: interrupted ({signal.Signals(signum).name}): nothing written", err[
        -2000:
    ]
    assert not any("Traceback" in line for line in lines), err[-2000:]
    assert {p.name for p in out.iterdir()} == before  # nothing new, no staging folder
    deadline = time.monotonic() + 5
    while with_group(group, lambda p: None) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not with_group(group, lambda p: None), "processes of the run outlived it"


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An output folder that already holds a file, which a stopped run must leave as it was."""
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "earlier.txt").write_text("from an earlier run")
    return folder


STAGES = ["imports", "sampling", "plots", "writing"]  # the comparison lies between sampling and plots


@pytest.mark.parametrize("stage", STAGES)
def test_ctrl_c_to_the_group_at_each_stage(stage, out):
    with started(SMALL, out, CONJUGATE_CHECK_PAUSE_AT=stage) as proc:
        wait_for(proc, f"at {stage}")
        code, _, err = stopped(proc, signal.SIGINT, group=True)
        assert_clean_stop(code, err, signal.SIGINT, out, {"earlier.txt"}, proc.pid)
    assert (out / "earlier.txt").read_text() == "from an earlier run"


@pytest.mark.parametrize("stage", ["sampling", "plots"])
def test_sigterm_to_the_main_process_alone(stage, out):
    """Its helpers get no signal: the run itself must end them (the plot workers' fork server above all)."""
    with started(SMALL, out, CONJUGATE_CHECK_PAUSE_AT=stage) as proc:
        wait_for(proc, f"at {stage}")
        code, _, err = stopped(proc, signal.SIGTERM, group=False)
        assert_clean_stop(code, err, signal.SIGTERM, out, {"earlier.txt"}, proc.pid)


def test_ctrl_c_with_dask_workers(out):
    """The workers ignore Ctrl-C (no traceback of theirs); the run stops them and its cluster."""
    with started([*SMALL, "--workers", "2"], out, CONJUGATE_CHECK_PAUSE_AT="sampling") as proc:
        wait_for(proc, "at sampling")
        code, _, err = stopped(proc, signal.SIGINT, group=True)
        assert_clean_stop(code, err, signal.SIGINT, out, {"earlier.txt"}, proc.pid)


def test_ctrl_c_while_pymc_samples_chains_in_processes(out):
    """``--cores 2``: PyMC's chain processes get the signal too; none outlives the run, nothing is judged."""
    nuts = ["--sampler", "nuts", "--cores", "2", "--n", "10", "--reps", "2", "--draws", "100000"]
    with started(nuts, out) as proc:
        wait_for(proc, "fitting")
        time.sleep(3)  # compiling or sampling: wherever it is, the stop must be clean
        code, printed, err = stopped(proc, signal.SIGINT, group=True)
        assert_clean_stop(code, err, signal.SIGINT, out, {"earlier.txt"}, proc.pid)
        assert "agree" not in printed.lower()


FORKED = """
import os, signal, sys, time
from study import stopping
stopping.install()
stopping.install()  # as compare.main, called again in one process (the CLI tests)
pid = os.fork()
if pid == 0:  # PyMC's chain processes are forked so
    os.kill(os.getpid(), signal.SIGINT)  # ignored: no Stopped, no traceback
    time.sleep(0.2)
    held = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    os._exit(0 if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL and not held else 3)
_, status = os.waitpid(pid, 0)
after = sorted(signal.pthread_sigmask(signal.SIG_BLOCK, []))  # the run's mask after a fork: as before
mine = all(signal.getsignal(s) is stopping._on_signal for s in stopping.SIGNALS)
with stopping.held():  # a fork while the outputs move: the run's signals stay held after it
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    still = sorted(signal.pthread_sigmask(signal.SIG_BLOCK, [])) == sorted(stopping.SIGNALS)
print(os.waitstatus_to_exitcode(status), mine, still, after)
"""


def test_a_forked_child_leaves_stopping_to_the_run():
    """Chain processes ignore Ctrl-C and take SIGTERM's default; the run keeps its handlers and its mask."""
    run = [sys.executable, "-c", FORKED]
    done = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=WAIT_S)
    assert done.stdout.split() == ["0", "True", "True", "[]"], done.stdout + done.stderr


def test_ctrl_c_while_sbc_writes(out):
    """Every subcommand writes through the same staging folder (``report.files.write_all``): SBC for all."""
    sbc = ["sbc", "--sampler", "exact", "--sims", "8", "--n", "10", "--draws", "100", "--tune", "50"]
    with started(sbc, out, CONJUGATE_CHECK_PAUSE_AT="writing") as proc:
        wait_for(proc, "at writing")
        code, _, err = stopped(proc, signal.SIGINT, group=True)
        assert_clean_stop(code, err, signal.SIGINT, out, {"earlier.txt"}, proc.pid)


@pytest.mark.parametrize("name", ["swallows_the_interrupt", "mangles_the_interrupt"])
def test_an_engine_that_mishandles_the_interrupt_is_not_judged(out, name):
    """PyMC, nutpie and ADVI return the draws they have when interrupted; Numba turns it into a SystemError.

    Neither the draws nor the error may be judged: the run ends as stopped. The first
    engine returns draws of the prior after swallowing the interrupt, the second raises a
    ``SystemError`` in its place (as a CI run caught PyMC's NUTS doing, with ``--cores 2``);
    unstopped, each returns the prior's draws, is judged and disagrees (the second run), so
    a verdict would show.
    """
    engine = ["--sampler", f"tests.stopping_engines:{name}", "--n", "10", "--reps", "2",
              "--draws", "200", "--tune", "100"]  # fmt: skip
    with started(engine, out) as proc:
        wait_for(proc, "stopping_engines: waiting")
        code, printed, err = stopped(proc, signal.SIGINT, group=True)
        assert_clean_stop(code, err, signal.SIGINT, out, {"earlier.txt"}, proc.pid)
        assert "agree" not in printed.lower() and "FAILED" not in printed
    with started(engine, out.parent / "unstopped", STOPPING_ENGINES_WAIT_S="0") as proc:
        printed, _ = proc.communicate(timeout=WAIT_S)
        assert proc.returncode == 1 and name in printed and "DISAGREE" in printed


@pytest.mark.statistical(1)
def test_an_engine_that_never_returns_fails_alone_after_its_timeout(out):
    """``--engine-timeout``: the hung plug-in is stopped and listed as failed; exact is judged and written.

    One statistical assertion: that exact, judged at the budget's alpha, agrees. The limit,
    10 s, is what this test waits out; exact's unit, which runs first under the same limit,
    takes about 1 s here.
    """
    engines = ["--sampler", "exact,tests.stopping_engines:never_returns", "--seed", str(budget.seed(31)),
               "--alpha", str(budget.ALPHA)]  # fmt: skip
    with started([*SMALL[2:], *engines, "--engine-timeout", "10"], out) as proc:
        printed, err = proc.communicate(timeout=WAIT_S)
        assert proc.returncode == 1, err[-2000:]
        failed = printed.split("comparison(s) FAILED:")[1].strip().splitlines()
        assert failed == [
            "normal_normal never_returns: engine failed: unit normal_normal never_returns stopped: "
            "it ran past --engine-timeout 10 s"
        ]
        assert (out / "summary.csv").exists() and "stopping_engines: hanging" in err
        assert "Traceback" not in err  # nor the restarted worker's or the closing cluster's
        deadline = time.monotonic() + 10  # the cluster's processes, the restarted worker's too, end with it
        while with_group(proc.pid, lambda p: None) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not with_group(proc.pid, lambda p: None), "processes of the run outlived it"


def test_a_write_past_the_file_size_limit_is_one_line_exit_two_out_untouched(out):
    """A full disk, as a file-size limit (``ulimit -f``): the first file over it fails the write.

    The limit is set by a small launcher that then becomes compare.py (``os.execv``), not by a
    ``preexec_fn``, which would fork this multi-threaded test process.
    """
    launch = (
        "import os, resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000)); "
        "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", launch, "compare.py", *SMALL, "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=WAIT_S,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last == f"compare.py: error: cannot write outputs to {str(out)!r}: File too large"
    assert "Traceback" not in proc.stderr
    assert {p.name for p in out.iterdir()} == {"earlier.txt"}
