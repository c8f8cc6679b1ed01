"""Stan 2.14 to 2.20: NUTS missed U-turns between the halves of a tree and ran in circles.

**Source**: stan-dev/stan issue #2799, fixed by pull request #2800 ("Feature/issue 2799
robust no u turn", merged for Stan 2.21), after the Stan forum thread "NUTS misses
U-turns, runs in circles until max treedepth" (2019). PyMC (#3605), Turing's AdvancedHMC,
DynamicHMC.jl and Bean Machine made the same change.

**What was wrong** (``src/stan/mcmc/hmc/nuts/base_nuts.hpp``): when two subtrees are
merged, NUTS checks the U-turn criterion over the merged tree's two ends only. On nearly
iid Gaussian targets a trajectory can turn back between the halves without either end
showing it, and the tree keeps doubling, up to the maximum depth, around the level set.

**The fix**: two more checks per merge, each half's sum of momenta extended by the other
half's nearest state, against the corresponding ends; ``nuts_fixed`` is the twin (Stan
2.21's criterion). Both are ``zoo.stan_2178``'s NUTS with that module's own bug fixed
(Stan 2.14's), the extra checks off or on, and Stan's warm-up (``zoo.hmc``). Either way
the sampler is exact: the bug costs gradients (longer trees, so fewer effective draws a
second), not correctness, so no test of the draws should see it; the trees' depth
(``sample_stats.tree_depth``) and the cost would. On the default study they did not
differ either: both built trees of mean depth 3.0, 7 leapfrog steps a draw (``python
compare.py --sampler zoo.stan_2799:nuts,zoo.stan_2799:nuts_fixed``, then the
``posterior_*.nc`` files' ``tree_depth``): circling needs the step sizes and dimensions the
forum found it at, which the adapted metric of 60 data sets does not hit.

    python compare.py --sampler zoo.stan_2799:nuts,zoo.stan_2799:nuts_fixed
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import xarray as xr

from models.engines.protocol import Budget
from zoo import stan_2178
from zoo.hmc import run_adaptive
from zoo.target import Target, bug_and_twin, run_chains


def fit(model: pm.Model, b: Budget, *, bug: bool) -> xr.DataTree:
    """Stan 2.20's NUTS (ends only) or Stan 2.21's (the checks between the halves too)."""

    def one_chain(target: Target, rng: np.random.Generator, draws: int, tune: int):
        def transition(ham, z, epsilon, r):
            return stan_2178.transition(ham, z, epsilon, r, bug=False, extra_checks=not bug)

        return run_adaptive(target, rng, draws, tune, transition)

    return run_chains(Target(model), one_chain, draws=b.draws, tune=b.tune, chains=b.chains, seed=b.seed)


nuts, nuts_fixed = bug_and_twin(
    fit,
    "stan_2799",
    "Stan 2.14-2.20's NUTS: U-turns between a tree's halves missed, trees too deep (stan#2799)",
    "Stan 2.21's NUTS with the extra U-turn checks of stan#2800 (the twin of zoo.stan_2799:nuts)",
)
