"""The gradients subcommand's tables, reading, files and plots."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from report.document import Block, Table, render, table  # noqa: E402
from report.files import jsonable, write_all  # noqa: E402
from report.html import write_page  # noqa: E402
from report.pages import settings_rows, simple_page  # noqa: E402
from report.plots import save_figure  # noqa: E402
from study.gradients import MIN_DOF, MIXTURE, sign_changes  # noqa: E402

# the variance plots show q with its sd halved: at the optimum, and wherever only the mean
# is off, sticking the landing has no variance in m at all, which a log scale cannot show
GROWTH_POINT = "sd/2"


@dataclass(frozen=True)
class GradientsReport:
    """Everything the gradients subcommand prints and writes."""

    gradients: pd.DataFrame
    beta: pd.DataFrame
    gumbel: pd.DataFrame
    alpha: float
    blocks: list[Block]
    reading: str

    @property
    def text(self) -> str:
        """The report as printed on the terminal."""
        return render(self.blocks)

    @property
    def disagreements(self) -> pd.DataFrame:
        """Gradient and beta-ELBO rows whose check failed."""
        g = self.gradients[~self.gradients["agree"]].assign(kind="gradient")
        b = self.beta[~self.beta["agree"]].assign(kind="beta_elbo")
        return pd.concat([g, b], ignore_index=True)

    def failure_lines(self) -> list[str]:
        """One line per failed check, as listed on the terminal and at the top of the HTML report."""
        return [
            f"{r.kind} {r.model} N={r.n}: {getattr(r, 'estimator', '')} {r.param}"
            for r in self.disagreements.itertuples()
        ]


def _fmt_var(v: float) -> str:
    return "-" if not np.isfinite(v) else f"{v:.3g}"


def _detail_table(df: pd.DataFrame, model: str, caption: str) -> Table:
    first = df[
        (df["model"] == model)
        & (df["samples"] == df["samples"].min())
        & (df["q_family"] == "mean_field")
        & df["point"].isin(["optimum", "mean+3sd", "sd/2"])
        & df["param"].isin(["m[0]", "log_sd[0]"])
    ]
    rows = [
        [
            r.n, r.point, r.param, r.estimator, f"{r.exact_grad:.4g}", f"{r.mean_grad:.4g}",
            "-" if np.isnan(r.z_bias) else f"{r.z_bias:+.2f}", _fmt_var(r.var), _fmt_var(r.var_exact),
            f"{r.snr:.3g}", f"{1e6 * r.seconds_per_grad:.1f}",
            ("yes" if r.agree else "NO") if r.judged else "shown",
        ]
        for r in first.itertuples()
    ]  # fmt: skip
    headers = [
        "N",
        "q at",
        "param",
        "estimator",
        "exact",
        "mean",
        "z",
        "var",
        "var exact",
        "SNR",
        "us",
        "agree",
    ]
    return table(headers, rows, caption=caption)


def growth_exponent(
    df: pd.DataFrame, model: str, estimator: str, param: str, point: str = "optimum"
) -> float:
    """Log-log slope of the exact single-sample variance against N (3 for the score function in m)."""
    g = df[
        (df["model"] == model)
        & (df["estimator"] == estimator)
        & (df["param"] == param)
        & (df["point"] == point)
        & (df["q_family"] == "mean_field")
        & (df["samples"] == df["samples"].min())
    ].sort_values("n")
    var = g["var_exact"] * g["samples"]
    if len(g) < 2 or not np.all(var > 0):
        return float("nan")
    return float(np.polyfit(np.log(g["n"]), np.log(var), 1)[0])


def _gradients_reading(df: pd.DataFrame, beta: pd.DataFrame, gumbel: pd.DataFrame) -> str:
    lines = []
    model = df["model"].iloc[0]
    slope = growth_exponent(df, model, "score", "m[0]")
    if np.isfinite(slope):
        lines.append(
            f"- The score function without a baseline: its variance in m grows like N^{slope:.2f} "
            f"({model}, q at the optimum): log Z grows like N and 1/sd^2 like N."
        )
    top = df[
        (df["model"] == model)
        & (df["point"] == "optimum")
        & (df["samples"] == df["samples"].min())
        & (df["param"] == "m[0]")
        & (df["q_family"] == "mean_field")
    ]
    if len(top):
        big = top[top["n"] == top["n"].max()].set_index("estimator")
        lines.append(
            f"- At the exact posterior (N = {int(big['n'].iloc[0])}), one sample's variance in m: score "
            f"{big.loc['score', 'var']:.3g}, PyMC's pathwise {big.loc['pathwise', 'var']:.3g}, sticking "
            f"the landing {big.loc['stl', 'var']:.2g} (exactly 0: its two noise terms cancel when q is "
            "the posterior); the optimal constant baseline also removes all of the score's variance there."
        )
    off = df[(df["point"] == "sd/2") & (df["model"] == model) & (df["param"] == "m[0]")]
    off = off[off["samples"] == off["samples"].min()].set_index(["n", "estimator"])
    if len(off):
        n = off.index.get_level_values(0).max()
        lines.append(
            f"- Away from it the order can flip: with the sd halved (N = {n}) the variance in m is "
            f"{off.loc[(n, 'stl'), 'var_exact']:.3g} for STL against "
            f"{off.loc[(n, 'pathwise'), 'var_exact']:.3g} "
            "for the pathwise gradient."
        )
    full = df[(df["q_family"] == "full_rank") & (df["point"] == "optimum") & (df["estimator"] == "stl")]
    mf = df[(df["q_family"] == "mean_field") & (df["point"] == "optimum") & (df["estimator"] == "stl")]
    mf = mf[mf["model"] != model]
    if len(full) and len(mf):
        lines.append(
            f"- For correlated posteriors STL is exactly zero only in the full-rank family (largest variance "
            f"{full['var'].max():.2g}); mean-field q cannot be the posterior and keeps a variance (up to "
            f"{mf['var'].max():.3g})."
        )
    if len(beta):
        worst = beta.loc[beta["mean_error_sd"].abs().idxmax()]
        lines.append(
            "- The beta-weighted ELBO (PyMC's KLqp, beta = w) finds prior x likelihood^(1/w): largest mean "
            f"error {worst['mean_error_sd']:+.3f} tempered sd ({worst['model']} N={int(worst['n'])} "
            f"w={worst['weight']:g}); sd ratios within {np.expm1(beta['log_sd_ratio'].abs().max()):.1%}. "
            "w > 1 widens the fit towards the prior, w < 1 narrows it: beta-VAE's beta is this w."
        )
    relaxed = gumbel[gumbel["estimator"] == "gumbel_softmax"]
    if len(relaxed):
        hot = relaxed[relaxed["temperature"] == relaxed["temperature"].max()]
        cold = relaxed[relaxed["temperature"] == relaxed["temperature"].min()]
        lines.append(
            f"- Gumbel-softmax: the largest |bias| is {hot['bias'].abs().max():.3g} at temperature "
            f"{hot['temperature'].iloc[0]:g} and {cold['bias'].abs().max():.3g} at "
            f"{cold['temperature'].iloc[0]:g}, "
            f"where the single-sample variance is {cold['var'].max():.3g} against {hot['var'].max():.3g}: "
            "less bias for more variance."
        )
        flips = sign_changes(gumbel)
        if flips:
            text = "; ".join(
                f"{f['point']} logit {f['logit']} between {f['below']:.3g} and {f['above']:.3g}"
                for f in flips
            )
            lines.append(f"- The relaxed bias changes sign ({text}).")
        else:
            lines.append("- The relaxed bias keeps its sign over the temperatures measured.")
    return "\n".join(lines)


def _beta_table(beta: pd.DataFrame) -> Table:
    rows = [
        [
            r.model, r.n, f"{r.weight:g}", r.param, f"{r.tempered_mean:.4g}", f"{r.tempered_sd:.4g}",
            f"{r.fit_mean:.4g}", f"{r.fit_sd:.4g}", f"{r.mean_error_sd:+.4f}",
            f"{np.exp(r.log_sd_ratio):.4f}",
            "yes" if r.agree else "NO",
        ]
        for r in beta.itertuples()
    ]  # fmt: skip
    headers = ["model", "N", "w", "param", "tempered mean", "tempered sd", "fit mean", "fit sd",
               "mean err (sd)", "sd ratio", "agree"]  # fmt: skip
    return table(headers, rows)


def _gumbel_table(gumbel: pd.DataFrame) -> Table:
    rows = []
    for (point, estimator, t), g in gumbel.groupby(
        ["point", "estimator", "temperature"], dropna=False, sort=False
    ):
        g = g.sort_values("logit")
        rows.append(
            [point, estimator, "-" if np.isnan(t) else f"{t:.3g}"]
            + [f"{b:+.3g} ({z:+.1f})" for b, z in zip(g["bias"], g["z_bias"], strict=True)]
            + [f"{g['var'].max():.3g}"]
        )
    k = gumbel["logit"].nunique()
    headers = ["q", "estimator", "temperature", *[f"bias logit {j} (z)" for j in range(k)], "max var"]
    return table(headers, rows)


def gradients_report(
    gradients: pd.DataFrame, beta: pd.DataFrame, gumbel: pd.DataFrame, alpha: float
) -> GradientsReport:
    """Build the report's blocks from the judged tables."""
    reading = _gradients_reading(gradients, beta, gumbel)
    parts: list[str | Table] = [
        f"{len(gradients)} rows (model x N x q family x point x estimator x samples x parameter), "
        f"{int(gradients['judged'].sum())} judged on their mean (z) and variance (interval; zero where "
        f"it is exactly zero); {int((~gradients['agree']).sum())} disagree. "
        f"{int((~gradients['judged']).sum())} rows of heavy-tailed estimates (chi-square dof < "
        f"{MIN_DOF} at this many repetitions) are shown, not judged. "
        f"False-alarm probability of the run: {alpha:g}, Bonferroni "
        f"(|z| <= {gradients['z_crit'].iloc[0]:.2f}).",
    ]
    for model in gradients["model"].unique():
        g = gradients[gradients["model"] == model]
        agree = (
            f"{model}: {int((g['agree'] & g['judged']).sum())} of {int(g['judged'].sum())} judged rows "
            f"agree, {int((~g['judged']).sum())} shown, not judged"
        )
        if model == gradients["model"].iloc[0]:
            detail = (
                f"mean-field q, {int(g['samples'].min())} sample(s) per estimate, {int(g['reps'].iloc[0])} "
                "estimates (gradients.csv: every row):"
            )
            parts.append(_detail_table(gradients, model, f"{agree}\n{detail}"))
        else:
            parts.append(agree)
    blocks = [
        Block(
            "ELBO gradient estimators against the exact gradient (Gaussian q; one data set per family and N)",
            parts,
        ),  # fmt: skip
        Block(
            "Beta-weighted ELBO: the fit against the tempered posterior prior x likelihood^(1/w)",
            [_beta_table(beta)],
        ),  # fmt: skip
        Block(
            f"Categorical latent (mixture of {len(MIXTURE['means'])} known Normals, "
            f"{MIXTURE['n']} observations): bias of the gradient of E_q[log p(x, z)] in q's logits",
            [_gumbel_table(gumbel)],
        ),
        Block("Reading", [reading]),
    ]
    return GradientsReport(gradients, beta, gumbel, alpha, blocks, reading)


