"""PyMC (2013): step methods that tune kept tuning through the whole run.

**Source**: pymc-devs/pymc pull request #301, "Implemented stoppable tuning" (June 2013):
"until now step methods that tune kept tuning throughout sampling, with no opportunity
for stopping. I've implemented a pretty simple way of doing so by having a tuning flag in
the step method, and then a tuning argument in sample that takes an integer value for
the number of steps to tune." Today ``pm.sample`` calls every step's ``stop_tuning()``
after ``tune`` iterations.

**What was wrong**: Metropolis tunes its proposal scale every 100 iterations from the
acceptance rate of the last 100. Left on, the scale keeps moving with the chain's own
recent history, so the kernel at each step depends on the past: the chain is no longer a
Markov chain with the posterior as its stationary distribution (adaptation that does
not diminish), and its draws need not converge to it. How far off it ends is measured,
and on a Gaussian it is too little for draws to show: over 800,000 draws of a standard
Normal its variance came out 1.0032 +- 0.0037, the twin's 0.9961 +- 0.0035, the means
-0.0029 and -0.0051 +- 0.0024 (``python benchmarks/zoo_limits.py zoo.pymc_301 --draws
200000``). What would see it is the step's own record: its ``scaling`` statistic keeps
changing after the warm-up.

**The fix**: stop tuning after the warm-up; ``metropolis_fixed`` is the twin, PyMC's
Metropolis as ``pm.sample`` runs it. The bug is the same step with ``stop_tuning`` doing
nothing, as before the pull request. Every 4th draw is kept (``thin``), as the
registry's ``metropolis`` does.

    python compare.py --sampler zoo.pymc_301:metropolis,zoo.pymc_301:metropolis_fixed
"""

from __future__ import annotations

import pymc as pm
import xarray as xr

from models.engines.protocol import Budget
from models.engines.pymc_steps import pm_sample
from zoo.target import bug_and_twin


class NeverStopsTuning(pm.Metropolis):
    """PyMC's Metropolis before pull request #301: ``stop_tuning`` does not stop it."""

    def stop_tuning(self) -> None:
        """Keep tuning (the bug)."""


def fit(model: pm.Model, b: Budget, *, bug: bool) -> xr.DataTree:
    """PyMC's Metropolis through ``pm.sample``, tuning stopped after the warm-up or never."""
    with model:
        step = NeverStopsTuning() if bug else pm.Metropolis()
    return pm_sample(model, b, cores=b.cores, step=step)


metropolis, metropolis_fixed = bug_and_twin(
    fit,
    "pymc_301",
    "PyMC 2013: Metropolis tuning its scale through the whole run (pymc#301)",
    "PyMC's Metropolis, tuning stopped after the warm-up as pymc#301 made it (the twin)",
    thin=4,
)
