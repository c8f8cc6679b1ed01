"""What the variational experiments share: configuration, seeds, families and Gaussian problems."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from analytic import variational as va
from models.batched import for_sampling
from models.families import FAMILIES, Family
from study.run import simulate_datasets

if TYPE_CHECKING:
    import pymc as pm

DEFAULT_SAMPLES = (1, 10, 100)
DEFAULT_REPS = 1000
# a variance counts as zero below this share of the pathwise estimator's exact variance:
# rounding in float64 leaves about 1e-30 of it where the exact value is 0
ZERO_VARIANCE_SHARE = 1e-12
# rows whose sample variance has fewer chi-square degrees of freedom are shown, not judged
MIN_DOF = 300
POINTS: dict[str, tuple[float, float]] = {
    # name: (mean moved by this many posterior sd, sd scaled by this factor)
    "optimum": (0.0, 1.0),
    "mean+1sd": (1.0, 1.0),
    "mean+3sd": (3.0, 1.0),
    "sd/2": (0.0, 0.5),
    "sd*2": (0.0, 2.0),
}


def gaussian_families() -> list[str]:
    """Families whose posterior is Gaussian in the parameter (the gradient study's families)."""
    return [key for key, f in FAMILIES.items() if f.gaussian_posterior is not None]


@dataclass(frozen=True)
class GaussianProblem:
    """One family at one N: its data set, exact posterior and PyMC model."""

    family: Family
    settings: Any
    n: int
    x: np.ndarray
    posterior: va.GaussianPosterior

    @classmethod
    def build(cls, key: str, settings: Any, n: int, seed: int) -> GaussianProblem:
        """Simulate the data set of ``(seed, family, n)`` and compute its exact posterior."""
        family = FAMILIES[key]
        x = simulate_datasets(family, settings, (n,), 1, seed)[n][0]
        mean, cov = family.gaussian_posterior(x, settings)
        log_z = float(family.log_evidence(x[None], settings)[0])
        return cls(
            family, settings, n, x, va.GaussianPosterior(np.asarray(mean, float), np.asarray(cov), log_z)
        )

    def model(self) -> pm.Model:
        """Build the family's PyMC model of this one data set, frozen as the engines see it."""
        return for_sampling(self.family.build_model({self.n: self.x[None]}, self.settings))


def q_at(post: va.GaussianPosterior, point: str, *, full_rank: bool) -> va.GaussianQ:
    """Return the variational distribution at one of ``POINTS``."""
    shift, scale = POINTS[point]
    best = va.optimum(post, full_rank=full_rank)
    return va.GaussianQ(best.mean + shift * np.sqrt(np.diag(post.cov)), best.chol * scale, full_rank)


@dataclass(frozen=True)
class GradientConfig:
    """What ``compare.py gradients`` measures."""

    families: tuple[str, ...]
    settings: dict[str, Any]
    ns: tuple[int, ...] = (10, 100, 1000)
    samples: tuple[int, ...] = DEFAULT_SAMPLES
    reps: int = DEFAULT_REPS
    seed: int = 0
    weights: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0)
    temperatures: tuple[float, ...] = field(default_factory=lambda: tuple(np.geomspace(0.01, 2, 12)))


def checked_config(seed: int = 0) -> GradientConfig:
    """Return the configuration the test suite judges and ``benchmarks/gradients.py calibration`` measures.

    normal_normal and multivariate_normal_known_cov, N = 10 and 100, 1 and 10 samples, the
    default 1000 repetitions: one definition, so the measured false-alarm rate is the tested one's.
    """
    keys = ("normal_normal", "multivariate_normal_known_cov")
    return GradientConfig(
        families=keys,
        settings={k: FAMILIES[k].settings() for k in keys},
        ns=(10, 100),
        samples=(1, 10),
        reps=DEFAULT_REPS,
        seed=seed,
    )
