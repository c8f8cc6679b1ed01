"""The study through the command line: a smoke run, outputs that reopen, several engines and families."""

import json
import re

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import compare
from cli.common import DEFAULT_ENGINE
from models.families import FAMILIES
from study.run import StudyConfig, simulate_datasets, tabulate
from tests import budget
from tests.html_checks import check_report, has_sections
from tests.runs import TINY, run

COLUMNS = [
    "model", "sampler", "n", "rep", "param", "true_value", "mle", "map_exact", "post_mean_exact",
    "post_sd_exact", "post_mean", "post_mode", "mcse_mean", "ess_bulk", "r_hat", "divergences", "z_mean",
    "prior_weight", "agree",
]  # fmt: skip


DEFAULT = DEFAULT_ENGINE["study"]  # the engine a study runs without --sampler


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke") / "results"
    code = compare.main([*TINY, "--out", str(out)])
    return code, out


@pytest.mark.statistical(1)
def test_smoke_run_exits_zero_and_writes_every_output(smoke):
    code, out = smoke
    assert code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            "summary.csv",
            "pooled.csv",
            "results.json",
            f"posterior_normal_normal_{DEFAULT}.nc",
            f"trace_normal_normal_{DEFAULT}_n3.png",
            f"trace_normal_normal_{DEFAULT}_n30.png",
            "densities_normal_normal.png",
            "washout_normal_normal.png",
            "mse_normal_normal.png",
            "report.html",
        ]
    )  # one engine: no plots across engines (engines_*, cost_accuracy_*; test_several_engines_...)


def test_summary_csv_has_one_row_per_n_rep_param(smoke):
    _, out = smoke
    rows = pd.read_csv(out / "summary.csv")
    assert set(COLUMNS) <= set(rows.columns)
    assert len(rows) == 2 * 2
    assert sorted(zip(rows["n"], rows["rep"], strict=True)) == [(3, 0), (3, 1), (30, 0), (30, 1)]
    # the tests standardise by the errors the draws would have under the exact posterior
    np.testing.assert_allclose(rows["se_mean"], rows["post_sd_exact"] / np.sqrt(rows["ess_mean"]))
    np.testing.assert_allclose(
        rows["z_mean"], (rows["post_mean"] - rows["post_mean_exact"]) / rows["se_mean"]
    )
    se_sd = rows["post_sd_exact"] * np.sqrt((rows["kurtosis_exact"] + 2) / rows["ess_sd"]) / 2
    np.testing.assert_allclose(rows["z_sd"], (rows["post_sd"] - rows["post_sd_exact"]) / se_sd)


def test_results_json_holds_rows_aggregates_and_settings(smoke):
    _, out = smoke
    doc = json.loads((out / "results.json").read_text())
    assert doc["config"]["ns"] == [3, 30] and doc["config"]["reps"] == 2
    assert len(doc["rows"]) == 4
    family = doc["families"]["normal_normal"]
    assert family["settings"] == {"true_mean": 2.0, "noise_var": 5.0, "prior_mean": 1.0, "prior_var": 2.0}
    assert [a["n"] for a in family["per_n"]] == [3, 30]
    assert list(family["washout"]) == ["mu"] and family["washout"]["mu"]["slope"] < -0.5
    assert "Prior's pull" in family["interpretation"]
    tests = family["samplers"][DEFAULT]["tests"]
    assert tests["row_tests"] == ["mean", "sd", "mode", "ks", "rhat"] and tests["alpha"] == budget.ALPHA
    assert len(doc["pooled"]) == 2 * 3  # (param, N) x (mean, sd, pit)


def test_posterior_netcdf_reopens_with_arviz(smoke):
    _, out = smoke
    tree = az.from_netcdf(out / f"posterior_normal_normal_{DEFAULT}.nc")
    assert isinstance(tree, xr.DataTree)
    assert dict(tree["posterior"]["mu"].sizes) == {"chain": 2, "draw": 500, "n": 2, "rep": 2}


@pytest.mark.statistical(1)
def test_terminal_output_has_tables_and_reading(capsys, tmp_path):
    code = compare.main([*TINY, "--n", "4", "--out", str(tmp_path)])
    text = capsys.readouterr().out
    assert code == 0
    for heading in (
        "Engines against the exact posterior",
        "The prior's pull",
        "MLE vs MAP",
        "Coverage",
        "Reading",
    ):
        assert heading in text


