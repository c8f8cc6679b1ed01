"""The SBC subcommand's tables, reading, files and plots."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import xarray as xr  # noqa: E402

from report.document import Block, render, table  # noqa: E402
from report.files import jsonable, write_all  # noqa: E402
from report.html import write_page  # noqa: E402
from report.pages import settings_rows, simple_page  # noqa: E402
from study.checks import ESS_PER_CHAIN  # noqa: E402
from study.sbc import SbcResult  # noqa: E402
from study.sbc_verdict import TEST_COLUMNS, SbcVerdict  # noqa: E402


@dataclass
class SbcReport:
    """A whole SBC run: every family x engine's results, all tests judged, and the report's blocks."""

    results: list[SbcResult]
    tests: pd.DataFrame
    variance: pd.DataFrame
    contraction: pd.DataFrame
    alpha: float
    failures: dict[str, str]
    blocks: list[Block]

    @property
    def text(self) -> str:
        """The report as printed on the terminal."""
        return render(self.blocks)

    @property
    def disagreements(self) -> pd.DataFrame:
        """Judged tests that fail."""
        return self.tests[self.tests["agree"].eq(False)]

    def failure_lines(self) -> list[str]:
        """One line per engine that failed and per failed judged test, as on the terminal."""
        lines = [f"{name}: engine failed: {why}" for name, why in self.failures.items()]
        return lines + [
            f"{r.model} {r.sampler} N={r.n} {r.quantity}: {r.test} p = {r.pvalue:.2g} < {r.alpha:.2g}"
            for r in self.disagreements.itertuples()
        ]


def sbc_report(verdict: SbcVerdict, failures: dict[str, str] | None = None) -> SbcReport:
    """Build the terminal text of a judged SBC run (``study.sbc_verdict.judge``)."""
    failures = failures or {}
    results, tests, variance, shrink, alpha = (
        verdict.results, verdict.tests, verdict.variance, verdict.contraction, verdict.alpha
    )  # fmt: skip
    blocks = []
    for model in dict.fromkeys(r.config.family for r in results):
        mine = [r for r in results if r.config.family == model]
        blocks += _family_blocks(model, mine, tests, variance, shrink, verdict)
    if failures:
        blocks.append(
            Block(
                "Engines that failed", [f"{name}: FAILED in its run: {why}" for name, why in failures.items()]
            )
        )
    return SbcReport(results, tests, variance, shrink, alpha, failures, blocks)


def _family_blocks(model, results, tests, variance, shrink, verdict: SbcVerdict) -> list[Block]:
    first = results[0].config
    alpha, judged, each = verdict.alpha, verdict.judged, verdict.each
    lines = []
    for res in results:
        name = res.engine.name
        t = tests[(tests["model"] == model) & (tests["sampler"] == name)]
        for (n, quantity), g in t.groupby(["n", "quantity"], sort=False):
            by = g.set_index("test")
            rows = res.rows[(res.rows["n"] == n) & (res.rows["param"] == quantity)]
            rank_tests = by.loc[["uniformity", "normal_mean", "normal_var"]]
            verdict = ("agree" if rank_tests["agree"].all() else "DISAGREE") if res.judged else "not judged"
            lines.append([
                name, n, quantity, len(rows), f"{rows['n_ranks'].median():.0f}",
                f"{by.loc['uniformity', 'pvalue']:.2g}", f"{by.loc['normal_mean', 'statistic']:+.2f}",
                f"{by.loc['normal_var', 'statistic']:.3f}", f"{by.loc['coverage_50', 'statistic']:.3f}",
                f"{by.loc['coverage_90', 'statistic']:.3f}", f"{rows['ess_bulk'].min():.0f}",
                res.divergences.get(n, 0), verdict,
            ])  # fmt: skip
    headers = ["engine", "N", "quantity", "sims", "ranks", "unif. p", "mean z", "var(z)", "cov 50%",
               "cov 90%", "min ESS", "div", "verdict"]  # fmt: skip
    blocks = [
        Block(
            f"SBC: ranks of the truth over the prior ({model}; {first.sims} simulations per N; "
            f"each judged test at false-alarm probability {each:.2g}: alpha {alpha:g} over {judged} tests)",
            [table(headers, lines)],
        )
    ]
    closed = tests[(tests["model"] == model) & (tests["sampler"] == "closed_forms")]
    vlines = []
    for r in variance[
        (variance["model"] == model) & (variance["sampler"] == results[0].engine.name)
    ].itertuples():
        check = closed[(closed["n"] == r.n) & (closed["quantity"] == r.param)].set_index("test")
        pit_p = check.loc["pit_exact_uniformity", "pvalue"]
        tv_ok = check.loc["total_variance", "agree"]
        vlines.append([
            r.n, r.param, f"{r.prior_var:.4g}", f"{r.mean_post_var_exact:.4g}",
            f"{r.var_post_mean_exact:.4g}",
            f"{r.z_exact:+.2f}" if r.fourth_moment_finite else "n/a (prior 4th moment infinite)",
            f"{pit_p:.2g}", "agree" if (tv_ok is not False and check.loc["pit_exact_uniformity", "agree"])
            else "DISAGREE",
        ])  # fmt: skip
    closed_headers = [
        "N",
        "param",
        "prior var",
        "E[post var]",
        "var(post mean)",
        "z",
        "PIT unif. p",
        "verdict",
    ]
    blocks.append(
        Block(
            f"The closed forms over the prior ({model}): exact PIT uniformity and the law of total variance, "
            "E[var(theta|y)] + var(E[theta|y]) = var(theta)",
            [table(closed_headers, vlines)],
        )
    )
    s = shrink[shrink["model"] == model]
    slines = [
        [r.sampler, r.n, r.param, f"{r.sd_ratio:.4f}", f"{r.sd_ratio_exact:.4f}"] for r in s.itertuples()
    ]
    blocks += [
        Block(
            f"Posterior contraction ({model}): mean posterior sd / prior sd",
            [table(["engine", "N", "param", "sampled", "exact"], slines)],
        ),
        Block(f"Reading ({model})", [_sbc_reading(model, results, tests)]),
    ]
    return blocks


def _sbc_reading(model: str, results: list[SbcResult], tests: pd.DataFrame) -> str:
    out = []
    for res in results:
        t = tests[(tests["model"] == model) & (tests["sampler"] == res.engine.name)]
        ranks = t[t["test"].isin(["uniformity", "normal_mean", "normal_var"])]
        floor = ESS_PER_CHAIN * res.config.chains
        low = res.rows[res.rows["ess_bulk"] < floor]
        if len(low):
            smallest = low["ess_bulk"].min()
            out.append(f"{res.engine.name}: warning: {len(low)} of {len(res.rows)} rows have a bulk ESS "
                       f"below {floor} ({ESS_PER_CHAIN} per chain; smallest {smallest:.0f}): their ranks "
                       "come from draws thinned hard; raise --draws")  # fmt: skip
        divergent = sum(res.divergences.values())
        if divergent:
            out.append(f"{res.engine.name}: warning: {divergent} divergent transitions over the run (per N: "
                       f"{res.divergences}); a divergence in one data set of a block stops the whole block's "
                       "trajectory")  # fmt: skip
        if res.judged:
            bad = ranks[ranks["agree"].eq(False)]
            if bad.empty:
                out.append(f"{res.engine.name}: the truth's rank is uniform for every N and quantity: "
                           "calibrated over the whole prior.")  # fmt: skip
            else:
                where = ", ".join(
                    sorted({f"{q} at N={n}" for q, n in zip(bad["quantity"], bad["n"], strict=True)})
                )
                out.append(f"{res.engine.name}: MISCALIBRATED: ranks not uniform for {where}.")
        else:
            cov = t[t["test"] == "coverage_90"]["statistic"]
            out.append(f"{res.engine.name} is an approximation, not judged: its central 90% intervals "
                       f"cover the truth in {cov.min():.1%}-{cov.max():.1%} of simulations "
                       "(calibrated: 90%).")  # fmt: skip
    closed = tests[(tests["model"] == model) & (tests["sampler"] == "closed_forms")]
    if closed["agree"].eq(False).any():
        out.append(
            "The closed forms or the simulator are WRONG: the exact PIT or the law of total variance fails."
        )
    else:
        out.append("The closed forms and the simulator agree: the exact PIT is uniform and the law of total "
                   "variance holds.")  # fmt: skip
    return "\n".join(out)


def ecdf_plot(res: SbcResult, folder: Path) -> Path:
    """ArviZ's PIT-ECDF difference plot (``plot_ecdf_pit``) of every quantity at every N."""
    from arviz_plots import plot_ecdf_pit

    rows = res.rows
    ns = sorted(rows["n"].unique())
    data = {}
    for param, g in rows.groupby("param", sort=False):
        table = g.pivot(index="sim", columns="n", values="pit")[ns].to_numpy()
        data[param] = (("chain", "draw", "n"), table[None])
    tree = xr.DataTree.from_dict({"prior_sbc": xr.Dataset(data, coords={"n": ns})})
    pc = plot_ecdf_pit(tree, backend="matplotlib", col_wrap=len(ns), figure_kwargs={"figsize": (3.6 * len(ns),
                       3.2 * len(data))})  # fmt: skip
    path = folder / f"sbc_ecdf_{res.config.family}_{res.engine.name}.png"
    pc.savefig(path, dpi=80)
    plt.close("all")
    return path


