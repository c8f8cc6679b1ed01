import os

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402

from tests.runs import TINY, run, shifted_engine  # noqa: E402


@pytest.fixture(scope="session")
def report_run(tmp_path_factory):
    """Two families, an engine with draws and a point engine: (exit status, output folder, printed text)."""
    out = tmp_path_factory.mktemp("report") / "results"
    code, text = run([*TINY, "--model", "normal_normal,binomial_beta", "--sampler", "exact,find_map"], out)
    return code, out, text


@pytest.fixture(scope="session")
def failing_run(tmp_path_factory):
    """The study with an engine whose draws are shifted by half a posterior sd, beside the exact one."""
    from models import samplers

    out = tmp_path_factory.mktemp("failing") / "results"
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(samplers.SAMPLERS, "shifted", shifted_engine())
        code, text = run([*TINY, "--sampler", "exact,shifted"], out)
    return code, out, text


@pytest.fixture(scope="session")
def sbc_run(tmp_path_factory):
    """A tiny SBC run of the exact engine."""
    out = tmp_path_factory.mktemp("sbc") / "results"
    args = ["sbc", "--n", "10", "--sims", "20", "--sampler", "exact", "--draws", "200", "--tune", "100",
            "--chains", "2"]  # fmt: skip
    code, text = run(args, out)
    return code, out, text


@pytest.fixture(scope="session")
def gradients_run(tmp_path_factory):
    """A tiny gradients run: one family, one N, single-sample estimates, one beta-ELBO weight."""
    out = tmp_path_factory.mktemp("gradients") / "results"
    code, text = run(
        [
            "gradients",
            "--model",
            "normal_normal",
            "--n",
            "10",
            "--samples",
            "1",
            "--reps",
            "100",
            "--weights",
            "2",
        ],
        out,
    )
    return code, out, text