@pytest.mark.statistical(1)
def test_disagreement_exits_one_and_lists_rows(failing_run):
    """A sampler whose draws are shifted by half a posterior sd is caught and listed."""
    code, _, text = failing_run
    assert code == 1
    assert "comparison(s) FAILED" in text and "mean off by" in text
    assert "normal_normal shifted N=" in text and "normal_normal exact N=" not in text


def test_a_study_hands_over_its_draws_before_the_comparison(monkeypatch):
    """``on_draws`` (the early plots, report.files.EarlyPlots) gets the draws before they are compared."""
    from study import run as study_run

    order, handed = [], []
    real = study_run.tabulate
    monkeypatch.setattr(study_run, "tabulate", lambda *args: order.append("compared") or real(*args))
    config = StudyConfig(sampler="exact", ns=(10,), reps=2)
    hand_over = lambda sampled: order.append("draws") or handed.append(sampled)  # noqa: E731
    result = study_run.run_study(config, log=lambda _: None, on_draws=hand_over)
    assert order == ["draws", "compared"]
    (sampled,) = handed
    assert (sampled.config, sampled.idata, sampled.datasets, sampled.engine) == (
        result.config, result.idata, result.datasets, result.engine)  # fmt: skip


def test_each_family_is_judged_and_its_plots_handed_out_before_the_next_family_runs(tmp_path, monkeypatch):
    """A family's own plots (washout, MSE) go to the plot workers as soon as its studies are judged."""
    from report import files
    from study import run as study_run

    order = []
    real_study, real_family = study_run.run_study, files.EarlyPlots.family

    def run_study(config, **kwargs):
        order.append(("runs", config.family))
        return real_study(config, **kwargs)

    def family(self, report):
        order.append(("plots", report.family))
        return real_family(self, report)

    monkeypatch.setattr(study_run, "run_study", run_study)
    monkeypatch.setattr(files.EarlyPlots, "family", family)
    families = ["normal_normal", "binomial_beta"]
    code, _ = run([*TINY, "--sampler", "exact", "--model", ",".join(families), "--workers", "0"], tmp_path)
    assert code in (0, 1)  # agreement is not what this test reads
    assert order == [(step, family) for family in families for step in ("runs", "plots")]
    assert {f"washout_{family}.png" for family in families} <= {p.name for p in tmp_path.iterdir()}


@pytest.mark.statistical(2)
def test_exact_iid_draws_agree_and_shifted_draws_do_not():
    """The verdict machinery itself: iid exact draws pass, draws off by 0.2 sd (12.6 se per row) fail."""
    family = FAMILIES["normal_normal"]
    config = StudyConfig(
        ns=(10, 1000), reps=5, draws=1000, chains=4, seed=budget.seed(2026), alpha=budget.ALPHA
    )
    data = simulate_datasets(family, config.settings, config.ns, config.reps, config.seed)
    rng = np.random.default_rng(budget.seed(0))
    exact = {n: family.exact(data[n], config.settings)["mu"] for n in config.ns}
    for shift, expect in ((0.0, True), (0.2, False)):
        mu = np.stack(
            [
                rng.normal(
                    exact[n]["post_mean_exact"] + shift * exact[n]["post_sd_exact"],
                    exact[n]["post_sd_exact"],
                    size=(4, 1000, config.reps),
                )
                for n in config.ns
            ],
            axis=2,
        )
        idata = xr.DataTree.from_dict(
            {
                "posterior": xr.Dataset(
                    {"mu": (("chain", "draw", "n", "rep"), mu)}, coords={"n": list(config.ns)}
                )
            }
        )
        from models.engines import SAMPLERS

        rows, _, _ = tabulate(family, SAMPLERS["nuts"], config, data, idata)
        assert rows["agree"].all() if expect else not rows["agree"].any()