def rank_histograms(res: SbcResult, folder: Path, bins: int = 20) -> Path:
    """Histograms of the normalised ranks, with the binomial 99% band of a uniform histogram."""
    from scipy import stats

    rows = res.rows
    ns = sorted(rows["n"].unique())
    params = list(dict.fromkeys(rows["param"]))
    fig, axes = plt.subplots(len(params), len(ns), figsize=(3.2 * len(ns), 2.2 * len(params)), squeeze=False)
    for i, param in enumerate(params):
        for j, n in enumerate(ns):
            u = rows[(rows["param"] == param) & (rows["n"] == n)]["pit"].to_numpy()
            ax = axes[i, j]
            lo, hi = stats.binom.interval(0.99, len(u), 1 / bins)
            ax.axhspan(lo, hi, color="grey", alpha=0.25, lw=0)
            ax.hist(u, bins=bins, range=(0, 1), color="C0")
            ax.set_title(f"{param}, N={n}", fontsize=8)
            ax.tick_params(labelsize=7)
    fig.suptitle(f"{res.config.family}, {res.engine.name}: rank histograms (grey: 99% band per bin)",
                 fontsize=9)  # fmt: skip
    fig.tight_layout()
    path = folder / f"sbc_ranks_{res.config.family}_{res.engine.name}.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def contraction_plot(shrink: pd.DataFrame, model: str, folder: Path) -> Path:
    """Posterior sd / prior sd against N, per parameter: every engine's points over the exact curve."""
    s = shrink[shrink["model"] == model]
    params = list(dict.fromkeys(s["param"]))
    fig, axes = plt.subplots(1, len(params), figsize=(max(5.0, 3.4 * len(params)), 3.2), squeeze=False)
    for ax, param in zip(axes[0], params, strict=True):
        g = s[s["param"] == param]
        exact = g.drop_duplicates("n")
        ax.plot(exact["n"], exact["sd_ratio_exact"], "k-", lw=1.2, label="exact")
        for k, (name, e) in enumerate(g.groupby("sampler", sort=False)):
            ax.plot(e["n"], e["sd_ratio"], "o", ms=4, color=f"C{k}", label=name)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(param, fontsize=9)
        ax.set_xlabel("N")
    axes[0, 0].set_ylabel("mean posterior sd / prior sd")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"{model}: posterior contraction over the prior", fontsize=10)
    fig.tight_layout()
    path = folder / f"sbc_contraction_{model}.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


