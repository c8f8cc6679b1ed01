r"""One data set's exact posterior as PyMC's optimisers see it: a density on the unconstrained space.

PyMC's ADVI and pymc-extras' Laplace work on the model's value variables ``z``: each
constrained parameter mapped to the whole real line by its default transform. This module
gives the exact posterior's log density there, with its gradient and Hessian in closed
form, for every family's posterior:

===================  ==============================  ==========================================
family               z (PyMC's value variables)      log density with the Jacobian, + const
===================  ==============================  ==========================================
Gaussian families    the parameter itself            ``log Normal(z | mu, Sigma)``
Beta(a, b)           ``logit p``                     ``a log p + b log(1 - p)``
Gamma(a, rate b)     ``log lambda``                  ``a z - b exp(z)``
NIG(m, k, a, b)      ``(log sigma2, mu)``            ``-(a + 1/2) w - (b + k (mu - m)^2 / 2) e^-w``
Dirichlet(alpha)     ``log theta_j - mean(log       ``sum_j alpha_j log theta_j``
                     theta)``, j < K (``simplex``)
===================  ==============================  ==========================================

"With the Jacobian" is the density of ``z`` (what ADVI's ELBO integrates); "without" is
the constrained density written in ``z`` (``model.logp(jacobian=False)``, what pymc-extras'
Laplace maximises and differentiates): each shape above one less (Beta, Gamma), ``a + 3/2``
for NIG, ``alpha_j - 1`` for the Dirichlet. The simplex transform's log-Jacobian is
``log K + sum_j log theta_j`` (PyMC's ``SimplexTransform.log_jac_det``, simplified).

Points ``z`` have shape ``(m, d)``; every method is vectorised over the ``m`` points.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import override

import numpy as np
from scipy import special


class UnconstrainedPosterior(ABC):
    """An exact posterior density on PyMC's unconstrained space, up to an additive constant."""

    name: str
    dim: int

    @property
    def names(self) -> tuple[str, ...]:
        """The constrained parameters, in PyMC's order of value variables (one, ``name``, unless said)."""
        return (self.name,)

    @abstractmethod
    def log_density(self, z: np.ndarray, *, jacobian: bool = True) -> np.ndarray:
        """Log density at each row of ``z`` (shape ``(m, d)``), up to a constant."""

    @abstractmethod
    def grad(self, z: np.ndarray, *, jacobian: bool = True) -> np.ndarray:
        """Gradient at each row: shape ``(m, d)``."""

    @abstractmethod
    def hessian(self, z: np.ndarray, *, jacobian: bool = True) -> np.ndarray:
        """Hessian at each row: shape ``(m, d, d)``."""

    @abstractmethod
    def mode(self, *, jacobian: bool = True) -> np.ndarray:
        """Return the density's mode, shape ``(d,)``."""

    @abstractmethod
    def constrained(self, z: np.ndarray) -> dict[str, np.ndarray]:
        """Map each row back to the constrained parameters: name -> ``(m,)`` or ``(m, size)``."""


@dataclass(frozen=True)
class GaussianZ(UnconstrainedPosterior):
    """A Normal posterior on an unconstrained parameter (no transform, no Jacobian)."""

    mean: np.ndarray
    cov: np.ndarray
    name: str

    @property
    @override
    def dim(self) -> int:
        return len(self.mean)

    @property
    def precision(self) -> np.ndarray:
        """The precision matrix, ``cov^-1``."""
        return np.linalg.inv(self.cov)

    @override
    def log_density(self, z, *, jacobian=True):
        d = np.atleast_2d(z) - self.mean
        return -0.5 * np.einsum("mi,ij,mj->m", d, self.precision, d)

    @override
    def grad(self, z, *, jacobian=True):
        return -(np.atleast_2d(z) - self.mean) @ self.precision

    @override
    def hessian(self, z, *, jacobian=True):
        return np.broadcast_to(-self.precision, (len(np.atleast_2d(z)), self.dim, self.dim))

    @override
    def mode(self, *, jacobian=True):
        return np.asarray(self.mean, dtype=float)

    @override
    def constrained(self, z):
        z = np.atleast_2d(z)
        return {self.name: z[:, 0] if self.dim == 1 else z}


@dataclass(frozen=True)
class _TwoShapes(UnconstrainedPosterior):
    """A one-parameter posterior with two shape numbers ``a``, ``b``, named ``name``."""

    a: float
    b: float
    name: str
    dim = 1


@dataclass(frozen=True)
class LogitBeta(_TwoShapes):
    """``p ~ Beta(a, b)`` seen through ``z = logit p`` (PyMC's ``logodds`` transform)."""

    name: str = "p"

    def _shapes(self, jacobian: bool) -> tuple[float, float]:
        return (self.a, self.b) if jacobian else (self.a - 1, self.b - 1)

    @override
    def log_density(self, z, *, jacobian=True):
        c1, c2 = self._shapes(jacobian)
        z = np.atleast_2d(z)[:, 0]
        return c1 * special.log_expit(z) + c2 * special.log_expit(-z)

    @override
    def grad(self, z, *, jacobian=True):
        c1, c2 = self._shapes(jacobian)
        return c1 - (c1 + c2) * special.expit(np.atleast_2d(z))

    @override
    def hessian(self, z, *, jacobian=True):
        c1, c2 = self._shapes(jacobian)
        p = special.expit(np.atleast_2d(z))
        return (-(c1 + c2) * p * (1 - p))[:, :, None]

    @override
    def mode(self, *, jacobian=True):
        c1, c2 = self._shapes(jacobian)
        return np.array([np.log(c1 / c2)])

    @override
    def constrained(self, z):
        return {self.name: special.expit(np.atleast_2d(z)[:, 0])}