@pytest.mark.statistical(1)
def test_several_engines_share_data_and_outputs(tmp_path, capsys):
    """nuts, advi and find_map side by side: one summary, one NetCDF each, the engines table."""
    out = tmp_path / "o"
    code = compare.main([*TINY, "--sampler", "find_map,nuts,advi", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    rows = pd.read_csv(out / "summary.csv")
    assert list(dict.fromkeys(rows["sampler"])) == ["nuts", "advi", "find_map"]  # draws first
    by = rows.set_index(["sampler", "n", "rep"]).sort_index()
    assert (by.loc["nuts", "post_mean_exact"] == by.loc["find_map", "post_mean_exact"]).all()
    for name in ("nuts", "advi", "find_map"):
        assert (out / f"posterior_normal_normal_{name}.nc").exists()
        assert re.search(rf"^ *{name}  +(exact|approx|point) ", text, re.MULTILINE), name
    assert (out / "engines_normal_normal.png").exists() and (out / "cost_accuracy_normal_normal.png").exists()
    assert rows.loc[rows["sampler"] == "find_map", "post_mean"].isna().all()


@pytest.mark.statistical(1)
def test_every_available_engine_runs_through_the_command_line(tmp_path, capsys):
    """--sampler all on a tiny study: every engine's rows, draws and verdict; only a library default is off.

    ``laplace_defaults`` and ``advi_defaults`` are pymc-extras' Laplace and PyMC's ADVI as users
    meet them, known to be wrong (tests/test_targets.py); at this tiny size they may or may not
    be caught, and the exit status says which.
    """
    from models.engines import SAMPLERS

    out = tmp_path / "o"
    code = compare.main([*TINY, "--n", "20", "--sampler", "all", "--out", str(out)])
    text = capsys.readouterr().out
    available = [n for n, s in SAMPLERS.items() if s.available]
    rows, pooled = pd.read_csv(out / "summary.csv"), pd.read_csv(out / "pooled.csv")
    wrong = set(rows.loc[~rows["agree"], "sampler"]) | set(pooled.loc[~pooled["agree"], "sampler"])
    assert wrong <= {name for name in available if name.endswith("_defaults")}, text
    assert code == (1 if wrong else 0), text
    assert sorted(set(rows["sampler"])) == sorted(available)
    for name in available:
        tree = az.from_netcdf(out / f"posterior_normal_normal_{name}.nc")
        assert "mu" in tree["posterior"].data_vars


@pytest.mark.statistical(1)
def test_several_families_in_one_run(tmp_path, capsys):
    """--model with a list and --set: each family's tables, rows and files; settings applied."""
    out = tmp_path / "o"
    args = [*TINY, "--model", "binomial_beta,exponential_gamma", "--set", "true_p=0.1", "--set", "prior_b=3"]
    code = compare.main([*args, "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    rows = pd.read_csv(out / "summary.csv")
    assert list(dict.fromkeys(rows["model"])) == ["binomial_beta", "exponential_gamma"]
    assert set(rows.loc[rows["model"] == "binomial_beta", "true_value"]) == {0.1}
    doc = json.loads((out / "results.json").read_text())
    assert doc["families"]["binomial_beta"]["settings"] == {"true_p": 0.1, "prior_a": 2.0, "prior_b": 3.0}
    assert doc["families"]["exponential_gamma"]["settings"]["prior_b"] == 3.0
    for key in ("binomial_beta", "exponential_gamma"):
        assert f"({key}; per-row tests" in text
        assert (out / f"posterior_{key}_{DEFAULT}.nc").exists() and (out / f"washout_{key}.png").exists()


@pytest.mark.statistical(1)
def test_families_with_several_components_get_every_table_plot_and_file(tmp_path, capsys):
    """Two parameters (normal_inverse_gamma) and a vector (categorical_dirichlet): a row each."""
    out = tmp_path / "o"
    # Default chains and draws: with 2 x 500 the R-hat floor (1.01) is too tight to hold in every row.
    args = [
        "--n",
        "3",
        "30",
        "--reps",
        "2",
        "--seed",
        str(budget.seed(5)),
        "--alpha",
        str(budget.ALPHA),
        "--model",
        "normal_inverse_gamma,categorical_dirichlet",
        "--sampler",
        f"{DEFAULT},exact",  # two engines: the plots across engines too
    ]
    code = compare.main([*args, "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    doc = json.loads((out / "results.json").read_text())
    labels = {
        "normal_inverse_gamma": ["mu", "sigma2"],
        "categorical_dirichlet": ["theta[0]", "theta[1]", "theta[2]"],
    }
    rows = pd.read_csv(out / "summary.csv")
    for key, params in labels.items():
        assert list(dict.fromkeys(rows.loc[rows["model"] == key, "param"])) == params
        assert list(doc["families"][key]["washout"]) == params
        assert sorted({a["param"] for a in doc["families"][key]["per_n"]}) == sorted(params)
        for param in params:
            assert f"Prior's pull on {param}" in text and f"Coverage of {param}" in text
        for kind in ("densities", "washout", "mse", "engines", "cost_accuracy"):
            assert (out / f"{kind}_{key}.png").exists()
    assert "sigma2 -" in text  # the slope line names each component
    # sigma2's inverse-gamma posterior at N = 3 (shape 4.5) is heavy-tailed: its sd is tested on
    # the normal scores; the Dirichlet's Beta marginals keep the draws (checks.score_heavy_tails)
    ours = rows[rows["sampler"] == DEFAULT]
    assert ours.loc[(ours["param"] == "sigma2") & (ours["n"] == 3), "moments_on"].str.contains("sd").all()
    assert (ours.loc[ours["model"] == "categorical_dirichlet", "moments_on"] == "draws").all()


@pytest.mark.statistical(1)
def test_flat_prior_has_no_pull_to_fit(tmp_path, capsys):
    """Beta(1, 1): the MAP is the MLE at every N, so there is no washout slope, and no crash."""
    args = [*TINY, "--model", "binomial_beta", "--set", "prior_a=1", "--set", "prior_b=1"]
    code = compare.main([*args, "--out", str(tmp_path / "o")])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "p none (MAP = MLE)" in text and "the prior does not pull here" in text
    doc = json.loads((tmp_path / "o" / "results.json").read_text())
    assert doc["families"]["binomial_beta"]["washout"]["p"]["slope"] is None


@pytest.mark.statistical(2)
def test_boundary_mles_are_counted_in_the_reading(tmp_path, capsys):
    """With p = 0.05 and N = 3 most data sets have no successes; the reading counts them.

    Two statistical assertions: the run agrees, and at least one of 6 data sets at N = 3 has no
    success (each has none with probability 0.86, so all six miss with probability 9e-6).
    """
    # default chains and draws: the R-hat floor of 1.01 is too tight for TINY's 2 x 500 draws
    args = ["--n", "3", "30", "--reps", "6", "--seed", str(budget.seed(5)), "--alpha", str(budget.ALPHA)]
    args += ["--model", "binomial_beta"]
    args += ["--set", "true_p=0.05"]
    code = compare.main([*args, "--out", str(tmp_path / "o")])
    text = capsys.readouterr().out
    assert code == 0, text
    family = FAMILIES["binomial_beta"]
    data = simulate_datasets(family, family.settings(true_p=0.05), [3, 30], reps=6, seed=budget.seed(5))
    zeros = {n: int((x.sum(axis=-1) == 0).sum()) for n, x in data.items()}
    assert zeros[3] > 0  # the check below is not vacuous
    assert f"p, N = 3: {zeros[3]} of 6 data sets (no successes: MLE 0, on the boundary)" in text
    if zeros[30]:
        assert f"p, N = 30: {zeros[30]} of 6 data sets" in text
    else:
        assert "p, N = 30:" not in text.split("MLE on a boundary")[1]
    # Beta(2, 2) pulls toward 1/2, far from 0.05: the MAP's exact MSE is the larger even at N = 1
    assert "the MAP has the lower MSE at no N" in text


def test_a_short_configuration_is_warned_about_in_results_and_reading(smoke):
    """The smoke run (2 reps of 2 x 500 draws) is too short for its pass to rule out small errors.

    That warning comes from the configuration alone. The R-hat limit's warning may join it: the
    limit is derived from the draws' own ESS, which differ from machine to machine.
    """
    _, out = smoke
    family = json.loads((out / "results.json").read_text())["families"]["normal_normal"]
    warnings = family["samplers"][DEFAULT]["warnings"]
    assert warnings[0].startswith("too short for its verdicts to mean much")
    assert all(w.startswith("R-hat limit up to") for w in warnings[1:]) and len(warnings) <= 2, warnings
    for warning in warnings:
        assert f"Warning: {warning}." in family["interpretation"]


def test_pooled_csv_has_one_row_per_param_n_and_test(smoke):
    _, out = smoke
    pooled = pd.read_csv(out / "pooled.csv")
    assert list(pooled.columns[:8]) == [
        "model",
        "sampler",
        "n",
        "param",
        "test",
        "statistic",
        "pvalue",
        "agree",
    ]
    assert sorted(zip(pooled["n"], pooled["test"], strict=True)) == sorted(
        (n, t) for n in (3, 30) for t in ("mean", "sd", "pit")
    )
    assert pooled["agree"].all()


@pytest.mark.statistical(1)
def test_power_subcommand_on_a_tiny_catalogue(tmp_path):
    """The power machinery end to end: null and two defects, power.csv, the plot, the reading, the report."""
    out = tmp_path / "p"
    args = ["power", "--n", "5", "50", "--reps", "3", "--draws", "400", "--tune", "300", "--chains", "2",
            "--seeds", "4", "--defects", "mean_shift,prior_var_as_sd",
            "--seed", str(budget.seed(2026))]  # fmt: skip
    code, text = run(args, out)
    assert code == 0, text
    page = check_report(out, text)
    assert has_sections(page, "power-of-the-verdict-normal-normal", "reading-normal-normal")
    table = pd.read_csv(out / "power.csv")
    assert set(table["defect"]) == {"no_defect", "mean_shift", "prior_var_as_sd"}
    assert len(table[table["defect"] == "mean_shift"]) == 5 and (table["runs"] > 0).all()
    assert (table["ci_low"] <= table["power"]).all() and (table["power"] <= table["ci_high"]).all()
    # the prior's variance used as its sd (4 instead of 2) moves every posterior at N = 5
    assert table.loc[table["defect"] == "prior_var_as_sd", "power"].iloc[0] == 1.0
    assert (out / "power_normal_normal.png").exists() and (out / "power_runs.csv").exists()
    assert "False alarms of the correct engines" in text and "Smallest size caught" in text


@pytest.mark.slow
@pytest.mark.statistical(1)
def test_same_seed_same_numbers_with_cold_and_warm_compile_caches(tmp_path):
    """Fresh processes on two cold PyTensor caches and one on a warm cache draw identical numbers.

    NUTS and nutpie both run code PyTensor compiles with Numba (the cache the fast-math flag
    keys); `--sampler all` was checked the same way by hand (every engine identical).
    """
    import os
    import subprocess
    import sys

    args = [sys.executable, "compare.py", "--n", "10", "100", "--reps", "3", "--draws", "300",
            "--tune", "300", "--chains", "2", "--seed", str(budget.seed(3)), "--alpha", str(budget.ALPHA),
            "--sampler", "nuts,nutpie,exact"]  # fmt: skip

    folder = {name: tmp_path / name.replace(" ", "_") for name in ("cold", "warm", "other cold")}

    def start(name: str, cache: str) -> subprocess.Popen:
        env = os.environ | {"PYTENSOR_FLAGS": f"base_compiledir={tmp_path / cache}"}
        return subprocess.Popen([*args, "--out", str(folder[name])], env=env, stdout=subprocess.DEVNULL)

    # the two cold runs side by side, then the warm one on the first's cache
    for batch in ([("cold", "a"), ("other cold", "b")], [("warm", "a")]):
        for proc in [start(name, cache) for name, cache in batch]:
            assert proc.wait() == 0
    runs = {name: pd.read_csv(out / "summary.csv") for name, out in folder.items()}
    sampled = ["post_mean", "post_sd", "post_mode", "mcse_mean", "ess_bulk", "r_hat", "z_mean", "ks_pvalue"]
    for name in ("warm", "other cold"):
        pd.testing.assert_frame_equal(runs["cold"][sampled], runs[name][sampled], check_exact=True)


@pytest.mark.statistical(1)
def test_gradients_command_writes_its_tables_and_agrees(gradients_run):
    code, out, text = gradients_run
    assert code == 0, text
    assert "Reading" in text and "sticking the landing" in text
    names = {p.name for p in out.iterdir()}
    assert {"gradients.csv", "beta_elbo.csv", "gumbel.csv", "results.json", "gumbel_bias.png"} <= names
    doc = json.loads((out / "results.json").read_text())
    assert doc["command"] == "gradients" and doc["disagreements"] == 0
    assert set(pd.read_csv(out / "beta_elbo.csv")["weight"]) == {2.0}  # --weights 2
    rows = pd.read_csv(out / "gradients.csv")
    expected = {"model", "n", "point", "param", "estimator", "samples", "q_mean", "q_sd", "post_mean_exact",
                "post_sd_exact", "exact_grad", "mean_grad", "se_grad", "z_bias", "var", "var_exact", "snr",
                "seconds_per_grad"}  # fmt: skip
    assert expected <= set(rows.columns)
