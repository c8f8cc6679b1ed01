"""SAMPLERS: every built-in engine with what it promises, by name."""

from __future__ import annotations

from models.engines.approximations import (
    ADVI_AVERAGED,
    ADVI_STEPS,
    FULLRANK_STEPS,
    advi,
    advi_defaults,
    find_map,
    fullrank_advi,
    laplace,
    laplace_defaults,
)
from models.engines.exact import exact
from models.engines.external import numpyro, nutpie
from models.engines.protocol import Sampler
from models.engines.pymc_steps import demetropolisz, metropolis, nuts, slice_sampler, smc

_THINNED = (
    "{chains} chains x {draws} draws after {tune} tuning (every {thin}th of {thin}x as many iterations)"
)
_FIT = f"{ADVI_STEPS} Adam steps, the last {ADVI_AVERAGED} averaged, then {{chains}} x {{draws}} draws"

SAMPLERS: dict[str, Sampler] = {
    s.name: s
    for s in [
        Sampler(
            "exact",
            "iid draws from the closed-form posterior: the control, a perfect sampler",
            True,
            "distribution",
            None,
            (),
            exact,
            budget="{chains} x {draws} iid draws from the closed forms",
            needs_problem=True,
        ),
        Sampler(
            "nuts", "PyMC's No-U-Turn Sampler (nuts_sampler='pymc')", True, "distribution", None, (), nuts
        ),
        Sampler(
            "nutpie",
            "nutpie's NUTS in Rust, model compiled with numba",
            True,
            "distribution",
            "nutpie",
            ("nutpie",),
            nutpie,
        ),
        Sampler(
            "numpyro",
            "NumPyro's NUTS through JAX (nuts_sampler='numpyro')",
            True,
            "distribution",
            "jax",
            ("numpyro", "jax"),
            numpyro,
        ),
        Sampler(
            "metropolis",
            "PyMC's random-walk Metropolis, one coordinate at a time",
            True,
            "distribution",
            None,
            (),
            metropolis,
            thin=4,
            budget=_THINNED,
        ),
        Sampler(
            "slice",
            "PyMC's univariate slice sampler, one coordinate at a time",
            True,
            "distribution",
            None,
            (),
            slice_sampler,
        ),
        Sampler(
            "demetropolisz",
            "PyMC's differential-evolution Metropolis (one block, past-draws archive)",
            True,
            "distribution",
            None,
            (),
            demetropolisz,
            thin=10,
            budget=_THINNED + " per data set",
            separately=True,
        ),
        Sampler(
            "smc",
            "PyMC's Sequential Monte Carlo (pm.sample_smc, IMH kernel)",
            True,
            "distribution",
            None,
            (),
            smc,
            budget="{chains} runs of {draws} particles per data set",
            separately=True,
        ),
        Sampler(
            "advi",
            "mean-field ADVI (pm.fit, Adam, iterates averaged), draws from the fitted Normal",
            False,
            "distribution",
            None,
            (),
            advi,
            check="target",
            target="advi",
            budget=_FIT,
            promise="the independent Normals in PyMC's unconstrained space that maximise the ELBO; "
            "its draws are tested against that optimum, within the draws' and the optimiser's own "
            "error, and the optimum's gap to the exact posterior is shown",
        ),
        Sampler(
            "advi_defaults",
            "mean-field ADVI with pm.fit's defaults (10,000 steps of adagrad_window)",
            False,
            "distribution",
            None,
            (),
            advi_defaults,
            check="target",
            target="advi",
            budget="10000 optimisation steps, then {chains} x {draws} draws from the fit",
            promise="what a user who changes nothing gets; judged against the same optimum as advi",
        ),
        Sampler(
            "fullrank_advi",
            "full-rank ADVI (pm.fit, Adam, iterates averaged), one data set at a time",
            False,
            "distribution",
            None,
            (),
            fullrank_advi,
            check="target",
            target="fullrank_advi",
            budget=f"{FULLRANK_STEPS} optimisation steps, then {{chains}} x {{draws}} draws from the fit, "
            "per data set",
            separately=True,
            promise="the correlated Normal in PyMC's unconstrained space that maximises the ELBO; its "
            "draws are tested against that optimum, within the draws' and the optimiser's own error, "
            "and the optimum's gap to the exact posterior is shown",
        ),
        Sampler(
            "laplace",
            "pymc-extras' Laplace approximation (exact Hessian at the MAP)",
            False,
            "distribution",
            "laplace",
            ("pymc_extras",),
            laplace,
            check="target",
            target="laplace",
            promise="the Normal at the mode with the exact Hessian there, in PyMC's unconstrained "
            "space; its draws are tested against that optimum, whose gap to the exact posterior is shown",
            budget="Newton-CG to the MAP, then {chains} x {draws} draws from the Normal",
        ),
        Sampler(
            "laplace_defaults",
            "pymc-extras' Laplace approximation with its defaults (BFGS's inverse Hessian)",
            False,
            "distribution",
            "laplace",
            ("pymc_extras",),
            laplace_defaults,
            check="target",
            target="laplace",
            promise="what a user who changes nothing gets; judged against the same optimum as laplace",
            budget="BFGS to the MAP, then {chains} x {draws} draws from the Normal",
        ),
        Sampler(
            "find_map",
            "pm.find_MAP (L-BFGS-B): the posterior mode only",
            False,
            "point",
            None,
            (),
            find_map,
            check="map",
            promise="the exact MAP, up to optimiser tolerance",
            budget="one optimisation",
        ),
    ]
}
