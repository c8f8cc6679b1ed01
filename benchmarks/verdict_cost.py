"""What judging a study's draws costs: the verdict alone, per study, per row and per draw, and where it goes.

Draws a family's default study from the ``exact`` engine (iid draws from the closed-form
posterior: 20 data sets per N, 4 chains x 1,000 draws each; ``--sampler`` another engine),
then times, each as the median
of ``--repeats`` in this process with everything imported and warm:

* ``tabulate``: the whole verdict of one run (``study.run.tabulate``: ArviZ's summaries,
  the thinning, PIT and KS, the closed forms, the mode's tolerance, the tests), and that
  per (family, engine, N) study of 20 rows, per row and per draw;
* its parts, each timed alone on the same draws: the summaries of every parameter
  (``_posterior_stats``: means, sds, MCSE, five ESS, R-hat, ETI, mode), the thinning factor
  of every row (``checks.thin_factors``: ESS of the kept draws per candidate factor, the
  row's bulk ESS taken from the summaries, as the verdict does), PIT and KS, the closed
  forms and frozen SciPy posteriors, and the mode's tolerance;
* side by side, the summaries' MCSE, ESS and R-hat and the thinning as ArviZ's functions
  give them row by row (what the verdict called before ``study.batched_diagnostics``), with
  the ratio, after checking that both give the same numbers;
* the floor ArviZ sets: one bulk ESS of one row (4 x 1,000 draws), and of 20 rows in one
  batched call (ArviZ's array functions take batch axes, and loop over them inside).

    .venv/bin/python benchmarks/verdict_cost.py                      # normal_normal, about a minute
    .venv/bin/python benchmarks/verdict_cost.py --model binomial_beta --repeats 5
    .venv/bin/python benchmarks/verdict_cost.py --sampler nutpie     # the default study's draws

The thinning search also counts its ESS: with the exact engine's iid draws it mostly
stops at the first factor it tries, with an MCMC engine's it may try several.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import arviz_base
import arviz_stats as azs
import numpy as np
from arviz_stats.base import array_stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.engines import SAMPLERS  # noqa: E402
from models.families import FAMILIES  # noqa: E402
from study import batched_diagnostics, checks  # noqa: E402
from study import run as study_run  # noqa: E402
from study.mode_tolerance import mode_tolerance_sd  # noqa: E402


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="normal_normal", choices=list(FAMILIES))
    p.add_argument("--sampler", default="exact", choices=[n for n, s in SAMPLERS.items() if s.available])
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    family = FAMILIES[args.model]
    config = study_run.StudyConfig(family=args.model, sampler=args.sampler)
    sampler = SAMPLERS[args.sampler]
    datasets = study_run.simulate_datasets(family, config.settings, config.ns, config.reps, config.seed)
    drawn: list = []
    study_run.run_study(config, log=lambda _: None, on_draws=lambda sampled: drawn.append(sampled.idata))
    idata = drawn[0]
    labels = family.labels(config.settings)
    rows = len(labels) * sum(len(x) for x in datasets.values())
    draws_per_row = config.chains * config.draws
    studies = len(datasets)  # (family, engine, N) studies in the run

    def summaries() -> None:
        for variable, selection in labels.values():
            study_run._posterior_stats(idata["posterior"][variable].isel(selection), config.prob)

    def arviz_summaries() -> list[dict[str, object]]:
        """Compute the summaries' MCSE, ESS and R-hat with ArviZ's DataArray functions, row by row."""
        prob = arviz_base.rcParams["stats.ci_prob"]
        out = []
        for variable, selection in labels.values():
            d = idata["posterior"][variable].isel(selection)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                out.append({
                    "mcse_mean": azs.mcse(d, method="mean"), "mcse_sd": azs.mcse(d, method="sd"),
                    "ess_mean": azs.ess(d, method="mean"), "ess_sd": azs.ess(d, method="sd"),
                    "ess_bulk": azs.ess(d, method="bulk"), "ess_tail": azs.ess(d, method="tail", prob=prob),
                    "ess_folded": azs.ess(d, method="folded"), "r_hat": azs.rhat(d),
                })  # fmt: skip
        return out

    def batched_summaries() -> None:
        prob = arviz_base.rcParams["stats.ci_prob"]
        wanted = list(study_run._DIAGNOSTICS.values())
        for variable, selection in labels.values():
            d = idata["posterior"][variable].isel(selection).transpose(..., "chain", "draw").values
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                batched_diagnostics.diagnostics(d, wanted, tail_prob=prob)

    for (variable, selection), theirs in zip(labels.values(), arviz_summaries(), strict=True):
        ours = study_run._posterior_stats(idata["posterior"][variable].isel(selection), config.prob)
        for name, value in theirs.items():
            assert np.array_equal(ours[name].values, value.values, equal_nan=True), name

    per_row = []  # (draws (chain, draw), frozen exact posterior) of every row
    blocks = []  # (draws (row, chain, draw), their bulk ESS) of every parameter, all N: one search each
    for param, (variable, selection) in labels.items():
        draws = idata["posterior"][variable].isel(selection)
        ess = study_run._posterior_stats(draws, config.prob)["ess_bulk"]
        every_n = draws.transpose("n", "rep", "chain", "draw", ...)
        rows_of = every_n.values.reshape(-1, *every_n.shape[2:])
        blocks.append((rows_of, ess.transpose("n", "rep", ...).values.ravel()))
        for n, x in datasets.items():
            block = draws.sel(n=n).transpose("rep", "chain", "draw", ...).values
            posts = [family.densities(one, config.settings)[param]["posterior"] for one in x]
            per_row += list(zip(block, posts, strict=True))

    def thinning() -> list[int]:
        return [int(f) for b, e in blocks for f in checks.thin_factors(b, ess_bulk=e)]

    calls = {"bulk": 0, "tail": 0, "bulk rows": 0, "tail rows": 0}
    own_bulk, own_tail = checks._ess_bulk, checks._ess_tail

    def counted(kind: str, ess: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
        def count(draws: np.ndarray) -> np.ndarray:
            calls[kind] += 1
            calls[f"{kind} rows"] += len(draws)
            return ess(draws)

        return count

    def arviz_rows(method: str) -> Callable[[np.ndarray], np.ndarray]:
        def ess(draws: np.ndarray) -> np.ndarray:  # ArviZ's array function, one call per row
            prob = {"prob": batched_diagnostics.TAIL_PROB} if method == "tail" else {}
            return np.array(
                [array_stats.ess(d, method=method, chain_axis=0, draw_axis=1, **prob) for d in draws]
            )

        return ess

    def arviz_thinning() -> list[int]:
        checks._ess_bulk, checks._ess_tail = arviz_rows("bulk"), arviz_rows("tail")
        try:
            return thinning()
        finally:
            checks._ess_bulk, checks._ess_tail = own_bulk, own_tail

    checks._ess_bulk, checks._ess_tail = counted("bulk", own_bulk), counted("tail", own_tail)
    factors = thinning()  # counted once, then timed with the calls as they are
    checks._ess_bulk, checks._ess_tail = own_bulk, own_tail
    assert factors == arviz_thinning()

    def closed_forms() -> None:
        for x in datasets.values():
            family.exact(x, config.settings)
            for one in x:
                family.densities(one, config.settings)

    def pits() -> list[np.ndarray]:
        return [checks.pit_values(d, post.cdf, f) for (d, post), f in zip(per_row, factors, strict=True)]

    def pit_ks() -> None:  # as the verdict does it: every row's KS test in one SciPy call per length
        checks.ks_uniform_pvalues(pits())

    def pit_ks_rows() -> None:
        for u in pits():
            checks.ks_uniform_pvalue(u)

    assert np.array_equal(checks.ks_uniform_pvalues(pits()), [checks.ks_uniform_pvalue(u) for u in pits()])

    def mode_tolerances() -> None:
        for _, post in per_row:
            mode, sd = float(post.median()), float(post.std())
            mode_tolerance_sd(post, mode=mode, sd=sd, m=draws_per_row, z_crit=4.0)

    one = per_row[0][0]
    block = np.stack([d for d, _ in per_row[: config.reps]])
    parts = {
        "tabulate (the whole verdict)": lambda: study_run.tabulate(family, sampler, config, datasets, idata),
        "  summaries": summaries,
        "    of which MCSE, ESS, R-hat": batched_summaries,
        "  thinning factors": thinning,
        "  PIT and KS": pit_ks,
        "  closed forms, frozen posteriors": closed_forms,
        "  mode tolerances": mode_tolerances,
        "side by side: MCSE, ESS, R-hat, ArviZ row by row": arviz_summaries,
        "side by side: thinning, ArviZ row by row": arviz_thinning,
        "side by side: PIT and KS, SciPy row by row": pit_ks_rows,
        f"floor: one bulk ESS of one row ({draws_per_row} draws)": lambda: array_stats.ess(
            one, method="bulk", chain_axis=0, draw_axis=1
        ),
        f"floor: bulk ESS of {config.reps} rows, one batched call": lambda: array_stats.ess(
            block, method="bulk", chain_axis=1, draw_axis=2
        ),
    }
    print(f"{args.model}, {args.sampler}'s draws: {rows} rows in {studies} studies of {config.reps} rows, "
          f"{draws_per_row} draws a row; median of {args.repeats}")  # fmt: skip
    seconds = {name: median_seconds(fn, args.repeats) for name, fn in parts.items()}
    whole = seconds["tabulate (the whole verdict)"]
    for name, s in seconds.items():
        print(f"  {name:<52s} {1000 * s:9.1f} ms")
    per_draw = 1e6 * whole / (rows * draws_per_row)
    print(f"per (family, engine, N) study of {config.reps} rows: {1000 * whole / studies:.0f} ms "
          f"(target: 20 ms); per row {1000 * whole / rows:.1f} ms; per draw {per_draw:.2f} us")  # fmt: skip
    spread = f"factors {min(factors)} to {max(factors)}, mean {np.mean(factors):.1f}"
    print(f"thinning: {calls['bulk rows']} bulk and {calls['tail rows']} tail ESS for {rows} rows "
          f"(their own bulk ESS reused) in {calls['bulk']} and {calls['tail']} batched calls, "
          f"{spread}")  # fmt: skip
    ours = seconds["    of which MCSE, ESS, R-hat"]
    ratios = {
        "MCSE, ESS, R-hat": seconds["side by side: MCSE, ESS, R-hat, ArviZ row by row"] / ours,
        "thinning": seconds["side by side: thinning, ArviZ row by row"] / seconds["  thinning factors"],
        "PIT and KS": seconds["side by side: PIT and KS, SciPy row by row"] / seconds["  PIT and KS"],
    }
    for name, r in ratios.items():
        print(f"row by row / batched, {name}: {r:.2f}x (the same numbers, checked)")
    ess_row = seconds[f"floor: one bulk ESS of one row ({draws_per_row} draws)"]
    print(f"one ArviZ ESS per row alone: {1000 * ess_row * config.reps:.0f} ms a study of {config.reps} rows")


if __name__ == "__main__":
    main()
