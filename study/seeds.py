"""Seeds derived from one study seed, so any cell can be regenerated on its own.

Each data set is keyed by (family, N, replication) and each sampler run by
(family, sampler): the same ``--seed`` gives the same data for N = 100, rep 3 whatever
other sample sizes or samplers are in the run, and whatever order they run in.
"""

from __future__ import annotations

import zlib

import numpy as np

_DATA, _SAMPLER = 0, 1


def _key(name: str) -> int:
    return zlib.crc32(name.encode())


def data_rng(seed: int, family: str, n: int, rep: int) -> np.random.Generator:
    """Return the generator for the data set of size ``n``, replication ``rep``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_DATA, _key(family), n, rep)))


def sampler_seed(seed: int, family: str, sampler: str) -> int:
    """Integer seed for one sampler run over all of a family's data sets."""
    ss = np.random.SeedSequence(seed, spawn_key=(_SAMPLER, _key(family), _key(sampler)))
    return int(ss.generate_state(1)[0])
