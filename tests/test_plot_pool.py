"""report.plot_pool: plots drawn in worker processes are the plots drawn here, and their errors come back.

The study's plots go to two worker processes forked from a server that has loaded the
plotting code. Drawn there or in this process (``CONJUGATE_CHECK_PLOT_WORKERS=0``), the
same run writes byte-identical PNG files (all but the plot of its wall times); a plot that raises in a
worker raises the same exception here, so write_all still leaves nothing behind.
"""

import os

import pytest

import compare
from report import plot_pool
from tests.runs import TINY

pytestmark = pytest.mark.skipif(plot_pool.workers() == 0, reason="no forkserver start method or one core")


def fails_to_write(message: str):
    raise OSError(28, message)


def test_plots_are_drawn_in_other_processes():
    pids = plot_pool.draw([plot_pool.Plot("os:getpid", ()) for _ in range(4)])
    assert os.getpid() not in pids


def test_workers_give_bokeh_objects_ids_unique_across_processes():
    """Two workers' Bokeh plots share one page: their object ids must not collide (p1001 in both)."""
    ids = plot_pool.draw([plot_pool.Plot("bokeh.util.serialization:make_id", ()) for _ in range(6)])
    assert len(set(ids)) == len(ids) and not any(i.startswith("p") and i[1:].isdigit() for i in ids), ids


def test_an_error_in_a_worker_comes_back_as_itself():
    failing = plot_pool.Plot("tests.test_plot_pool:fails_to_write", ("disk full",))
    plots = [plot_pool.Plot("os:getpid", ()), failing]
    with pytest.raises(OSError, match="disk full"):
        plot_pool.draw(plots)


def test_workers_write_the_files_this_process_writes(tmp_path, monkeypatch):
    outs = {}
    for workers in ("2", "0"):
        monkeypatch.setenv("CONJUGATE_CHECK_PLOT_WORKERS", workers)
        outs[workers] = tmp_path / workers
        assert compare.main([*TINY, "--out", str(outs[workers])]) == 0
    pngs = sorted(p.name for p in outs["0"].glob("*.png"))
    assert pngs == sorted(p.name for p in outs["2"].glob("*.png"))
    # every plot but cost against accuracy, which shows each run's own wall times
    pngs = [name for name in pngs if not name.startswith("cost_accuracy")]
    assert len(pngs) == 6
    for name in pngs:
        assert (outs["2"] / name).read_bytes() == (outs["0"] / name).read_bytes(), name