def variance_plots(df: pd.DataFrame, folder: Path) -> list[Path]:
    """Log-log: single-sample variance against N, and the estimate's variance against the samples."""
    paths = []
    for model, g in df.groupby("model", sort=False):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        g1 = g[(g["point"] == GROWTH_POINT) & (g["param"] == "m[0]") & (g["q_family"] == "mean_field")]
        for est, e in g1[g1["samples"] == g1["samples"].min()].groupby("estimator"):
            e = e.sort_values("n")
            axes[0].loglog(e["n"], e["var"] * e["samples"], "o-", label=est)
        axes[0].set(xlabel="N", ylabel="variance of one sample's gradient in m[0]",
                    title=f"{model}: q with its sd halved")  # fmt: skip
        n_max = g1["n"].max()
        for est, e in g1[g1["n"] == n_max].groupby("estimator"):
            e = e.sort_values("samples")
            axes[1].loglog(e["samples"], e["var"], "o-", label=est)
            axes[1].loglog(e["samples"], e["var_exact"], ":", color="grey")
        axes[1].set(xlabel="Monte Carlo samples per estimate", ylabel="variance of the estimate",
                    title=f"N = {n_max} (dotted: exact)")  # fmt: skip
        axes[0].legend()
        paths.append(save_figure(fig, folder / f"{model}_gradient_variance.png", dpi=110))
    return paths


