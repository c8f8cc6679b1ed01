"""The one seed source (study/seeds.py): streams kept apart, and each derivation pinned to its value."""

from __future__ import annotations

import itertools
import zlib

import numpy as np

from models.engines import SAMPLERS
from models.families import FAMILIES
from study import seeds

NS = (1, 5, 10, 50, 100, 1000)
POINTS = ("optimum", "mean+1sd", "mean+3sd", "sd/2", "sd*2")


def realistic_keys(stream: str) -> list[tuple]:
    """A grid of the keys each stream is called with in the suite's experiments."""
    fam, eng = list(FAMILIES), list(SAMPLERS)
    grid = {
        "data": itertools.product(fam, NS, range(40)),
        "sampler": itertools.product(fam, eng),
        "sbc_truth": itertools.product(fam, NS, range(50)),
        "sbc_engine": itertools.product(fam, eng, NS, range(4)),
        "sbc_ties": itertools.product(fam, eng, NS, range(50)),
        "sbc_joint": itertools.product(fam, NS, range(50)),
        "sbc_peer": itertools.product(fam, [*eng, "stan_2178", "stan_2178_fixed"], NS, range(17)),
        "gradients": itertools.product(fam, NS, ("mean_field", "full_rank"), POINTS, (1, 10, 100)),
        "pathwise": itertools.product(fam, NS, ("mean_field", "full_rank"), POINTS, (1, 10, 100)),
        "pathwise_compile": itertools.product(fam, NS, ("mean_field", "full_rank")),
        "beta": itertools.product(fam, NS, (0.5, 1.0, 2.0, 5.0), range(6)),
        "mixture": [()],
        "gumbel": [(p, "reinforce") for p in ("uniform", "tilted")]
        + [(p, "relaxed", float(t)) for p in ("uniform", "tilted") for t in np.geomspace(0.01, 2, 12)],
        "exact_draws": [(n,) for n in NS],
        "power_defect": [()],
        "separately": itertools.product(NS, range(40)),
        "mode_tolerance": [()],
        "prior_probe": [()],
    }
    return [tuple(k) for k in grid[stream]]


def test_every_stream_has_its_keys_listed():
    """A new stream must be added to the grid above (KeyError otherwise), so the collision test covers it."""
    for name in seeds.STREAMS:
        assert realistic_keys(name), name


def test_no_two_streams_of_one_root_share_a_spawn_key():
    """Streams from the same root (the run's seed, an engine's) never derive the same seed sequence."""
    for root in ("run", "engine"):
        owner: dict[tuple, str] = {}
        for name, stream in seeds.STREAMS.items():
            if stream.root != root:
                continue
            for key in realistic_keys(name):
                words = seeds.words(name, key)
                assert owner.setdefault(words, name) == name, f"{name} {key} collides with {owner[words]}"


def test_prefixed_streams_have_distinct_prefixes():
    prefixes = [s.prefix for s in seeds.STREAMS.values() if s.prefix]
    assert len(prefixes) == len(set(prefixes))


def test_each_derivation_is_the_one_the_results_were_made_with():
    """Pinned to the literal derivations the streams had before they were gathered: same numbers."""
    crc = lambda s: zlib.crc32(s.encode())  # noqa: E731
    old_data = np.random.default_rng(np.random.SeedSequence(3, spawn_key=(0, crc("poisson_gamma"), 100, 4)))
    assert np.array_equal(seeds.data_rng(3, "poisson_gamma", 100, 4).random(4), old_data.random(4))
    old_sampler = np.random.SeedSequence(3, spawn_key=(1, crc("poisson_gamma"), crc("nuts"))).generate_state(
        1
    )[0]
    assert seeds.sampler_seed(3, "poisson_gamma", "nuts") == int(old_sampler)
    old_grad = np.random.default_rng(
        np.random.SeedSequence(
            3,
            spawn_key=tuple(
                crc(str(k)) for k in ("gradients", "normal_normal", 10, "mean_field", "optimum", 1)
            ),
        )
    )
    new_grad = seeds.rng(3, "gradients", "normal_normal", 10, "mean_field", "optimum", 1)
    assert np.array_equal(new_grad.random(4), old_grad.random(4))
    old_exact = np.random.default_rng(np.random.SeedSequence(11, spawn_key=(100,)))
    assert np.array_equal(seeds.exact_draws_rng(11, 100).random(4), old_exact.random(4))
    old_mode = np.random.default_rng(seeds.MODE_TOLERANCE_SEED)
    assert np.array_equal(
        seeds.rng(seeds.MODE_TOLERANCE_SEED, "mode_tolerance").random(4), old_mode.random(4)
    )
