"""A categorical latent: REINFORCE and the Gumbel-softmax gradient against temperature."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analytic import variational as va
from study import seeds
from study.gradients.common import GradientConfig

MIXTURE = {"means": (-2.0, 0.0, 2.0), "weights": (0.2, 0.5, 0.3), "sd": 1.0, "n": 5, "component": 2}


def mixture_scores(seed: int) -> np.ndarray:
    """``f_k = log p(x, z = k)`` for the known-component mixture ``MIXTURE`` and one simulated data set.

    The latent z (one per data set) picks the component; its posterior ``softmax(f)`` is
    enumerable. The data come from component ``MIXTURE["component"]``.
    """
    rng = seeds.rng(seed, "mixture")
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

        rng = seeds.rng(config.seed, "gumbel", point, "reinforce")
        z = rng.choice(k, size=GUMBEL_DRAWS, p=va.softmax(logits))
        add("reinforce", np.nan, va.reinforce_categorical(logits, f, z))
        for t in config.temperatures:
            rng = seeds.rng(config.seed, "gumbel", point, "relaxed", float(t))
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