def gumbel_plot(gumbel: pd.DataFrame, folder: Path) -> Path:
    """Plot the relaxed estimator's bias against temperature (log x), per logit, with 2 standard errors."""
    relaxed = gumbel[gumbel["estimator"] == "gumbel_softmax"]
    points = relaxed["point"].unique()
    fig, axes = plt.subplots(1, len(points), figsize=(5.5 * len(points), 4), squeeze=False)
    for ax, point in zip(axes[0], points, strict=True):
        for j, g in relaxed[relaxed["point"] == point].groupby("logit"):
            g = g.sort_values("temperature")
            ax.errorbar(g["temperature"], g["bias"], yerr=2 * g["se_grad"], marker="o", label=f"logit {j}")
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xscale("log")
        ax.set(xlabel="temperature", ylabel="bias of the relaxed gradient", title=f"q {point}")
        ax.legend()
    return save_figure(fig, folder / "gumbel_bias.png", dpi=110)


def write_gradients(
    report: GradientsReport, out: Path, config: dict, command: str = "compare.py gradients"
) -> list[Path]:
    """Write gradients.csv, beta_elbo.csv, gumbel.csv, results.json, the plots and report.html."""

    def fill(stage: Path) -> None:
        report.gradients.to_csv(stage / "gradients.csv", index=False)
        report.beta.to_csv(stage / "beta_elbo.csv", index=False)
        report.gumbel.to_csv(stage / "gumbel.csv", index=False)
        doc = {
            "command": "gradients",
            "config": config,
            "alpha": report.alpha,
            "rows": len(report.gradients),
            "disagreements": int(len(report.disagreements)),
            "score_variance_growth_exponent": {
                m: growth_exponent(report.gradients, m, "score", "m[0]")
                for m in report.gradients["model"].unique()
            },
            "beta_elbo": report.beta.to_dict(orient="records"),
            "gumbel_sign_changes": sign_changes(report.gumbel),
            "reading": report.reading.splitlines(),
        }
        (stage / "results.json").write_text(json.dumps(jsonable(doc), indent=1, allow_nan=False))
        variance_plots(report.gradients, stage)
        gumbel = gumbel_plot(report.gumbel, stage)
        settings = {k: v for k, v in config.items() if k != "settings"} | {"alpha": report.alpha}
        judged = int(report.gradients["judged"].sum())
        page = simple_page(
            "Variational inference against exact answers",
            command,
            report.blocks,
            stage,
            list(config["families"]),
            settings=settings_rows(settings, config["settings"], {"reps": "repeated estimates per row"}),
            figures={"Categorical latent": [gumbel]},
            failures=report.failure_lines(),
            checked=f"All {judged} judged gradient rows and all {len(report.beta)} beta-ELBO fits agree "
            "with the exact answers.",
        )
        write_page(page, stage)

    return write_all(out, fill)
