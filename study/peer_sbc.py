"""The zoo's third peer: simulation-based calibration as simuk runs it, at its defaults.

simuk (``simuk.SBC``, arviz-devs/simuk) is the SBC that ArviZ's users reach for. At its
defaults it draws ``num_simulations = 1000`` parameter values from the prior, simulates a
data set from each, samples each posterior with the sampler's own defaults, and counts
for every free variable (element by element) how many posterior draws lie below the
prior draw, over all chains and draws, with no thinning (``compute_rank_statistics``).
Its users then read the ranks with ArviZ's ``plot_ecdf_pit``, which maps them to
``(rank + 0.5) / (max rank + 1)`` and tests their uniformity with
``uniformity_test(method="pot_c")``, flagging a variable when the p-value is below
``1 - envelope_prob`` (``rcParams["stats.envelope_prob"]`` = 0.99).

Here: the same, with the suite's families and engines. The simulations are those of
``study.sbc.simulation`` (the prior, then a data set of size ``n``), the fits use the
study's draws, warm-up and chains, in blocks of ``block`` data sets (as many as one study
fits in one model, so that an engine fitted in a batched model sees the dimension it sees
in the study), and a run **catches** the engine when any scalar component's ranks fail
the test at 0.01. Nothing is shared between the components' tests (simuk's user looks
at one panel per variable), so its false-alarm rate grows with their number, and its
unthinned ranks are not independent of each other within a simulation's chains: what a
correct engine's false-alarm rate comes to is measured on the twins, not assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from arviz_stats.base import array_stats

from models.engines import Sampler
from models.families import FAMILIES
from study import seeds
from study.sbc import fit_simulations

SIMS = 1000  # simuk.SBC(num_simulations=1000)
ALPHA = 0.01  # 1 - rcParams["stats.envelope_prob"], plot_ecdf_pit's threshold
METHOD = "pot_c"  # plot_ecdf_pit's default uniformity test


@dataclass(frozen=True)
class SbcPeerRun:
    """One SBC run of the peer: its smallest p-value, the component that gave it, and the verdict."""

    caught: bool
    p_min: float
    worst: str
    sims: int


def ranks(
    engine: Sampler,
    family_key: str,
    settings: Any = None,
    *,
    n: int,
    seed: int,
    sims: int = SIMS,
    block: int = 60,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
) -> dict[str, np.ndarray]:
    """Return, per scalar component, the ``sims`` ranks of the prior draws among the unthinned draws.

    Simulation ``s`` is ``study.sbc.simulation(family, settings, seed, n, s)``; block ``b``
    is fitted with the engine seed ``(seed, "sbc_peer", family, engine, n, b)``.
    """
    family = FAMILIES[family_key]
    settings = family.settings() if settings is None else settings
    labels = family.labels(settings)
    out: dict[str, list[int]] = {label: [] for label in labels}
    for b, start in enumerate(range(0, sims, block)):
        truths, _, _, post = fit_simulations(
            engine, family, settings, seed=seed, n=n, sims=range(start, min(start + block, sims)),
            engine_seed=seeds.integer(seed, "sbc_peer", family.key, engine.name, n, b),
            draws=draws, tune=tune, chains=chains,
        )  # fmt: skip
        for label, (variable, selection) in labels.items():
            d = post[variable].isel(n=0).isel(selection).transpose("rep", "chain", "draw").values
            for i, truth in enumerate(truths):
                t = float(np.asarray(truth[variable])[tuple(selection.values())])
                out[label].append(int(np.sum(d[i] < t)))
    return {label: np.asarray(r) for label, r in out.items()}


def judge(rank_sets: dict[str, np.ndarray]) -> SbcPeerRun:
    """plot_ecdf_pit's reading of the ranks: each component's uniformity test at ``ALPHA``."""
    worst, p_min = "", 1.0
    for label, r in rank_sets.items():
        pit = (r + 0.5) / (r.max() + 1)  # plot_ecdf_pit's map from ranks to (0, 1)
        p = float(array_stats.uniformity_test(pit.astype(float), axis=-1, method=METHOD)[0])
        if p < p_min or not worst:
            worst, p_min = label, p
    sims = len(next(iter(rank_sets.values())))
    return SbcPeerRun(caught=p_min < ALPHA, p_min=p_min, worst=worst, sims=sims)
