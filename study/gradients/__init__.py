"""The ELBO's Monte Carlo gradient against its closed form, for the Gaussian families.

For each Gaussian family (Normal-Normal, multivariate Normal, linear regression), each N
and one simulated data set: the exact posterior, and a Gaussian ``q`` (mean-field, and full
rank where the parameter has more than one dimension) placed at ``POINTS``: at the ELBO's
maximum in its family, with the mean moved by 1 and 3 posterior sd, and with the sd halved
and doubled. At each point every estimator of ``analytic.variational`` is measured over
``reps`` repeated estimates of ``S`` samples each, with fixed seeds:

* ``score``, ``score_baseline`` and ``stl`` are computed in NumPy from the formulas;
* ``pathwise`` is PyMC's own: ``pytensor.grad`` of the negative ELBO that ``pm.ADVI`` and
  ``pm.FullRankADVI`` minimise (``inference.objective``), on the family's model, at the same
  ``q`` (PyMC's sd is ``softplus(rho)``; the gradient is carried to ``log sd`` by the chain
  rule).

Each row is judged: the mean against the exact gradient as a z score, and the measured
variance inside a chi-square interval around the exact one, with degrees of freedom from
the estimate's exact fourth moment (``R - 1`` when the estimates are Normal; fewer for the
heavy-tailed score function). Where the exact variance is zero (sticking the landing, and
the score function with the optimal baseline, at the exact posterior), the check is that
the measured variance is zero up to rounding.
"""

from study.gradients.beta_elbo import BETA_SEEDS, judge_beta, run_beta_elbo
from study.gradients.common import (
    DEFAULT_REPS,
    DEFAULT_SAMPLES,
    MIN_DOF,
    POINTS,
    ZERO_VARIANCE_SHARE,
    GaussianProblem,
    GradientConfig,
    checked_config,
    gaussian_families,
    q_at,
)
from study.gradients.estimators import (
    judge_gradients,
    numpy_estimates,
    run_gradients,
    variance_dof,
    variance_interval,
)
from study.gradients.gumbel import (
    GUMBEL_DRAWS,
    GUMBEL_POINTS,
    MIXTURE,
    mixture_scores,
    run_gumbel,
    sign_changes,
)

__all__ = [
    "BETA_SEEDS",
    "DEFAULT_REPS",
    "DEFAULT_SAMPLES",
    "GUMBEL_DRAWS",
    "GUMBEL_POINTS",
    "MIN_DOF",
    "MIXTURE",
    "POINTS",
    "ZERO_VARIANCE_SHARE",
    "GaussianProblem",
    "GradientConfig",
    "checked_config",
    "gaussian_families",
    "judge_beta",
    "judge_gradients",
    "mixture_scores",
    "numpy_estimates",
    "q_at",
    "run_beta_elbo",
    "run_gradients",
    "run_gumbel",
    "sign_changes",
    "variance_dof",
    "variance_interval",
]
