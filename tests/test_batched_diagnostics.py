"""ArviZ's diagnostics for many rows at once: each row's number is ArviZ's own, bit for bit.

Not statistical: every assertion compares two computations of the same floats on the same
inputs (fixed seeds), so it holds on any machine or fails for a reason.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from arviz_stats.base import array_stats

from study import batched_diagnostics, checks

ESS_METHODS = ("bulk", "tail", "mean", "sd", "folded")


def _ar1(rng: np.random.Generator, shape: tuple[int, int, int], phi: float) -> np.ndarray:
    e = rng.normal(size=shape)
    x = np.empty_like(e)
    x[..., 0] = e[..., 0]
    for t in range(1, shape[-1]):
        x[..., t] = phi * x[..., t - 1] + e[..., t]
    return x


def _cases() -> dict[str, np.ndarray]:
    """Rows of every kind the verdicts meet: (row, chain, draw)."""
    rng = np.random.default_rng(20261204)
    cases = {
        "iid": rng.normal(size=(12, 4, 1000)),
        "correlated": _ar1(rng, (8, 4, 400), 0.9),
        "slow": _ar1(rng, (4, 2, 500), 0.995),
        "antithetic": _ar1(rng, (8, 4, 400), -0.4),
        "one chain": rng.normal(size=(6, 1, 400)),
        "eight chains": _ar1(rng, (4, 8, 250), 0.5),
        "odd draws": rng.normal(size=(6, 3, 101)),
        "ties": rng.integers(0, 5, size=(6, 4, 300)).astype(float),
        "discrete and rare": (rng.uniform(size=(4, 4, 300)) < 0.02).astype(float),
        "skewed": rng.gamma(0.5, size=(6, 4, 1000)),
        "far from zero": 1e6 + rng.normal(size=(4, 4, 200)),
        "constant": np.ones((2, 4, 100)),
        "thinned": _ar1(rng, (6, 4, 1000), 0.7)[:, :, ::7],
        "float32": rng.normal(size=(4, 4, 300)).astype(np.float32),
        "short": rng.normal(size=(3, 2, 3)),
        "one draw left": rng.normal(size=(2, 4, 4)),
    }
    broken = rng.normal(size=(4, 4, 200))
    broken[1, 2, 5], broken[2, 0, 0], broken[3] = np.nan, np.inf, np.nan
    cases["nan and inf"] = broken
    return cases


CASES = _cases()


def _arviz_row(row: np.ndarray, what: str, method: str | None, tail_prob: float) -> float:
    """One row's diagnostic from ArviZ's own array functions: the reference."""
    axes = {"chain_axis": 0, "draw_axis": 1}
    if what == "rhat":
        return array_stats.rhat(row, **axes)
    if what == "mcse":
        return array_stats.mcse(row, method=method, **axes)
    prob = {"prob": tail_prob} if method == "tail" else {}
    return array_stats.ess(row, method=method, **axes, **prob)


def _arviz(x: np.ndarray, what: str, method: str | None, tail_prob: float) -> np.ndarray:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return np.array([_arviz_row(r, what, method, tail_prob) for r in x], dtype=float)


WANTED = [*(("ess", m) for m in ESS_METHODS), ("rhat", None), ("mcse", "mean"), ("mcse", "sd")]


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("tail_prob", [batched_diagnostics.TAIL_PROB, 0.89])
def test_every_diagnostic_is_arvizs_own_to_the_bit(case, tail_prob):
    x = CASES[case]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        found = batched_diagnostics.diagnostics(x, WANTED, tail_prob=tail_prob)
    for key in WANTED:
        expected = _arviz(x, *key, tail_prob)
        assert found[key].shape == expected.shape
        same = (found[key] == expected) | (np.isnan(found[key]) & np.isnan(expected))
        rows = np.flatnonzero(~same)
        assert same.all(), f"{key} differs in rows {rows}: {found[key][rows]} vs {expected[rows]}"


def test_leading_dimensions_are_kept():
    x = CASES["iid"].reshape(3, 4, 4, 1000)
    assert batched_diagnostics.ess(x).shape == (3, 4)
    assert np.array_equal(batched_diagnostics.ess(x).ravel(), batched_diagnostics.ess(CASES["iid"]))


def test_rows_taken_a_few_at_a_time_give_the_same_numbers(monkeypatch):
    x = np.concatenate([CASES["correlated"], CASES["antithetic"]])
    whole = batched_diagnostics.diagnostics(x, WANTED)
    monkeypatch.setattr(batched_diagnostics, "CHUNK_DRAWS", 3 * x[0].size)  # three rows a chunk
    for key, value in batched_diagnostics.diagnostics(x, WANTED).items():
        assert np.array_equal(value, whole[key]), key


def test_an_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown ESS method"):
        batched_diagnostics.ess(CASES["iid"], "median")


def _thin_factor_row_by_row(draws: np.ndarray) -> int:
    """The thinning search one row at a time with ArviZ's own functions (the search before batching)."""

    def bulk(d):
        return float(array_stats.ess(d, method="bulk", chain_axis=0, draw_axis=1))

    def tail(d):
        return float(array_stats.ess(d, method="tail", prob=0.05, chain_axis=0, draw_axis=1))

    total = draws.size
    b, t = bulk(draws), tail(draws)
    ess = min(b, t)
    factor = max(1, int(np.ceil(total / ess))) if np.isfinite(ess) and ess > 0 else 1
    while True:
        kept = draws[:, ::factor]
        if kept.size < checks.MIN_KEPT:
            return max(1, factor - 1)
        if factor == 1:
            independent = b >= total and t >= total
        else:
            independent = tail(kept) >= kept.size and bulk(kept) >= kept.size
        if independent:
            return factor
        factor += 1


@pytest.mark.parametrize(
    "case", ["iid", "correlated", "slow", "antithetic", "one chain", "eight chains", "ties", "float32"]
)
def test_the_batched_thinning_finds_each_rows_own_factor(case):
    x = CASES[case]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        expected = [_thin_factor_row_by_row(r) for r in x]
        assert checks.thin_factors(x).tolist() == expected
        bulk = batched_diagnostics.ess(x, "bulk")
        assert checks.thin_factors(x, ess_bulk=bulk).tolist() == expected
        assert [checks.thin_factor(r) for r in x] == expected


def _warns(compute) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            compute()
        except Warning:
            return True
    return False


@pytest.mark.parametrize("case", list(CASES))
def test_no_warning_where_arviz_gives_none(case):
    """A row ArviZ judges quietly (a constant one, say) is judged quietly here: tests make warnings errors."""
    x = CASES[case]
    for key in WANTED:
        if not _warns(lambda key=key: [_arviz_row(r, *key, batched_diagnostics.TAIL_PROB) for r in x]):
            assert not _warns(lambda key=key: batched_diagnostics.diagnostics(x, [key])), key
