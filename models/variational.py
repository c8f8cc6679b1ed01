"""PyMC's own variational objective: ADVI's ELBO gradient at a given q, and the beta-weighted ELBO's fit.

The study of ELBO gradients (``study.gradients``) measures these against closed forms.
"""

from __future__ import annotations

import time

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pymc.pytensorf import compile as pm_compile
from pymc.pytensorf import find_rng_nodes, reseed_rngs

from analytic import variational as va
from models.engines import numba_calls
from models.engines.protocol import quiet_pymc


class PyMCPathwise:
    """PyMC's ADVI gradient of the ELBO, compiled once per model and q family.

    ``estimates(q, samples, reps)`` sets the approximation's shared parameters to ``q`` and
    returns ``reps`` gradient estimates of ``samples`` draws each, in ``q``'s parameter order
    (``analytic.variational.GaussianQ.parameter_names``), as the ELBO's gradient (PyMC's
    loss is the negative ELBO).
    """

    def __init__(self, model: pm.Model, *, full_rank: bool, seed: int):
        inference = (pm.FullRankADVI if full_rank else pm.ADVI)(model=model)
        (self.group,) = inference.approx.groups
        self.full_rank = full_rank
        self.params = self.group.params_dict
        nmc = pt.iscalar("samples")
        loss = inference.objective(nmc)
        names = ["mu", "L_tril"] if full_rank else ["mu", "rho"]
        grads = pytensor.grad(loss, [self.params[k] for k in names])
        self.rngs = find_rng_nodes(grads)
        numba_calls.install()  # each call draws from a Generator: see numba_calls
        self.fn = pm_compile([nmc], grads, random_seed=seed)

    def _set(self, q: va.GaussianQ) -> np.ndarray:
        """Put ``q`` into PyMC's parameters; return d(log scale)/d(rho) per diagonal entry's sd."""
        diag = np.diag(q.chol)
        rho = np.log(np.expm1(diag))
        self.params["mu"].set_value(q.mean.copy())
        if self.full_rank:
            rows, cols = va.tril(q.dim)
            packed = q.chol[rows, cols].copy()
            packed[rows == cols] = rho
            self.params["L_tril"].set_value(packed)
        else:
            self.params["rho"].set_value(rho)
        # sd = softplus(rho): d sd / d rho = sigmoid(rho), so d/d log sd = d/d rho * sd / sigmoid(rho)
        return diag / (1 / (1 + np.exp(-rho)))

    def estimates(self, q: va.GaussianQ, samples: int, reps: int, seed: int) -> tuple[np.ndarray, float]:
        """Return ``reps`` estimates ``(reps, P)`` of ``samples`` draws each, and the seconds per estimate.

        The draws come from ``seed`` alone (PyMC's random generators are reseeded), so each
        point and sample count can be rerun on its own.
        """
        factor = self._set(q)
        self.fn(samples)  # the first call of a compiled function pays for its set-up: not timed
        reseed_rngs(self.rngs, seed)
        start = time.perf_counter()
        out = np.empty((reps, len(q.parameter_names())))
        d = q.dim
        for r in range(reps):
            dm, dl = self.fn(samples)
            dl = -np.asarray(dl, dtype=float)
            if self.full_rank:
                rows, cols = va.tril(d)
                dl[rows == cols] *= factor
            else:
                dl = dl * factor
            out[r] = np.concatenate([-np.asarray(dm, dtype=float), dl])
        return out, (time.perf_counter() - start) / reps


def fit_beta_elbo(
    model: pm.Model, weight: float, seed: int, *, iterations: int = 3000, learning_rate: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    """Maximise the beta-weighted ELBO with PyMC's ``KLqp(MeanField, beta=w)``; return the fitted mean and sd.

    Adam, 10 Monte Carlo samples per step, at ``learning_rate`` for the first quarter of the
    iterations and decaying as 1/i after it; the returned values are the averages of the
    parameters (the mean and PyMC's ``rho``, sd = softplus(rho)) over the second half
    (Polyak-Ruppert averaging). Measured on linear_regression at N = 1000, w = 0.5 (target sd
    0.022): a constant rate of 0.02 had not arrived after 3000 steps (sd 27% too large), a
    constant 0.1 arrives in 1000 and then wanders by 7%; this schedule lands within 1%.
    """
    numba_calls.install()  # each step draws from a Generator: see numba_calls
    approx = pm.MeanField(model=model, random_seed=seed)
    inference = pm.variational.KLqp(approx, beta=weight)
    mu, rho = approx.groups[0].params_dict["mu"], approx.groups[0].params_dict["rho"]
    rate = pytensor.shared(float(learning_rate))
    kept: list[tuple[np.ndarray, np.ndarray]] = []

    def record(_approx, _losses, i):
        if i > iterations // 4:
            rate.set_value(learning_rate * (iterations // 4) / i)
        if i > iterations // 2:
            kept.append((mu.get_value(), rho.get_value()))

    with quiet_pymc():  # pm.fit logs "Finished" even without a progress bar
        inference.fit(
            n=iterations,
            obj_optimizer=pm.adam(learning_rate=rate),
            obj_n_mc=10,
            progressbar=False,
            callbacks=[record],
        )
    return np.mean([m for m, _ in kept], axis=0), np.logaddexp(0, np.mean([r for _, r in kept], axis=0))
