"""report.plot_pool: plots drawn in worker processes are the plots drawn here, and their errors come back.

The study's plots go to two worker processes forked from a server that has loaded the
plotting code. Drawn there or in this process (``CONJUGATE_CHECK_PLOT_WORKERS=0``), the
same run writes byte-identical PNG files (all but the plot of its wall times) and the same
draws; a plot that raises in a worker raises the same exception here, so write_all still
leaves nothing behind. The plots of a study's draws are drawn while it is compared
(``draw_later``, ``report.files.EarlyPlots``), and a failure there leaves nothing either.
"""

import os
import sys
import time
from pathlib import Path

import pytest
import xarray as xr

import compare
from cli.common import DEFAULT_ENGINE
from report import files, plot_pool
from tests.runs import TINY

pytestmark = pytest.mark.skipif(plot_pool.workers() == 0, reason="no forkserver start method or one core")


def fails_to_write(message: str):
    raise OSError(28, message)


def jax_loaded() -> bool:
    return "jax._src" in sys.modules


def waits_for(path: str) -> int:
    """Return this worker's pid once ``path`` exists (at most a minute from now)."""
    deadline = time.monotonic() + 60
    while not Path(path).exists():
        if time.monotonic() > deadline:
            raise TimeoutError(path)
        time.sleep(0.01)
    return os.getpid()


def test_plots_are_drawn_in_other_processes():
    pids = plot_pool.draw([plot_pool.Plot("os:getpid", ()) for _ in range(4)])
    assert os.getpid() not in pids


def test_workers_give_bokeh_objects_ids_unique_across_processes():
    """Two workers' Bokeh plots share one page: their object ids must not collide (p1001 in both)."""
    ids = plot_pool.draw([plot_pool.Plot("bokeh.util.serialization:make_id", ()) for _ in range(6)])
    assert len(set(ids)) == len(ids) and not any(i.startswith("p") and i[1:].isdigit() for i in ids), ids


def test_workers_start_without_jax():
    """The server's font warm-up draws a figure: Matplotlib would load JAX (0.3 to 0.6 s before any plot)."""
    assert plot_pool.draw([plot_pool.Plot("tests.test_plot_pool:jax_loaded", ())] * 2) == [False, False]


RUN_AND_SAY_WHAT_LOADED = """
import sys
import compare
compare.main([*sys.argv[2:], "--sampler", "exact", "--out", sys.argv[1]])
print("jax loaded:", "jax._src" in sys.modules, "distributed loaded:", "distributed" in sys.modules)
"""


def test_a_study_in_process_loads_neither_jax_nor_dask_distributed(tmp_path):
    """Neither is needed, and each cost a default study time (study.lazy_jax; plot_pool.draw).

    SciPy's binomtest (the reading's measured false-alarm interval) loaded JAX through the
    stub arviz_base registers, and Dask's processes scheduler, named by its string, imported
    dask.distributed to look for a client.
    """
    import subprocess

    run = [sys.executable, "-c", RUN_AND_SAY_WHAT_LOADED, str(tmp_path / "o"), *TINY]
    env = os.environ | {"CONJUGATE_CHECK_WORKERS": "0"}  # the units in this process, no cluster
    done = subprocess.run(run, capture_output=True, text=True, env=env, cwd=Path(compare.__file__).parent)
    assert done.returncode in (0, 1), done.stderr[-2000:]  # 1: a disagreement, not what this test asks
    assert done.stdout.splitlines()[-1] == "jax loaded: False distributed loaded: False"


def test_an_error_in_a_worker_comes_back_as_itself():
    failing = plot_pool.Plot("tests.test_plot_pool:fails_to_write", ("disk full",))
    plots = [plot_pool.Plot("os:getpid", ()), failing]
    with pytest.raises(OSError, match="disk full"):
        plot_pool.draw(plots)


