"""The gradients run as independent work units, run in this process or on Dask (``study.units``).

One unit per (family, N) for the gradient estimators, one per (family, N, weight) for the
beta-weighted ELBO's fits, and one for Gumbel-softmax. Each unit seeds itself from its own
key, and the rows are put back in the order of the loops in ``run_gradients`` and
``run_beta_elbo``: the frames do not depend on where, or in what order, the units ran
(their timing columns aside).
"""

from __future__ import annotations

import pandas as pd

from study.gradients.beta_elbo import beta_rows
from study.gradients.common import GradientConfig
from study.gradients.estimators import gradient_rows
from study.gradients.gumbel import run_gumbel

Unit = tuple  # ("gradients", config, key, n) | ("beta", config, key, n, w) | ("gumbel", config)


def plan_units(config: GradientConfig) -> list[Unit]:
    """Return every unit of ``config``, the longest first (the estimators')."""
    keys = [(key, n) for key in config.families for n in config.ns]
    return [
        *(("gradients", config, key, n) for key, n in keys),
        *(("beta", config, key, n, w) for key, n in keys for w in config.weights),
        ("gumbel", config),
    ]


def run_unit(unit: Unit) -> list[dict] | pd.DataFrame:
    """Run one unit: the rows of ``gradient_rows`` or ``beta_rows``, or Gumbel-softmax's frame."""
    kind, config, *key = unit
    if kind == "gradients":
        return gradient_rows(config, *key)
    if kind == "beta":
        return beta_rows(config, *key)
    return run_gumbel(config)


def label(unit: Unit) -> str:
    """Name the unit in words, for the progress lines."""
    kind, _, *key = unit
    if kind == "gradients":
        return f"gradients {key[0]} N={key[1]}"
    if kind == "beta":
        return f"beta-ELBO {key[0]} N={key[1]} w={key[2]:g}"
    return "Gumbel-softmax"


def run_all(config: GradientConfig, *, executor=None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Run every unit (here, or spread by ``executor``); return the gradients, beta-ELBO and Gumbel frames.

    Raises
    ------
    RuntimeError
        When a unit raised: names the unit and its error's first line.
    """
    from study.units import run_all_or_raise

    units = plan_units(config)
    out = run_all_or_raise(run_unit, units, prefix="gradients", label=label, executor=executor)
    done = list(zip(units, out, strict=True))
    gradients = [row for unit, rows in done if unit[0] == "gradients" for row in rows]
    beta = [row for unit, rows in done if unit[0] == "beta" for row in rows]
    (gumbel,) = [frame for unit, frame in done if unit[0] == "gumbel"]
    return pd.DataFrame(gradients), pd.DataFrame(beta), gumbel
