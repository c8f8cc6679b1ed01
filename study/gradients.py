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

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pymc.pytensorf import compile as pm_compile
from pymc.pytensorf import find_rng_nodes, reseed_rngs
from scipy import stats

from analytic import variational as va
from models.batched import for_sampling
from models.families import FAMILIES, Family
from study.run import simulate_datasets

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


def _rng(seed: int, *key: object) -> np.random.Generator:
    words = [zlib.crc32(str(k).encode()) for k in key]
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=tuple(words)))


def _seed(seed: int, *key: object) -> int:
    return int(_rng(seed, *key).integers(2**31 - 1))


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


def numpy_estimates(
    q: va.GaussianQ,
    post: va.GaussianPosterior,
    samples: int,
    reps: int,
    rng: np.random.Generator,
    baseline: np.ndarray | None,
) -> dict[str, tuple[np.ndarray, float]]:
    """Return ``reps`` estimates of ``samples`` draws per estimator: ``{name: ((reps, P), seconds)}``.

    ``baseline``: the optimal constant (``analytic.variational.optimal_baseline``); None leaves
    the score function with a baseline out (above ``MAX_EXACT_DIM``).
    """
    eps = rng.standard_normal((reps, samples, q.dim))
    out = {}
    for name in ("score", "score_baseline", "stl"):
        if name == "score_baseline" and baseline is None:
            continue
        start = time.perf_counter()
        values = va.per_sample(q, post, eps, baseline=baseline, names=(name,))[name].mean(axis=1)
        out[name] = (values, (time.perf_counter() - start) / reps)
    return out


def variance_dof(var_exact: float, mu4_exact: float, reps: int) -> float:
    """Degrees of freedom ``nu`` of the chi-square that matches the sample variance of ``reps`` estimates.

    ``nu = 2 sigma^4 / var(s^2)``, with the sample variance's exact variance
    ``mu4 / R - sigma^4 (R - 3) / (R (R - 1))`` (Satterthwaite); ``nu = R - 1`` for Normal
    estimates (``mu4 = 3 sigma^4``), about ``2 R / (kurtosis - 1)`` for heavy tails.
    """
    var_of_var = mu4_exact / reps - var_exact**2 * (reps - 3) / (reps * (reps - 1))
    return 2 * var_exact**2 / var_of_var


def variance_interval(var_exact: float, mu4_exact: float, reps: int, prob: float) -> tuple[float, float]:
    """Return the central ``prob`` interval of the sample variance of ``reps`` estimates (chi-square)."""
    nu = variance_dof(var_exact, mu4_exact, reps)
    lo, hi = stats.chi2.ppf([(1 - prob) / 2, (1 + prob) / 2], nu)
    return var_exact * lo / nu, var_exact * hi / nu


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