def test_draw_later_returns_while_the_workers_draw(tmp_path):
    """The plots of a study's draws are drawn while this process goes on (report.files.EarlyPlots)."""
    signal = tmp_path / "go"
    with plot_pool.workers_kept():
        future = plot_pool.draw_later([plot_pool.Plot("tests.test_plot_pool:waits_for", (str(signal),))] * 2)
        time.sleep(0.5)
        assert not future.done()  # still drawing: this process got on
        signal.touch()
        pids = future.result(timeout=60)
    assert len(pids) == 2 and os.getpid() not in pids


@pytest.mark.statistical(1)
def test_workers_write_the_files_this_process_writes(tmp_path, monkeypatch):
    outs = {}
    engines = f"{DEFAULT_ENGINE['study']},exact"  # two engines: the plots across engines too
    for workers in ("2", "0"):
        monkeypatch.setenv("CONJUGATE_CHECK_PLOT_WORKERS", workers)
        outs[workers] = tmp_path / workers
        assert compare.main([*TINY, "--sampler", engines, "--out", str(outs[workers])]) == 0
    pngs = sorted(p.name for p in outs["0"].glob("*.png"))
    assert pngs == sorted(p.name for p in outs["2"].glob("*.png"))
    # every plot but cost against accuracy, which shows each run's own wall times
    pngs = [name for name in pngs if not name.startswith("cost_accuracy")]
    assert len(pngs) == 8  # each engine's trace plots at N = 3 and 30, densities, washout, MSE, engines
    for name in pngs:
        assert (outs["2"] / name).read_bytes() == (outs["0"] / name).read_bytes(), name
    # the draws, written by a worker as soon as the engine returned: the same data (attrs hold times)
    for nc in [p.name for p in outs["0"].glob("*.nc")]:
        drawn = {w: xr.open_datatree(outs[w] / nc) for w in outs}
        assert sorted(drawn["2"].children) == sorted(drawn["0"].children)
        for group in drawn["0"].children:
            assert drawn["2"][group].to_dataset().identical(drawn["0"][group].to_dataset().assign_attrs(
                drawn["2"][group].attrs)), (nc, group)  # fmt: skip


def test_a_failed_early_plot_leaves_nothing_behind(tmp_path, monkeypatch, capsys):
    """An output of the draws (written while the comparison runs) that cannot be written: exit 2, no
    output, no private folder left."""
    monkeypatch.setattr(files.tempfile, "tempdir", str(tmp_path))
    failing = plot_pool.Plot("tests.test_plot_pool:fails_to_write", ("disk full",))
    real = files.draws_outputs
    monkeypatch.setattr(files, "draws_outputs", lambda *a, **k: [*real(*a, **k), (("broken",), failing)])
    out = tmp_path / "results"
    assert compare.main([*TINY, "--out", str(out)]) == 2
    assert "disk full" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob("conjugate-check-plots-*"))


@pytest.mark.statistical(1)
def test_without_a_private_folder_the_plots_are_drawn_after(tmp_path, monkeypatch):
    """No folder for the early plots (a full /tmp): every file is still written, after the comparison."""
    real = files.tempfile.mkdtemp

    def no_room(*args, prefix="", **kwargs):
        if prefix.startswith("conjugate-check-plots"):
            raise OSError(28, "No space left on device")
        return real(*args, prefix=prefix, **kwargs)

    names = {}
    for where in ("early", "late"):
        if where == "late":
            monkeypatch.setattr(files.tempfile, "mkdtemp", no_room)
        assert compare.main([*TINY, "--out", str(tmp_path / where)]) == 0
        names[where] = sorted(p.name for p in (tmp_path / where).iterdir())
    assert names["late"] == names["early"] and "trace_normal_normal_nutpie_n30.png" in names["late"]


def test_every_named_plot_function_exists():
    """The study's plots are wired by name (plot_pool.DRAWERS): each name resolves to a function."""
    for name, target in plot_pool.DRAWERS.items():
        assert callable(plot_pool.drawer(target)), name
    with pytest.raises(ValueError, match="no plot function"):
        plot_pool.plot("no_such_plot", ())
