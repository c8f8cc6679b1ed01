"""Hamiltonian machinery shared by the zoo's HMC samplers, ported from Stan 2.13.

Stan's diagonal-metric Hamiltonian (``diag_e_metric.hpp``), its leapfrog
(``expl_leapfrog.hpp``), its step-size search (``base_hmc::init_stepsize``) and its
warm-up (``stepsize_adaptation.hpp``: dual averaging; ``windowed_adaptation.hpp`` and
``var_adaptation.hpp``: the metric from doubling windows of draws, regularised), with
Stan's defaults (target acceptance 0.8, buffers 75 / 50, first window 25). A bug module
supplies the transition (``Transition``); ``run_adaptive`` runs it with this warm-up,
as Stan's ``run_adaptive_sampler`` does, and returns the post-warm-up draws.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from zoo.target import Target


@dataclass
class Point:
    """A phase-space point: position ``q``, momentum ``p``, potential ``V = -log p(q)`` and its gradient."""

    q: np.ndarray
    p: np.ndarray
    V: float
    g: np.ndarray  # dV/dq

    def copy(self) -> Point:
        """Return an independent copy."""
        return Point(self.q.copy(), self.p.copy(), self.V, self.g.copy())


@dataclass
class Hamiltonian:
    """``H(q, p) = V(q) + p' M^-1 p / 2`` with a diagonal inverse metric ``inv_metric``."""

    target: Target
    inv_metric: np.ndarray

    def point(self, q: np.ndarray) -> Point:
        """Return the point at position ``q`` (momentum zero), its potential and gradient evaluated."""
        logp, grad = self.target.logp_dlogp(q)
        return Point(q.copy(), np.zeros_like(q), -logp if np.isfinite(logp) else np.inf, -grad)

    def update(self, z: Point) -> None:
        """Re-evaluate the potential and its gradient at ``z.q``."""
        logp, grad = self.target.logp_dlogp(z.q)
        z.V, z.g = (-logp if np.isfinite(logp) else np.inf), -grad

    def H(self, z: Point) -> float:
        """Return the Hamiltonian at ``z`` (``inf`` for NaN, as Stan does)."""
        h = z.V + 0.5 * float(z.p @ (self.inv_metric * z.p))
        return h if not math.isnan(h) else math.inf

    def dtau_dp(self, z: Point) -> np.ndarray:
        """Return the velocity ``M^-1 p`` (Stan's ``p_sharp``)."""
        return self.inv_metric * z.p

    def sample_p(self, z: Point, rng: np.random.Generator) -> None:
        """Draw a fresh momentum ``p ~ Normal(0, M)``."""
        z.p = rng.standard_normal(z.q.size) / np.sqrt(self.inv_metric)

    def leapfrog(self, z: Point, epsilon: float) -> None:
        """Stan's ``expl_leapfrog``: half kick, drift, half kick."""
        z.p = z.p - 0.5 * epsilon * z.g
        z.q = z.q + epsilon * self.inv_metric * z.p
        self.update(z)
        z.p = z.p - 0.5 * epsilon * z.g


@dataclass
class DualAveraging:
    """Stan's step-size adaptation (Nesterov dual averaging towards acceptance ``delta``)."""

    mu: float = 0.5
    delta: float = 0.8
    gamma: float = 0.05
    kappa: float = 0.75
    t0: float = 10.0
    counter: int = 0
    s_bar: float = 0.0
    x_bar: float = 0.0

    def restart(self) -> None:
        """Forget the averages (after a metric update)."""
        self.counter, self.s_bar, self.x_bar = 0, 0.0, 0.0

    def learn(self, adapt_stat: float) -> float:
        """Return the next step size after a transition whose acceptance statistic was ``adapt_stat``."""
        self.counter += 1
        adapt_stat = min(adapt_stat, 1.0)
        eta = 1.0 / (self.counter + self.t0)
        self.s_bar = (1.0 - eta) * self.s_bar + eta * (self.delta - adapt_stat)
        x = self.mu - self.s_bar * math.sqrt(self.counter) / self.gamma
        x_eta = self.counter ** (-self.kappa)
        self.x_bar = (1.0 - x_eta) * self.x_bar + x_eta * x
        return math.exp(x)

    def final(self) -> float:
        """Return the step size the averaging settled on (used after warm-up)."""
        return math.exp(self.x_bar)


