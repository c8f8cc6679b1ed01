"""The zoo: real, documented bugs of inference libraries, each reproduced as a plug-in engine.

Each module is one bug, written the way its library wrote the code, with the bug in it,
beside its twin: the same code with the fix. Each cites its source (repository, issue or
pull request, what was wrong, the fix) in its docstring. They run through the plug-in
path, ``python compare.py --sampler zoo.stan_2178:nuts,zoo.stan_2178:nuts_fixed``, and
all together through ``python compare.py zoo`` (``study.zoo``), which measures how often
the suite, and the methods its peers use, catch each bug and pass its twin.
``zoo.target`` is the model as a hand-written sampler sees it; ``zoo.hmc`` Stan's
Hamiltonian machinery and warm-up, shared by the HMC bugs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Bug:
    """One bug of the zoo: its module, its two engines, where it shows and where it came from.

    Attributes
    ----------
    name
        The module under ``zoo/`` (``stan_2178``).
    bug, twin
        The names of the engine with the bug and of its fixed twin in that module.
    families
        The families the catch table runs it on by default: where the bug has something to
        act on (a transformed parameter, correlated parameters).
    source
        Where it was reported and fixed (``stan-dev/stan#2178``).
    what
        One line: what was wrong.
    """

    name: str
    bug: str
    twin: str
    families: tuple[str, ...]
    source: str
    what: str

    def engines(self) -> tuple[Callable, Callable]:
        """Import the module; return (the engine with the bug, its twin)."""
        module = importlib.import_module(f"zoo.{self.name}")
        return getattr(module, self.bug), getattr(module, self.twin)


BUGS = {
    b.name: b
    for b in (
        Bug("stan_2178", "nuts", "nuts_fixed", ("multivariate_normal_known_cov",), "stan-dev/stan#2178",
            "NUTS checked each subtree's U-turn from a point outside it (Stan 2.10-2.13)"),
        Bug("stan_2799", "nuts", "nuts_fixed", ("normal_normal",), "stan-dev/stan#2799",
            "NUTS missed U-turns between a tree's halves and ran in circles (Stan 2.14-2.20)"),
        Bug("pymc_798", "nuts", "nuts_fixed", ("binomial_beta",), "pymc-devs/pymc#798",
            "a transform's log-Jacobian summed, then added to every element (PyMC3, 2015)"),
        Bug("fab_jax_14", "metropolis", "metropolis_fixed", ("normal_normal",), "lollcat/fab-jax#14",
            "Metropolis accepted when the log ratio beat +Exponential(1), not -E (fab-jax, 2023)"),
        Bug("pints_1325", "hammer", "hammer_fixed", ("normal_normal",), "pints-team/pints#1325",
            "the emcee hammer's stretch move weighed by z^(walkers - 1), not z^(dim - 1) (PINTS, 2021)"),
        Bug("blackjax_653", "mala", "mala_fixed", ("normal_normal",), "blackjax-devs/blackjax#653",
            "MALA's acceptance from the reverse move's transition energy (BlackJAX, 2024)"),
        Bug("pymc_7997", "metropolis", "metropolis_fixed", ("normal_normal",), "pymc-devs/pymc#7997",
            "the warm-up kept when a step method reported tune=False (PyMC, 2025)"),
        Bug("pymc_extras_641", "find_map", "find_map_fixed", ("binomial_beta",), "pymc-devs/pymc-extras#641",
            "find_MAP maximised the transformed density, Jacobian included (pymc-extras, 2026)"),
        Bug("keanu_492", "nuts", "nuts_fixed", ("normal_normal",), "improbable-research/keanu#492",
            "the leapfrog drifted half a step: exact in the limit, stuck in practice (Keanu, 2019)"),
        Bug("pymc_301", "metropolis", "metropolis_fixed", ("normal_normal",), "pymc-devs/pymc#301",
            "Metropolis kept tuning its scale through the whole run (PyMC, 2013)"),
        Bug("pints_674", "hmc", "hmc_fixed", ("normal_normal",), "pints-team/pints#674",
            "the Hamiltonian MCMC example sampled the log-likelihood, not the log-posterior (PINTS, 2019)"),
        Bug("pymc_8444", "advi", "advi_fixed", ("normal_normal",), "pymc-devs/pymc#8444",
            "ADVI's default optimiser divided each gradient by a window holding it (PyMC, open in 2026)"),
    )
}  # fmt: skip