def _average_moments(var1: np.ndarray, mu4_1: np.ndarray, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Variance and central fourth moment of the mean of ``s`` iid copies."""
    return var1 / s, (mu4_1 + 3 * (s - 1) * var1**2) / s**3


def measure_point(
    problem: GaussianProblem,
    q: va.GaussianQ,
    point: str,
    config: GradientConfig,
    pymc_pathwise: PyMCPathwise,
) -> list[dict]:
    """All rows of one (family, N, q family, point): every estimator, sample count and parameter."""
    post, key = problem.posterior, problem.family.key
    exact = va.elbo_gradient(q, post)
    moments = va.exact_moments(q, post)
    fourth = va.exact_fourth_moments(q, post)
    baseline = va.optimal_baseline(q, post) if q.dim <= va.MAX_EXACT_DIM else None  # once for every S
    names = q.parameter_names()
    marginal_sd = np.sqrt(np.diag(post.cov))
    q_sd = np.sqrt(np.diag(q.chol @ q.chol.T))
    q_family = "full_rank" if q.full_rank else "mean_field"
    rows = []
    for s in config.samples:
        rng = _rng(config.seed, "gradients", key, problem.n, q_family, point, s)
        measured = numpy_estimates(q, post, s, config.reps, rng, baseline)
        measured["pathwise"] = pymc_pathwise.estimates(
            q, s, config.reps, _seed(config.seed, "pathwise", key, problem.n, q_family, point, s)
        )
        for name, (values, seconds) in measured.items():
            mean, var = values.mean(axis=0), values.var(axis=0, ddof=1)
            var_exact1 = moments[name][1]
            for j, param in enumerate(names):
                component = int(param.split("[")[1].split(",")[0].rstrip("]"))
                var_exact, mu4 = _average_moments(
                    var_exact1[j], fourth[name][j] if fourth is not None else np.nan, s
                )
                rows.append(
                    {
                        "model": key,
                        "n": problem.n,
                        "q_family": q_family,
                        "point": point,
                        "param": param,
                        "estimator": name,
                        "samples": s,
                        "reps": config.reps,
                        "q_mean": q.mean[component],
                        "q_sd": q_sd[component],
                        "post_mean_exact": post.mean[component],
                        "post_sd_exact": marginal_sd[component],
                        "exact_grad": exact[j],
                        "mean_grad": mean[j],
                        "se_grad": np.sqrt(var[j] / config.reps),
                        "var": var[j],
                        "var_exact": var_exact,
                        "mu4_exact": mu4,
                        "var_pathwise_exact": moments["pathwise"][1][j] / s,
                        "seconds_per_grad": seconds,
                    }
                )
    return rows


def judge_gradients(rows: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Add z scores, SNR, cost, the variance intervals and the verdicts (Bonferroni over all checks).

    Two checks per judged row (the mean's z score and the variance's interval), ``alpha``
    shared among them; one per row whose exact variance is zero (the measured variance is
    zero up to rounding). A row is judged when its estimates are close enough to Normal for
    both approximations to hold in the far tail the correction puts them in:
    ``variance_dof >= MIN_DOF``. Heavier-tailed rows (the score function at one or a few
    samples, whose single-sample kurtosis runs into the hundreds) are shown, not judged
    (``judged`` False): at R repetitions their sample variance is too skewed for a
    calibrated interval, and with 1000 repetitions one such row in the default run sat at
    ten times its exact variance.
    """
    df = rows.copy()
    zero = df["var_exact"] <= ZERO_VARIANCE_SHARE * df["var_pathwise_exact"]
    df["zero_variance"] = zero
    df["z_bias"] = np.where(zero, np.nan, (df["mean_grad"] - df["exact_grad"]) / df["se_grad"])
    with np.errstate(divide="ignore"):
        df["snr"] = np.where(zero, np.inf, np.abs(df["mean_grad"]) / np.sqrt(df["var"]))
    df["var_x_cost"] = df["var"] * df["seconds_per_grad"]
    df["var_dof"] = [
        variance_dof(v, m4, int(r)) if v > 0 and np.isfinite(m4) else np.nan
        for v, m4, r in zip(df["var_exact"], df["mu4_exact"], df["reps"], strict=True)
    ]
    judged = ~zero & ~(df["var_dof"] < MIN_DOF)
    df["judged"] = judged | zero
    checks = 2 * int(judged.sum())
    level = alpha / max(checks, 1)
    z_crit = stats.norm.isf(level / 2)
    df["z_crit"] = z_crit
    lo, hi = [], []
    for v, m4, r, j in zip(df["var_exact"], df["mu4_exact"], df["reps"], judged, strict=True):
        a, b = variance_interval(v, m4, int(r), 1 - level) if j and np.isfinite(m4) else (np.nan, np.nan)
        lo.append(a)
        hi.append(b)
    df["var_lo"], df["var_hi"] = lo, hi
    bias_ok = ~judged | (np.abs(df["z_bias"]) <= z_crit)
    var_ok = np.where(
        zero,
        df["var"] <= ZERO_VARIANCE_SHARE * df["var_pathwise_exact"],
        df["var_lo"].isna() | ((df["var"] >= df["var_lo"]) & (df["var"] <= df["var_hi"])),
    )
    df["bias_ok"], df["var_ok"] = bias_ok, var_ok
    df["agree"] = bias_ok & var_ok
    return df


def run_gradients(config: GradientConfig, log: Callable[[str], None] = lambda m: None) -> pd.DataFrame:
    """Measure every estimator at every point; a row per (model, n, q family, point, param, estimator, S)."""
    rows = []
    for key in config.families:
        settings = config.settings[key]
        for n in config.ns:
            problem = GaussianProblem.build(key, settings, n, config.seed)
            model = problem.model()
            for full_rank in (False, True) if problem.posterior.dim > 1 else (False,):
                q_family = "full_rank" if full_rank else "mean_field"
                start = time.perf_counter()
                pathwise = PyMCPathwise(model, full_rank=full_rank, seed=_seed(config.seed, key, n, q_family))
                for point in POINTS:
                    q = q_at(problem.posterior, point, full_rank=full_rank)
                    rows += measure_point(problem, q, point, config, pathwise)
                log(f"gradients: {key} N={n} {q_family}: {time.perf_counter() - start:.1f} s")
    return pd.DataFrame(rows)


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

    quiet = logging.getLogger("pymc")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # pm.fit logs "Finished" even without a progress bar
    try:
        inference.fit(
            n=iterations,
            obj_optimizer=pm.adam(learning_rate=rate),
            obj_n_mc=10,
            progressbar=False,
            callbacks=[record],
        )
    finally:
        quiet.setLevel(level)
    return np.mean([m for m, _ in kept], axis=0), np.logaddexp(0, np.mean([r for _, r in kept], axis=0))


BETA_SEEDS = 6


def run_beta_elbo(config: GradientConfig, log: Callable[[str], None] = lambda m: None) -> pd.DataFrame:
    """Fit the beta-weighted ELBO for each family, N and weight; compare with the tempered posterior.

    The target is the mean-field projection of ``prior x likelihood^(1/w)`` (the tempered
    posterior itself for one parameter). Each fit runs ``BETA_SEEDS`` times; one row per
    (model, n, weight, param) with the errors in target sd averaged over the seeds, and their
    standard error from the seeds' spread.
    """
    rows = []
    for key in config.families:
        family, settings = FAMILIES[key], config.settings[key]
        prior_mean, prior_cov = family.gaussian_prior(settings)
        for n in config.ns:
            problem = GaussianProblem.build(key, settings, n, config.seed)
            model = problem.model()
            post = problem.posterior
            for w in config.weights:
                start = time.perf_counter()
                t_mean, t_cov = va.tempered(prior_mean, prior_cov, post.mean, post.cov, w)
                target_mean, target_sd = va.mean_field_projection(t_mean, t_cov)
                fits = [
                    fit_beta_elbo(model, w, _seed(config.seed, "beta", key, n, w, k))
                    for k in range(BETA_SEEDS)
                ]
                mean_err = np.array([(m - target_mean) / target_sd for m, _ in fits])
                log_sd = np.array([np.log(s / target_sd) for _, s in fits])
                for j in range(post.dim):
                    rows.append(
                        {
                            "model": key,
                            "n": n,
                            "weight": w,
                            "param": f"{family.params[0]}[{j}]" if post.dim > 1 else family.params[0],
                            "seeds": BETA_SEEDS,
                            "post_mean_exact": post.mean[j],
                            "post_sd_exact": np.sqrt(post.cov[j, j]),
                            "tempered_mean": target_mean[j],
                            "tempered_sd": target_sd[j],
                            "fit_mean": np.mean([m[j] for m, _ in fits]),
                            "fit_sd": np.mean([s[j] for _, s in fits]),
                            "mean_error_sd": mean_err[:, j].mean(),
                            "mean_error_se": mean_err[:, j].std(ddof=1) / np.sqrt(BETA_SEEDS),
                            "log_sd_ratio": log_sd[:, j].mean(),
                            "log_sd_ratio_se": log_sd[:, j].std(ddof=1) / np.sqrt(BETA_SEEDS),
                            "seconds": (time.perf_counter() - start) / BETA_SEEDS,
                        }
                    )
                log(f"beta-ELBO: {key} N={n} w={w}: {time.perf_counter() - start:.1f} s")
    return pd.DataFrame(rows)


def judge_beta(df: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Add t tests over the seeds (``seeds - 1`` df) of the mean error and the log sd ratio, Bonferroni."""
    df = df.copy()
    checks = 2 * len(df)
    crit = stats.t.isf(alpha / max(checks, 1) / 2, BETA_SEEDS - 1)
    df["t_mean"] = df["mean_error_sd"] / df["mean_error_se"]
    df["t_sd"] = df["log_sd_ratio"] / df["log_sd_ratio_se"]
    df["t_crit"] = crit
    df["agree"] = (np.abs(df["t_mean"]) <= crit) & (np.abs(df["t_sd"]) <= crit)
    return df


MIXTURE = {"means": (-2.0, 0.0, 2.0), "weights": (0.2, 0.5, 0.3), "sd": 1.0, "n": 5, "component": 2}


def mixture_scores(seed: int) -> np.ndarray:
    """``f_k = log p(x, z = k)`` for the known-component mixture ``MIXTURE`` and one simulated data set.

    The latent z (one per data set) picks the component; its posterior ``softmax(f)`` is
    enumerable. The data come from component ``MIXTURE["component"]``.
    """
    rng = _rng(seed, "mixture")
    means, sd = np.array(MIXTURE["means"]), MIXTURE["sd"]
    x = rng.normal(means[MIXTURE["component"]], sd, size=MIXTURE["n"])
    return np.log(MIXTURE["weights"]) + stats.norm.logpdf(x[:, None], means, sd).sum(axis=0)


GUMBEL_DRAWS = 200_000


GUMBEL_POINTS = {"uniform": (0.0, 0.0, 0.0), "tilted": (0.0, 2.0, 1.0)}


def run_gumbel(config: GradientConfig) -> pd.DataFrame:
    """REINFORCE and the Gumbel-softmax estimator of ``d E_q[f(z)] / d logits`` at ``GUMBEL_POINTS``.

    One row per (point, estimator, temperature, logit) with the mean over ``GUMBEL_DRAWS``
    single-sample estimates, its standard error, the exact gradient, the bias and its z
    score, and the single-sample variance.
    """
    f = mixture_scores(config.seed)
    k = len(f)
    rows = []
    for point, values in GUMBEL_POINTS.items():
        logits = np.array(values)
        exact = va.categorical_gradient(logits, f)

        def add(estimator, temperature, grads, logits=logits, exact=exact, point=point):
            mean, var = grads.mean(axis=0), grads.var(axis=0, ddof=1)
            se = np.sqrt(var / len(grads))
            for j in range(k):
                rows.append(
                    {
                        "point": point,
                        "q": float(va.softmax(logits)[j]),
                        "estimator": estimator,
                        "temperature": temperature,
                        "logit": j,
                        "f": f[j],
                        "exact_grad": exact[j],
                        "mean_grad": mean[j],
                        "se_grad": se[j],
                        "bias": mean[j] - exact[j],
                        "z_bias": (mean[j] - exact[j]) / se[j],
                        "var": var[j],
                        "draws": len(grads),
                    }
                )

        rng = _rng(config.seed, "gumbel", point, "reinforce")
        z = rng.choice(k, size=GUMBEL_DRAWS, p=va.softmax(logits))
        add("reinforce", np.nan, va.reinforce_categorical(logits, f, z))
        for t in config.temperatures:
            rng = _rng(config.seed, "gumbel", point, "relaxed", float(t))
            g = rng.gumbel(size=(GUMBEL_DRAWS, k))
            add("gumbel_softmax", float(t), va.relaxed_categorical(logits, f, g, float(t)))
    return pd.DataFrame(rows)


def sign_changes(gumbel: pd.DataFrame, z_crit: float = 3.0) -> list[dict]:
    """Temperatures between which a logit's relaxed bias changes sign, each side at ``|z| > z_crit``."""
    out = []
    relaxed = gumbel[gumbel["estimator"] == "gumbel_softmax"].sort_values("temperature")
    for (point, j), g in relaxed.groupby(["point", "logit"]):
        significant = g[np.abs(g["z_bias"]) > z_crit]
        signs = np.sign(significant["bias"].to_numpy())
        temps = significant["temperature"].to_numpy()
        for i in np.flatnonzero(signs[1:] != signs[:-1]):
            out.append(
                {"point": point, "logit": int(j), "below": float(temps[i]), "above": float(temps[i + 1])}
            )
    return out
