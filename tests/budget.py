"""The test suite's own false-failure budget, and the seed offset that stands in for a new machine.

MCMC draws repeat for a seed on one machine, not across processors, so on a new machine
(CI's) every statistical assertion in tests/ is a fresh draw. A correct codebase may fail
``scripts/test`` there with probability at most ``BUDGET``, shared evenly by Bonferroni:
each statistical assertion, a false alarm of a correct engine or a miss of a defect a test
must see, gets ``ALPHA = BUDGET / ASSERTIONS``. A test that makes statistical assertions
says how many with ``@pytest.mark.statistical(k)``; ``tests/conftest.py`` adds them up at
collection and refuses a suite that makes more than ``ASSERTIONS``.

Every seed of a statistical test goes through ``seed``: ``CONJUGATE_CHECK_TEST_SEED=K``
shifts them all by ``K``, a stand-in for a new processor. ``scripts/test-offsets`` reruns
the statistical tests under many offsets and prints how often the suite failed.
"""

from __future__ import annotations

import os

from scipy import stats

BUDGET = 0.001  # P(a correct codebase fails scripts/test on a new machine)
ASSERTIONS = 250  # statistical assertions the suite may make (conftest checks the count)
ALPHA = BUDGET / ASSERTIONS  # each assertion's false-failure probability: 4e-6
Z = float(stats.norm.isf(ALPHA / 2))  # two-sided Normal quantile at ALPHA: 4.61
OFFSET = int(os.environ.get("CONJUGATE_CHECK_TEST_SEED", "0") or 0)


STRIDE = 1_000_003  # larger than any base seed in tests/, so two offsets never share a seed


def seed(base: int) -> int:
    """The seed a statistical test uses for ``base``: shifted by ``CONJUGATE_CHECK_TEST_SEED`` strides."""
    return base + STRIDE * OFFSET


def alpha_each(k: int) -> float:
    """Share of ``ALPHA`` for each of ``k`` checks that together make one assertion."""
    return ALPHA / k