@dataclass(frozen=True)
class LogGamma(_TwoShapes):
    """``lambda ~ Gamma(a, rate b)`` seen through ``z = log lambda`` (PyMC's ``log`` transform)."""

    name: str = "lam"

    def _shape(self, jacobian: bool) -> float:
        return self.a if jacobian else self.a - 1

    @override
    def log_density(self, z, *, jacobian=True):
        z = np.atleast_2d(z)[:, 0]
        return self._shape(jacobian) * z - self.b * np.exp(z)

    @override
    def grad(self, z, *, jacobian=True):
        return self._shape(jacobian) - self.b * np.exp(np.atleast_2d(z))

    @override
    def hessian(self, z, *, jacobian=True):
        return (-self.b * np.exp(np.atleast_2d(z)))[:, :, None]

    @override
    def mode(self, *, jacobian=True):
        return np.array([np.log(self._shape(jacobian) / self.b)])

    @override
    def constrained(self, z):
        return {self.name: np.exp(np.atleast_2d(z)[:, 0])}


@dataclass(frozen=True)
class LogNormalInverseGamma(UnconstrainedPosterior):
    """``sigma2 ~ InvGamma(a, b)``, ``mu | sigma2 ~ Normal(m, sigma2 / k)``; ``z = (log sigma2, mu)``.

    The order is PyMC's: ``sigma2`` is created first in the family's model.
    """

    m: float
    k: float
    a: float
    b: float
    names = ("sigma2", "mu")
    dim = 2

    def _power(self, jacobian: bool) -> float:
        return self.a + 0.5 if jacobian else self.a + 1.5

    def _parts(self, z):
        z = np.atleast_2d(z)
        w, dev = z[:, 0], z[:, 1] - self.m
        return w, dev, np.exp(-w), self.b + self.k * dev**2 / 2

    @override
    def log_density(self, z, *, jacobian=True):
        w, _, e, scale = self._parts(z)
        return -self._power(jacobian) * w - scale * e

    @override
    def grad(self, z, *, jacobian=True):
        _, dev, e, scale = self._parts(z)
        return np.stack([-self._power(jacobian) + scale * e, -self.k * dev * e], axis=-1)

    @override
    def hessian(self, z, *, jacobian=True):
        _, dev, e, scale = self._parts(z)
        cross = self.k * dev * e
        return np.stack([np.stack([-scale * e, cross], -1), np.stack([cross, -self.k * e], -1)], -2)

    @override
    def mode(self, *, jacobian=True):
        return np.array([np.log(self.b / self._power(jacobian)), self.m])

    @override
    def constrained(self, z):
        z = np.atleast_2d(z)
        return {"sigma2": np.exp(z[:, 0]), "mu": z[:, 1]}


@dataclass(frozen=True)
class SimplexDirichlet(UnconstrainedPosterior):
    """``theta ~ Dirichlet(alpha)`` through PyMC's ``simplex``: ``z = log theta[:-1] - mean(log theta)``.

    Back: ``y = (z, -sum z)``, ``theta = softmax(y)``. With ``c`` the exponents (``alpha``
    with the Jacobian, ``alpha - 1`` without) and ``C = sum c``, the log density is
    ``sum c_j log theta_j``, its gradient in ``y`` is ``c - C theta`` and its Hessian
    ``-C (diag theta - theta theta')``; ``dy/dz = M = [I; -1']``.
    """

    alpha: tuple[float, ...]
    name: str = "theta"

    @property
    @override
    def dim(self) -> int:
        return len(self.alpha) - 1

    def _c(self, jacobian: bool) -> np.ndarray:
        c = np.asarray(self.alpha, dtype=float)
        return c if jacobian else c - 1

    @property
    def _m(self) -> np.ndarray:
        return np.vstack([np.eye(self.dim), -np.ones(self.dim)])

    def _theta(self, z) -> np.ndarray:
        z = np.atleast_2d(z)
        return special.softmax(np.concatenate([z, -z.sum(axis=1, keepdims=True)], axis=1), axis=1)

    @override
    def log_density(self, z, *, jacobian=True):
        z = np.atleast_2d(z)
        y = np.concatenate([z, -z.sum(axis=1, keepdims=True)], axis=1)
        log_theta = y - special.logsumexp(y, axis=1, keepdims=True)
        return log_theta @ self._c(jacobian)

    @override
    def grad(self, z, *, jacobian=True):
        c = self._c(jacobian)
        return (c - c.sum() * self._theta(z)) @ self._m

    @override
    def hessian(self, z, *, jacobian=True):
        c, theta = self._c(jacobian), self._theta(z)
        outer = theta[:, :, None] * theta[:, None, :]
        h_y = -c.sum() * (np.einsum("mi,ij->mij", theta, np.eye(len(c))) - outer)
        return np.einsum("ia,mij,jb->mab", self._m, h_y, self._m)

    @override
    def mode(self, *, jacobian=True):
        log_theta = np.log(self._c(jacobian))
        return log_theta[:-1] - log_theta.mean()

    @override
    def constrained(self, z):
        return {self.name: self._theta(z)}