SBC_COLUMNS = ["model", "sampler", "n", "sim", "param", "kind", "true_value", "rank", "n_ranks", "pit",
               "pit_exact", "post_mean", "post_sd", "post_mean_exact", "post_sd_exact", "thin", "ess_bulk",
               "r_hat", "block"]  # fmt: skip


def sbc_document(report: SbcReport) -> dict:
    """Return the SBC run as plain JSON: configuration, engines' costs, every test, the reading."""
    first = report.results[0].config if report.results else None
    config = dataclasses.asdict(first) if first else {}
    for key in ("sampler", "family", "settings"):
        config.pop(key, None)
    return jsonable({
        "config": config,
        "alpha": report.alpha,
        "correction": "Bonferroni over the judged tests (rank tests of exact engines; exact PIT and total "
                      "variance per family and N)",
        "judged_tests": int(report.tests["judged"].sum()) if len(report.tests) else 0,
        "families": {
            key: {"settings": dataclasses.asdict(r.config.settings)}
            for key, r in {r.config.family: r for r in report.results}.items()
        },
        "engines": {
            f"{r.config.family}/{r.engine.name}": {
                "judged": r.judged, "origin": r.engine.origin, "divergences": r.divergences,
                "fit_seconds": r.seconds,
            }
            for r in report.results
        },
        "engine_failures": report.failures,
        "tests": report.tests.astype(object).where(report.tests.notna(), None).to_dict(orient="records"),
        "total_variance": report.variance.to_dict(orient="records"),
        "contraction": report.contraction.to_dict(orient="records"),
        "reading": report.text,
    })  # fmt: skip


def write_sbc(report: SbcReport, out: Path, command: str = "compare.py sbc") -> list[Path]:
    """Write the SBC CSVs (rows, tests, variance, contraction), results.json, plots and report.html."""

    def fill(stage: Path) -> None:
        rows = pd.concat([r.rows for r in report.results], ignore_index=True) if report.results else None
        (rows if rows is not None else pd.DataFrame(columns=SBC_COLUMNS))[SBC_COLUMNS].to_csv(
            stage / "sbc.csv", index=False
        )
        report.tests[TEST_COLUMNS].to_csv(stage / "sbc_tests.csv", index=False)
        report.variance.to_csv(stage / "sbc_variance.csv", index=False)
        report.contraction.to_csv(stage / "sbc_contraction.csv", index=False)
        doc = sbc_document(report)
        (stage / "results.json").write_text(json.dumps(doc, indent=1, allow_nan=False))
        for res in report.results:
            ecdf_plot(res, stage)
            rank_histograms(res, stage)
        families = list(dict.fromkeys(r.config.family for r in report.results))
        for model in families:
            contraction_plot(report.contraction, model, stage)
        judged = doc["judged_tests"]
        page = simple_page(
            "Simulation-based calibration against the exact posterior",
            command,
            report.blocks,
            stage,
            families,
            settings=settings_rows(
                doc["config"],
                {k: v["settings"] for k, v in doc["families"].items()},
                {"ns": "N (sample sizes)", "sims": "simulations per N", "block": "simulations per batch"},
            ),
            failures=report.failure_lines(),
            checked=f"All {judged} judged tests agree: the truth's rank is uniform for every judged engine, "
            "and the closed forms pass over the prior.",
        )
        write_page(page, stage)

    return write_all(out, fill)