@dataclass
class Windows:
    """Stan's windowed variance adaptation: which warm-up iterations feed the metric, and when it updates."""

    num_warmup: int
    init_buffer: int = 75
    term_buffer: int = 50
    base_window: int = 25
    counter: int = 0
    samples: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.num_warmup < 20:
            self.init_buffer = self.term_buffer = self.base_window = 0
            self.num_warmup = 0
        elif self.init_buffer + self.base_window + self.term_buffer > self.num_warmup:
            self.init_buffer = int(0.15 * self.num_warmup)
            self.term_buffer = int(0.10 * self.num_warmup)
            self.base_window = self.num_warmup - (self.init_buffer + self.term_buffer)
        self.window_size = self.base_window
        self.next_window = self.init_buffer + self.window_size - 1

    def _in_window(self) -> bool:
        return self.init_buffer <= self.counter < self.num_warmup - self.term_buffer

    def _end_window(self) -> bool:
        return self.counter == self.next_window and self.counter != self.num_warmup

    def _compute_next_window(self) -> None:
        last = self.num_warmup - self.term_buffer - 1
        if self.next_window == last:
            return
        self.window_size *= 2
        self.next_window = self.counter + self.window_size
        if self.next_window == last:
            return
        if self.next_window + 2 * self.window_size >= self.num_warmup - self.term_buffer:
            self.next_window = last

    def learn(self, q: np.ndarray) -> np.ndarray | None:
        """Add ``q`` when in a window; at a window's end return the regularised variance (else None)."""
        if self.num_warmup == 0:
            return None
        if self._in_window():
            self.samples.append(q.copy())
        if self._end_window():
            self._compute_next_window()
            n = len(self.samples)
            var = np.var(np.array(self.samples), axis=0, ddof=1)
            var = (n / (n + 5.0)) * var + 1e-3 * (5.0 / (n + 5.0))
            self.samples = []
            self.counter += 1
            return var
        self.counter += 1
        return None


def init_stepsize(ham: Hamiltonian, z: Point, epsilon: float, rng: np.random.Generator) -> float:
    """Stan's heuristic: double or halve the step until one leapfrog's acceptance crosses 0.8."""
    if epsilon == 0 or epsilon > 1e7:
        return epsilon
    start = z.copy()

    def delta_h() -> float:
        trial = start.copy()
        ham.sample_p(trial, rng)
        h0 = ham.H(trial)
        ham.leapfrog(trial, epsilon)
        return h0 - ham.H(trial)

    direction = 1 if delta_h() > math.log(0.8) else -1
    while True:
        dh = delta_h()
        if direction == 1 and not dh > math.log(0.8):
            break
        if direction == -1 and not dh < math.log(0.8):
            break
        epsilon = epsilon * 2 if direction == 1 else epsilon / 2
        if epsilon > 1e7 or epsilon == 0:
            raise RuntimeError(f"step size search ran away ({epsilon}): is the posterior proper?")
    return epsilon


# A transition: (hamiltonian, current point, step size, rng) -> (new point, acceptance statistic, stats)
Transition = Callable[[Hamiltonian, Point, float, np.random.Generator], tuple[Point, float, dict[str, float]]]


def run_adaptive(
    target: Target,
    rng: np.random.Generator,
    draws: int,
    tune: int,
    transition: Transition,
    hamiltonian: type[Hamiltonian] = Hamiltonian,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Run one chain as Stan does: ``tune`` transitions adapting step and metric, then ``draws`` kept."""
    ham = hamiltonian(target, np.ones(target.dim))
    z = ham.point(target.start(rng))
    averaging = DualAveraging(mu=math.log(10 * 1.0))  # Stan's services: mu from the initial step size, 1
    epsilon = init_stepsize(ham, z, 1.0, rng)
    windows = Windows(tune)
    for _ in range(tune):
        z, accept, _ = transition(ham, z, epsilon, rng)
        epsilon = averaging.learn(accept)
        var = windows.learn(z.q)
        if var is not None:
            ham.inv_metric = var
            epsilon = init_stepsize(ham, z, epsilon, rng)
            averaging.mu = math.log(10 * epsilon)
            averaging.restart()
    if tune:
        epsilon = averaging.final()
    out = np.empty((draws, target.dim))
    stats: dict[str, list[float]] = {}
    for i in range(draws):
        z, _, info = transition(ham, z, epsilon, rng)
        out[i] = z.q
        for key, value in info.items():
            stats.setdefault(key, []).append(value)
    return out, {key: np.asarray(v) for key, v in stats.items()}
