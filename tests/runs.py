"""Runs of compare.py that several test modules read: tiny sizes, a failing test double."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import xarray as xr

import compare
from models.engines import Sampler
from models.families import FAMILIES
from tests import budget

# Every run is judged at the test budget's alpha (tests/budget.py): a test asserting that a run
# agrees makes one statistical assertion.
TINY = ["--n", "3", "30", "--reps", "2", "--draws", "500", "--tune", "300", "--chains", "2",
        "--seed", str(budget.seed(5)), "--alpha", str(budget.ALPHA)]  # fmt: skip


def run(args: list[str], out: Path) -> tuple[int, str]:
    """Run compare.py with ``args`` into ``out``; return the exit status and what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = compare.main([*args, "--out", str(out)])
    return code, printed.getvalue()


def shifted_engine() -> Sampler:
    """A normal_normal engine whose draws are the exact posterior's, shifted by half its sd."""
    family = FAMILIES["normal_normal"]

    def shifted(model, *, draws, chains, seed, **_):
        rng = np.random.default_rng(seed)
        ns = list(model.coords["n"])
        reps = len(model.coords["rep"])
        settings = family.settings()
        data = {n: model[f"data_n{n}"].data for n in ns}  # frozen into constants for sampling
        mean = np.stack([family.exact(data[n], settings)["mu"]["post_mean_exact"] for n in ns])
        sd = np.stack([family.exact(data[n], settings)["mu"]["post_sd_exact"] for n in ns])
        mu = rng.normal(mean + 0.5 * sd, sd, size=(chains, draws, len(ns), reps))
        return xr.DataTree.from_dict(
            {"posterior": xr.Dataset({"mu": (("chain", "draw", "n", "rep"), mu)}, coords={"n": ns})}
        )

    return Sampler("shifted", "test double", True, "distribution", None, (), shifted)
