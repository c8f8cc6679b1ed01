"""ArviZ's ESS, R-hat and MCSE of many rows at once, equal to ArviZ's to the last bit.

ArviZ's array functions (``arviz_stats.base.array_stats.ess`` and its kin) take batch
axes but loop over them in Python (``arviz_stats.base.stats_utils.make_ufunc``): one call
of the whole computation per row, about 1 ms for 4,000 draws, dozens of NumPy calls on
small arrays. A study's verdict needs a dozen such numbers per row, and the thinning
search more (``study.checks.thin_factors``).

Here every step of ArviZ's computation runs over all rows at once, in the same
floating-point operations in the same order: the split chains, the ranks (SciPy's
``rankdata``'s, by NumPy's faster sort), Blom's back-transform, the Normal quantile (what
SciPy's ``norm.ppf`` computes, without its checks), ArviZ's
own FFT autocovariance (``array_stats.autocov``), the chain means, and Geyer's initial
positive and monotone sequences, whose sequential loops become a first-failure index and a
running minimum. Only the last sum of each row's autocorrelations is taken row by row,
so that NumPy sums the same slice in the same pairwise order. So each row's number is
ArviZ's own, to the last bit: ``tests/test_batched_diagnostics.py`` compares them on
rows of every kind (iid, autocorrelated, antithetic, constant, tied, discrete, thinned,
float32, one chain or eight). ArviZ stays the definition; this module is its
schedule. Rows with a NaN or an infinity, and arrays of fewer than 4 draws, are handed to
ArviZ itself, row by row.

Shapes: ``draws`` is ``(..., chain, draw)``; every function returns the leading shape.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
from arviz_stats.base import array_stats
from scipy import special

TAIL_PROB = 0.05  # the tail ESS at the 5% and 95% quantiles (ArviZ's array functions need a prob)
_BLOM = 3 / 8
_MIN_DRAWS = 4  # ArviZ's shape check for ESS, R-hat and MCSE
# Rows are taken this many draws at a time (about 32 MB of float64), so that the FFTs and
# ranks of a large SBC block never hold more than a few hundred MB; each row's numbers are
# its own whichever rows it is computed with.
CHUNK_DRAWS = 1 << 22


def _rows(draws: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """Return ``draws (..., chain, draw)`` as contiguous ``(rows, chain, draw)``, and the leading shape."""
    draws = np.asarray(draws)
    lead = draws.shape[:-2]
    return np.ascontiguousarray(draws.reshape(-1, *draws.shape[-2:])), lead


def _split(x: np.ndarray) -> np.ndarray:
    """ArviZ's split chains: each chain's first and last half as two chains (``_split_chains``)."""
    half = x.shape[-1] // 2
    return np.concatenate((x[:, :, :half], x[:, :, -half:]), axis=1)


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """SciPy's ``rankdata(x, method="average", axis=-1)`` of a 2-D array of finite numbers.

    The same ranks (each a whole or half number, exact in floating point) from NumPy's
    default sort rather than SciPy's stable one: ties share the average of their places,
    whichever order the sort leaves them in, and the default sort is about twice as fast.
    """
    rows, size = x.shape
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(float)  # SciPy's result type
    order = np.argsort(x, axis=-1)
    ranks = np.empty(x.shape, dtype=dtype)
    places = np.broadcast_to(np.arange(1, size + 1, dtype=dtype), x.shape)
    y = np.take_along_axis(x, order, axis=-1)
    new = np.ones(x.shape, dtype=bool)
    new[:, 1:] = y[:, 1:] != y[:, :-1]
    if new.all():  # no ties: the places themselves
        np.put_along_axis(ranks, order, places, axis=-1)
        return ranks
    position = np.arange(size)
    first = np.maximum.accumulate(np.where(new, position, 0), axis=-1)  # each tie's first place
    last_of = np.ones(x.shape, dtype=bool)
    last_of[:, :-1] = new[:, 1:]
    last = np.minimum.accumulate(np.where(last_of, position, size - 1)[:, ::-1], axis=-1)[:, ::-1]
    counts = (last - first + 1).astype(dtype)
    average = places[0][first] + (counts - 1) / 2  # SciPy's ordinal rank of the first + (count - 1) / 2
    np.put_along_axis(ranks, order, average, axis=-1)
    return ranks


def _z_scale(x: np.ndarray) -> np.ndarray:
    """Rank-normalise each row over all its chains and draws (ArviZ's ``_z_scale``).

    ArviZ's ``norm.ppf`` of the back-transformed ranks is SciPy's ``ndtri`` times the scale
    1 plus the location 0 (``rv_continuous.ppf``), in double precision whatever the ranks'
    precision (float32 draws have float32 ranks), done here without its argument checks.
    """
    rows, chains, draws = x.shape
    size = chains * draws
    rank = _average_ranks(x.reshape(rows, size))
    rank = (rank - _BLOM) / (size - 2 * _BLOM + 1)
    return (special.ndtri(rank).astype(float) * 1.0 + 0.0).reshape(x.shape)


def _whole(x: np.ndarray) -> np.ndarray:
    """Each row's chains and draws as one flat axis, the way NumPy reduces ``axis=None``."""
    return x.reshape(x.shape[0], -1)


def _fold(x: np.ndarray) -> np.ndarray:
    """Distance of each draw from its row's median (ArviZ's folding before ``_z_scale``)."""
    return abs(x - np.median(_whole(x), axis=-1)[:, None, None])


def _chain_mean(a: np.ndarray) -> np.ndarray:
    """Mean over the chain axis of ``a (rows, chain, lag)``, summed as ArviZ's ``np.mean(acov[:, t])``.

    ArviZ averages one lag's column over the chains, a reduction along a strided axis that
    NumPy sums pairwise; reducing the middle axis of the 3-D array would add chain by chain.
    The chains are moved last so that NumPy reduces them the same way.
    """
    return np.ascontiguousarray(np.swapaxes(a, 1, 2)).mean(axis=-1)


def _ess(x: np.ndarray) -> np.ndarray:
    """ArviZ's ``_ess`` (Geyer's initial monotone sequence) of each row of ``x (rows, chain, draw)``.

    A constant row's ESS is its size, before any autocovariance (as ArviZ returns early,
    so that no division by its zero variance happens, or warns).
    """
    x = np.asarray(x, dtype=float)
    flat = _whole(x)
    constant = (flat.max(axis=-1) - flat.min(axis=-1)) < np.finfo(float).resolution
    if not constant.any():
        return _geyer(x)
    out = np.full(x.shape[0], float(x[0].size))
    if not constant.all():
        out[~constant] = _geyer(x[~constant])
    return out


def _geyer(x: np.ndarray) -> np.ndarray:
    """Compute the body of ArviZ's ``_ess`` for rows that are not constant."""
    rows, n_chain, n_draw = x.shape
    acov = array_stats.autocov(x, axis=-1)
    chain_mean = x.mean(axis=-1)
    mean_acov = _chain_mean(acov)  # (rows, lag)
    mean_var = mean_acov[:, 0] * n_draw / (n_draw - 1.0)
    var_plus = mean_var * (n_draw - 1.0) / n_draw
    if n_chain > 1:
        var_plus += np.var(chain_mean, axis=-1, ddof=1)
    rho = 1.0 - (mean_var[:, None] - mean_acov) / var_plus[:, None]  # every lag's rho_hat
    rho[:, 0] = 1.0

    # Geyer's initial positive sequence: ArviZ's loop visits t = 1, 3, 5, ... (t < n_draw - 3)
    # while the previous pair's sum is positive (the first "previous" pair is rho_0 + rho_1)
    # and keeps each visited pair (t + 1, t + 2) whose sum is not negative.
    ts = np.arange(1, n_draw - 3, 2)
    sums = rho[:, ts + 1] + rho[:, ts + 2]  # the pair each visit computes
    before = np.concatenate((1.0 + rho[:, 1:2], sums[:, :-1]), axis=1)  # the test before each visit
    failed = ~(before > 0.0)
    visits = np.where(failed.any(axis=1), failed.argmax(axis=1), len(ts))  # E: visits made
    max_t = 2 * visits - 1
    kept = np.zeros_like(rho)
    kept[:, :2] = rho[:, :2]
    lag = np.arange(n_draw)
    inside = (lag[None, :] >= 2) & (lag[None, :] <= max_t[:, None])  # pairs of visits before the last
    kept[inside] = rho[inside]
    # the last visit's pair: kept if its sum is not negative; its even lag also if positive
    last = visits > 0
    idx = np.flatnonzero(last)
    last_even, last_odd = 2 * visits[idx], 2 * visits[idx] + 1
    pair_sum = rho[idx, last_even] + rho[idx, last_odd]
    whole_pair = pair_sum >= 0
    kept[idx[whole_pair], last_even[whole_pair]] = rho[idx[whole_pair], last_even[whole_pair]]
    kept[idx[whole_pair], last_odd[whole_pair]] = rho[idx[whole_pair], last_odd[whole_pair]]
    even_positive = rho[idx, last_even] > 0
    kept[idx[even_positive], last_even[even_positive]] = rho[idx[even_positive], last_even[even_positive]]

    # Geyer's initial monotone sequence: each pair (2j, 2j + 1), j = 1 .. E - 1, whose sum
    # exceeds the (already lowered) previous pair's takes half that sum in both places. The
    # lowered sums are the running minimum of the pair sums (a halved sum added to itself is
    # the sum again, exactly), so one pass over the pairs does it for every row.
    n_pairs = int(visits.max(initial=0))  # pairs 0 .. E - 1
    if n_pairs > 1:
        even = kept[:, 0 : 2 * n_pairs : 2]
        odd = kept[:, 1 : 2 * n_pairs : 2]
        pair = even + odd
        lowered = np.minimum.accumulate(pair, axis=1)
        j = np.arange(1, n_pairs)
        lower = (pair[:, 1:] > lowered[:, :-1]) & (j[None, :] <= visits[:, None] - 1)
        half = lowered[:, :-1] / 2.0
        r, c = np.nonzero(lower)
        kept[r, 2 * (c + 1)] = half[r, c]
        kept[r, 2 * (c + 1) + 1] = half[r, c]

    size = n_chain * n_draw
    tail = np.zeros(rows)
    inside_row = 2 * visits < n_draw
    tail[inside_row] = kept[inside_row, 2 * visits[inside_row]]
    head = np.array([np.sum(kept[i, : max_t[i] + 1]) for i in range(rows)])
    tau = -1.0 + 2.0 * head + tail
    floor = 1 / np.log10(size)
    tau = np.where(floor > tau, floor, tau)  # Python's max(tau, floor), NaN kept
    ess = size / tau
    return np.where(np.isnan(rho[:, 1]), np.nan, ess)  # ArviZ: NaN where any kept rho is NaN


def _quantile_ess(x: np.ndarray, prob: float) -> np.ndarray:
    """ArviZ's ``_ess_quantile``: ESS of the indicator of each row's draws at or below its quantile."""
    q = np.quantile(_whole(x), prob, axis=-1)
    return _ess(_split(x <= q[:, None, None]))


def _python_min(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Python's ``min(a, b)`` elementwise: ``b`` only where ``b < a`` (so a NaN ``a`` stays)."""
    return np.where(b < a, b, a)


def _python_max(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Python's ``max(a, b)`` elementwise: ``b`` only where ``b > a``."""
    return np.where(b > a, b, a)


def _rhat(z: np.ndarray) -> np.ndarray:
    """ArviZ's ``_rhat`` of each row of ``z (rows, chain, draw)``."""
    num_samples = z.shape[-1]
    chain_mean = np.mean(z, axis=-1)
    chain_var = np.var(z, axis=-1, ddof=1)
    between = num_samples * np.var(chain_mean, axis=-1, ddof=1)
    within = np.mean(chain_var, axis=-1)
    return np.sqrt((between / within + num_samples - 1) / num_samples)


class _Rows:
    """One array of rows and the pieces its diagnostics share (split chains, ranks, folds, squares)."""

    def __init__(self, x: np.ndarray, tail_prob: float):
        self.x, self.tail_prob = x, tail_prob
        self._ess_of: dict[str, np.ndarray] = {}

    @cached_property
    def split(self) -> np.ndarray:
        return _split(self.x)

    @cached_property
    def z_split(self) -> np.ndarray:
        return _z_scale(self.split)

    @cached_property
    def z_folded(self) -> np.ndarray:
        return _z_scale(_fold(self.split))

    @cached_property
    def centred(self) -> np.ndarray:
        return self.x - _whole(self.x).mean(axis=-1)[:, None, None]

    @cached_property
    def squares(self) -> np.ndarray:
        """The squared deviations from each row's mean: the sd's ESS and MCSE both read them."""
        return self.centred**2

    def ess(self, method: str) -> np.ndarray:
        if method not in self._ess_of:
            self._ess_of[method] = self._ess(method)
        return self._ess_of[method]

    def _ess(self, method: str) -> np.ndarray:
        if method == "bulk":
            return _ess(self.z_split)
        if method == "tail":
            low, high = sorted((self.tail_prob, 1 - self.tail_prob))
            return _python_min(_quantile_ess(self.x, low), _quantile_ess(self.x, high))
        if method == "mean":
            return _ess(self.split)
        if method == "sd":
            return _ess(_split(self.squares))
        if method == "folded":
            return _ess(self.z_folded)
        raise ValueError(f"unknown ESS method {method!r}")

    def rhat(self) -> np.ndarray:
        if self.x.shape[1] < 2:
            return np.full(self.x.shape[0], np.nan)
        return _python_max(_rhat(self.z_split), _rhat(self.z_folded))

    def mcse(self, method: str) -> np.ndarray:
        flat = _whole(self.x)
        if method == "mean":
            return np.std(flat, axis=-1, ddof=1) / np.sqrt(self.ess("mean"))
        if method == "sd":
            evar = _whole(self.squares).mean(axis=-1)
            varvar = (_whole(self.centred**4).mean(axis=-1) - evar**2) / self.ess("sd")
            return np.sqrt(varvar / evar / 4)
        raise ValueError(f"unknown MCSE method {method!r}")


def _arviz(x: np.ndarray, what: str, method: str | None, tail_prob: float) -> np.ndarray:
    """Ask ArviZ itself, row by row (for rows it must judge: NaN, infinities, too few draws)."""
    if what == "ess":
        kwargs = {"prob": tail_prob} if method == "tail" else {}
        found = array_stats.ess(x, method=method, chain_axis=-2, draw_axis=-1, **kwargs)
        return np.asarray(found, dtype=float)
    if what == "rhat":
        return np.asarray(array_stats.rhat(x, chain_axis=-2, draw_axis=-1), dtype=float)
    return np.asarray(array_stats.mcse(x, method=method, chain_axis=-2, draw_axis=-1), dtype=float)


def diagnostics(
    draws: np.ndarray, wanted: list[tuple[str, str | None]], *, tail_prob: float = TAIL_PROB
) -> dict[tuple[str, str | None], np.ndarray]:
    """Several of ArviZ's diagnostics of every row of ``draws (..., chain, draw)``, sharing their work.

    ``wanted`` lists ``("ess", method)`` (bulk, tail, mean, sd, folded; the tail at the
    ``tail_prob`` and ``1 - tail_prob`` quantiles, ArviZ's ``prob``), ``("rhat", None)``
    (rank-normalised split R-hat) and ``("mcse", method)`` (mean, sd). Each result has the
    leading shape of ``draws`` and equals ``arviz_stats.base.array_stats``'s number for that
    row, bit for bit.
    """
    x, lead = _rows(draws)
    out = {key: np.empty(x.shape[0]) for key in wanted}
    step = max(1, CHUNK_DRAWS // max(1, x[0].size)) if x.shape[0] else 1
    for start in range(0, x.shape[0], step):
        part = slice(start, start + step)
        for key, found in _diagnostics(x[part], wanted, tail_prob).items():
            out[key][part] = found
    return {key: v.reshape(lead) for key, v in out.items()}


def _diagnostics(
    x: np.ndarray, wanted: list[tuple[str, str | None]], tail_prob: float
) -> dict[tuple[str, str | None], np.ndarray]:
    """``diagnostics`` of the rows of ``x (rows, chain, draw)``, all at once."""
    out = {key: np.empty(x.shape[0]) for key in wanted}
    finite = np.isfinite(_whole(x)).all(axis=-1) if x.shape[-1] >= _MIN_DRAWS else np.zeros(x.shape[0], bool)
    if finite.any():
        rows = _Rows(x[finite] if not finite.all() else x, tail_prob)
        for what, method in wanted:
            out[(what, method)][finite] = rows.rhat() if what == "rhat" else getattr(rows, what)(method)
    if not finite.all():
        for what, method in wanted:
            out[(what, method)][~finite] = _arviz(x[~finite], what, method, tail_prob)
    return out


def ess(draws: np.ndarray, method: str = "bulk", *, tail_prob: float = TAIL_PROB) -> np.ndarray:
    """ArviZ's ESS (``method``: bulk, tail, mean, sd, folded) of each row of ``draws (..., chain, draw)``."""
    return diagnostics(draws, [("ess", method)], tail_prob=tail_prob)[("ess", method)]


def rhat(draws: np.ndarray) -> np.ndarray:
    """ArviZ's rank-normalised split R-hat of each row of ``draws (..., chain, draw)`` (NaN for one chain)."""
    return diagnostics(draws, [("rhat", None)])[("rhat", None)]
