"""Every random number of every experiment, from one derivation: a named stream, a root seed and a key.

``derive(root, stream, *key)`` is ``SeedSequence(root, spawn_key=(*prefix, *words(key)))``:
the stream's own prefix keeps streams apart, and the key (family, N, replication, engine,
...) keeps the cells of one stream apart, so any cell can be regenerated on its own, whatever
else is in the run and in whatever order or place the work runs. ``rng`` wraps it in a
generator; ``integer`` gives an integer seed for an engine.

A stream's root is the run's ``--seed`` (``run``), an engine's own seed, handed to it by the
run (``engine``), or a constant (``fixed``). Its key words are names (their CRC-32) and whole
numbers, or, for the variational experiments (``text``), the CRC-32 of every element's text.
The streams keep the derivations they had before they were gathered here, so every sampled
number is what it was; ``tests/test_seeds.py`` checks that no two streams of one root can
produce the same key.
"""

from __future__ import annotations

import zlib
from typing import NamedTuple

import numpy as np


class Stream(NamedTuple):
    """Where a stream's seeds come from and how its key is written."""

    root: str  # "run", "engine" or "fixed"
    prefix: tuple[int, ...]  # the first words of every spawn key of the stream
    text: bool = False  # each key element as the CRC-32 of its text (else names: CRC-32, numbers: as is)
    doc: str = ""


def crc(name: str) -> int:
    """Return the CRC-32 of a name: how a name enters a spawn key."""
    return zlib.crc32(name.encode())


STREAMS: dict[str, Stream] = {
    "data": Stream("run", (0,), doc="(family, N, rep): the data set of one replication at one N"),
    "sampler": Stream("run", (1,), doc="(family, engine): one engine's run over a family's data sets"),
    "sbc_truth": Stream("run", (10,), doc="(family, N, sim): SBC's true parameter and data set"),
    "sbc_engine": Stream("run", (11,), doc="(family, engine, N, block): the engine's seed of one SBC block"),
    "sbc_ties": Stream("run", (12,), doc="(family, engine, N, sim): ties among ranks, broken at random"),
    "sbc_joint": Stream("run", (13,), doc="(family, N, sim): exact draws for the Mahalanobis quantity"),
    "sbc_peer": Stream("run", (14,), doc="(family, engine, N, block): an engine's seed, the zoo's SBC peer"),
    "gradients": Stream("run", (crc("gradients"),), True, "(family, N, q, point, S): NumPy estimators"),
    "pathwise": Stream("run", (crc("pathwise"),), True, "(family, N, q, point, S): PyMC gradient draws"),
    "pathwise_compile": Stream("run", (), True, "(family, N, q): PyMC's compiled ADVI objective"),
    "beta": Stream("run", (crc("beta"),), True, "(family, N, w, k): a beta-weighted ELBO fit"),
    "mixture": Stream("run", (crc("mixture"),), True, "(): the categorical latent's data"),
    "gumbel": Stream("run", (crc("gumbel"),), True, "(q, estimator[, temperature]): Gumbel-softmax draws"),
    "exact_draws": Stream("engine", (), doc="(N,): the exact engine's draws at one N"),
    "power_defect": Stream("engine", (99,), doc="(): the randomness of a draws defect"),
    "separately": Stream("engine", (98,), doc="(N, rep): one data set's own fit (study.fitting)"),
    "mode_tolerance": Stream("fixed", (), doc="(): exact draws measuring the half-sample mode's spread"),
    "prior_probe": Stream("fixed", (), doc="(): a data set whose values are not read (for the prior)"),
}
MODE_TOLERANCE_SEED = 20_261_124  # the mode tolerance's constant root
PRIOR_PROBE_SEED = 0


def words(stream: str, key: tuple) -> tuple[int, ...]:
    """Return the spawn key of ``key`` in ``stream``: its prefix, then one word per key element."""
    s = STREAMS[stream]
    if s.text:
        return (*s.prefix, *(crc(str(k)) for k in key))
    return (*s.prefix, *(crc(k) if isinstance(k, str) else int(k) for k in key))


def derive(root: int, stream: str, *key) -> np.random.SeedSequence:
    """Return the seed sequence of ``key`` in ``stream`` from ``root`` (run, engine or constant)."""
    return np.random.SeedSequence(root, spawn_key=words(stream, key))


def rng(root: int, stream: str, *key) -> np.random.Generator:
    """Return a generator for ``key`` in ``stream``."""
    return np.random.default_rng(derive(root, stream, *key))


def integer(root: int, stream: str, *key) -> int:
    """Return an integer seed (32 bits) for an engine, from ``key`` in ``stream``."""
    return int(derive(root, stream, *key).generate_state(1)[0])


def below_2_31(root: int, stream: str, *key) -> int:
    """Return a seed below 2^31 drawn from ``key``'s generator (the variational experiments' PyMC seeds)."""
    return int(rng(root, stream, *key).integers(2**31 - 1))


def exact_draws_rng(seed: int, n: int) -> np.random.Generator:
    """Return the generator of the exact engine's draws at sample size ``n``, from the engine's seed."""
    return rng(seed, "exact_draws", n)


def power_run_seed(seed: int, s: int) -> int:
    """Return the study seed of power run ``s``: consecutive, so a run has the same data for all defects."""
    return seed + s


def data_rng(seed: int, family: str, n: int, rep: int) -> np.random.Generator:
    """Return the generator for the data set of size ``n``, replication ``rep``."""
    return rng(seed, "data", family, n, rep)


def sampler_seed(seed: int, family: str, sampler: str) -> int:
    """Integer seed for one sampler run over all of a family's data sets."""
    return integer(seed, "sampler", family, sampler)
