"""Simulation-based calibration: the exact engine passes for every family, a defect wrong in part of the
prior passes the fixed-truth study and fails SBC, the test quantities and the closed-form checks can
fail, results do not depend on where the units ran, bad input gets one line and exit 2.

False-failure budget: every SBC run below is judged at the test budget's alpha over all its tests
(Bonferroni, ``study.sbc_verdict.judge_ranks``; tests/budget.py), so each "agrees" assertion has a false-alarm
probability of at most that alpha, and each "caught" assertion was sized to miss less often.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import compare
from models.engines import SAMPLERS, Sampler
from models.families import FAMILIES
from study import sbc, sbc_verdict
from study.power import DEFECTS
from study.run import StudyConfig, run_study
from study.units import Executor, UnitFailure
from tests import budget

ALPHA = budget.ALPHA
SMALL = dict(ns=(5, 40), sims=100, draws=250, tune=250, chains=4, block=50, seed=budget.seed(2026))


def quiet(msg: str) -> None:
    pass


def judged(results: list[sbc.SbcResult]) -> pd.DataFrame:
    return sbc_verdict.judge_ranks(sbc_verdict.tests_table(results), ALPHA)


def failing(tests: pd.DataFrame) -> pd.DataFrame:
    return tests[tests["agree"].eq(False)]


@pytest.mark.statistical(1)
@pytest.mark.parametrize("key", list(FAMILIES))
def test_the_exact_engine_passes_sbc_for_every_family(key):
    result = sbc.run_sbc(sbc.SbcConfig(family=key, sampler="exact", **SMALL), log=quiet)
    tests = judged([result])
    assert failing(tests).empty, failing(tests)
    quantities = set(result.rows["param"])
    assert "loglik" in quantities
    assert ("mahalanobis" in quantities) == (len(FAMILIES[key].labels(result.config.settings)) > 1)
    # every simulation has a row per quantity, with ranks from at least MIN_KEPT thinned draws
    assert len(result.rows) == len(SMALL["ns"]) * SMALL["sims"] * len(quantities)
    assert (result.rows["n_ranks"] >= 101).all()
    assert ((result.rows["rank"] >= 0) & (result.rows["rank"] < result.rows["n_ranks"])).all()
    # the closed forms: the exact PIT uniform and the law of total variance, judged once per (N, param)
    closed = tests[tests["sampler"] == "closed_forms"]
    assert set(closed["test"]) == {"pit_exact_uniformity", "total_variance"}
    params = result.rows.loc[result.rows["kind"] == "param", "param"].nunique()
    assert len(closed) == 2 * params * len(SMALL["ns"])


@pytest.mark.parametrize(
    ("key", "prior"),
    [
        ("binomial_beta", {"prior_a": 0.5, "prior_b": 0.5}),
        ("poisson_gamma", {"prior_a": 0.5, "prior_b": 0.5}),
    ],
)
@pytest.mark.statistical(2)
def test_jeffreys_priors_pass_sbc_with_the_exact_engine_and_nuts(key, prior):
    """Shapes below 1 put many truths near the boundary; NUTS in the unconstrained space must cope.

    Two statistical assertions: the engines agree, and at least 2 of the 100 truths lie below 0.05
    (each does with probability 0.14 under Beta(1/2, 1/2) and 0.18 under Gamma(1/2, 1/2), so
    fewer than 2 has probability at most 3e-6).
    """
    settings = FAMILIES[key].settings(**prior)
    config = sbc.SbcConfig(family=key, settings=settings, **(SMALL | {"ns": (5,), "draws": 500}))
    results, failures = sbc.run_all(
        [(config, SAMPLERS["exact"]), (replace(config, sampler="nuts"), SAMPLERS["nuts"])], log=quiet
    )
    assert not failures
    tests = judged(results)
    assert failing(tests).empty, failing(tests)
    # the prior really reaches the boundary: many simulated data sets have a boundary MAP
    theta = results[0].rows.query("kind == 'param'")["true_value"]
    assert (theta < 0.05).sum() >= 2


@pytest.mark.statistical(2)
def test_a_defect_in_part_of_the_prior_passes_the_fixed_truth_study_and_fails_sbc():
    """narrow_low: exact draws narrowed by half where the posterior mean is below the prior's quartile.

    The fixed-truth study runs at N = 100 and 1000, where a posterior mean below the prior's lower
    quartile (0.05) would need a sample mean 8.9 of its sds below the truth: the engine is right in
    every row. (At N = 10 one data set in about 1,000 lands there, so 20 replications would catch
    the defect in 2% of seeds.) SBC runs 1,600 simulations: at 400 the normal-score variance test's
    z was about 7 against a limit of 5 at the test budget's alpha, a miss in 2% of seeds; at 1,600
    it is about 14.
    """
    defect = DEFECTS["narrow_low"]
    engine = Sampler("narrow_low(0.5)", defect.description, True, "distribution", None, (),
                     defect.engine(0.5), needs_problem=True)  # fmt: skip
    fixed = StudyConfig(sampler=engine.name, ns=(100, 1000), seed=budget.seed(2026), alpha=ALPHA)
    study = run_study(fixed, engine=engine, log=quiet)
    assert study.agrees  # the default truth (mu = 2) lies where the engine is right
    config = sbc.SbcConfig(sampler=engine.name, **(SMALL | {"ns": (10,), "sims": 1600, "block": 400}))
    tests = judged([sbc.run_sbc(config, engine=engine, log=quiet)])
    bad = failing(tests)
    assert not bad.empty
    assert set(bad["quantity"]) <= {"mu", "loglik"} and (bad["sampler"] == engine.name).all()
    assert "normal_var" in set(bad["test"])  # too narrow: the truth's normal scores spread too wide


@pytest.mark.statistical(2)
def test_the_joint_quantity_catches_right_marginals_with_the_wrong_dependence():
    """Exact marginals, independent components: the Mahalanobis ranks fail, the marginal ranks pass."""
    key = "multivariate_normal_known_cov"
    settings = FAMILIES[key].settings(noise_corr=0.9)

    def independent(model, *, draws, tune, chains, cores=1, seed, progress=False, problem):
        exact = SAMPLERS["exact"].run
        idata = exact(model, draws=draws, tune=tune, chains=chains, seed=seed, problem=problem)
        post = idata["posterior"].to_dataset()
        rng = np.random.default_rng(seed)
        mu = post["mu"].values  # (chain, draw, n, rep, dim): shuffle each component's draws on its own
        for k in range(mu.shape[-1]):
            flat = mu[..., k].reshape(-1, *mu.shape[2:-1])
            mu[..., k] = rng.permutation(flat, axis=0).reshape(mu.shape[:-1])
        post["mu"] = (post["mu"].dims, mu)
        idata["posterior"] = type(idata)(post)
        return idata

    engine = Sampler("independent", "exact marginals, independent components", True, "distribution", None, (),
                     independent, needs_problem=True)  # fmt: skip
    config = sbc.SbcConfig(family=key, sampler="independent", settings=settings,
                           **(SMALL | {"ns": (20,), "sims": 200, "block": 200}))  # fmt: skip
    tests = judged([sbc.run_sbc(config, engine=engine, log=quiet)])
    bad = set(failing(tests)["quantity"])
    assert "mahalanobis" in bad, bad
    assert not {q for q in bad if q.startswith("mu[")}, bad  # the marginals are right


@pytest.mark.statistical(4)
def test_the_closed_form_checks_catch_a_wrong_posterior_variance():
    """The law of total variance and the exact PIT pass with the right closed forms, fail with an sd 20% high.

    10,000 simulations at N = 5 from ``sbc.simulation``, the closed forms alone (no engine). With
    an sd 20% high the PIT's KS distance is about 0.044 against a limit of 0.026 at the test
    budget's alpha (its sd about 0.0035), and the total-variance z about 15 against 4.9: both
    caught with a wide margin. (At 2,000 simulations the KS limit would be 0.057: not caught.)
    """
    family = FAMILIES["normal_normal"]
    settings = family.settings()
    sims = [sbc.simulation(family, settings, budget.seed(2026), 5, s) for s in range(10_000)]
    (exact,) = family.exact(np.stack([x for _, x in sims]), settings).values()
    rows = pd.DataFrame({"true_value": [theta["mu"] for theta, _ in sims],
                         "post_mean_exact": exact["post_mean_exact"],
                         "post_sd_exact": exact["post_sd_exact"]})  # fmt: skip
    rows["post_mean"], rows["post_sd"] = rows["post_mean_exact"], rows["post_sd_exact"]
    z_crit = stats.norm.isf(ALPHA / 2)
    pit = stats.norm.cdf(rows["true_value"], rows["post_mean_exact"], rows["post_sd_exact"])
    assert abs(sbc_verdict.total_variance(rows, 2.0)["z_exact"]) < z_crit
    assert sbc_verdict.uniformity_pvalue(pit) > ALPHA
    wrong = rows.assign(post_sd_exact=rows["post_sd_exact"] * 1.2)
    assert abs(sbc_verdict.total_variance(wrong, 2.0)["z_exact"]) > z_crit
    pit = stats.norm.cdf(wrong["true_value"], wrong["post_mean_exact"], wrong["post_sd_exact"])
    assert sbc_verdict.uniformity_pvalue(pit) < ALPHA


@pytest.mark.statistical(2)
def test_rank_tests_are_uniform_under_the_null_and_catch_a_shift():
    rng = np.random.default_rng(budget.seed(3))
    pvals = [p for _, _, p in sbc_verdict.rank_tests(rng.uniform(size=1000))]
    assert min(pvals) > budget.alpha_each(len(pvals))
    shifted = [p for _, _, p in sbc_verdict.rank_tests(rng.beta(1.3, 1.0, size=1000))]
    assert min(shifted) < budget.alpha_each(len(shifted))


def test_log_likelihood_matches_scipy_for_every_family():
    """Each family's sufficient-statistic log-likelihood against scipy's summed log densities."""
    rng = np.random.default_rng(11)
    for key, family in FAMILIES.items():
        settings = family.settings()
        theta = family.draw_prior(rng, settings, 4)
        x = family.simulate_given(rng, {v: a[0] for v, a in theta.items()}, n=9, settings=settings)
        got = family.log_likelihood(theta, x, settings)
        want = [_scipy_loglik(key, {v: a[i] for v, a in theta.items()}, x, settings) for i in range(4)]
        np.testing.assert_allclose(got, want, rtol=1e-10, err_msg=key)


def _scipy_loglik(key, t, x, s) -> float:
    if key == "normal_normal":
        return stats.norm(t["mu"], np.sqrt(s.noise_var)).logpdf(x).sum()
    if key == "binomial_beta":
        return stats.bernoulli(t["p"]).logpmf(x).sum()
    if key == "poisson_gamma":
        return stats.poisson(t["lam"]).logpmf(x).sum()
    if key == "exponential_gamma":
        return stats.expon(scale=1 / t["lam"]).logpdf(x).sum()
    if key == "normal_inverse_gamma":
        return stats.norm(t["mu"], np.sqrt(t["sigma2"])).logpdf(x).sum()
    if key == "categorical_dirichlet":
        return np.log(t["theta"][x.astype(int)]).sum()
    if key == "multivariate_normal_known_cov":
        return stats.multivariate_normal(t["mu"], s.cov).logpdf(x).sum()
    from analytic.linear_regression import design

    return stats.norm(design(len(x), s.p) @ t["beta"], np.sqrt(s.noise_var)).logpdf(x).sum()


def test_a_simulation_is_regenerated_alone_from_its_key():
    family, settings = FAMILIES["normal_normal"], FAMILIES["normal_normal"].settings()
    config = sbc.SbcConfig(sampler="exact", **(SMALL | {"ns": (5,), "sims": 20, "block": 10}))
    rows = sbc.run_sbc(config, log=quiet).rows.query("kind == 'param'")
    for s in (0, 13, 19):
        theta, _ = sbc.simulation(family, settings, config.seed, 5, s)
        assert rows.loc[rows["sim"] == s, "true_value"].item() == theta["mu"]


def test_a_unit_that_raises_is_named_and_the_others_go_on():
    def broken(model, *, draws, tune, chains, cores=1, seed, progress=False):
        raise RuntimeError("out of cheese")

    engine = Sampler("broken", "raises", True, "distribution", None, (), broken)
    config = sbc.SbcConfig(sampler="broken", **(SMALL | {"ns": (5,), "sims": 10, "block": 5}))
    good = replace(config, sampler="exact")
    results, failures = sbc.run_all([(config, engine), (good, SAMPLERS["exact"])], log=quiet)
    assert [r.engine.name for r in results] == ["exact"]
    why = failures["normal_normal/broken"]
    assert "normal_normal broken N=5 block 0 (sims 0-4)" in why and "block 1" in why
    assert "out of cheese" in why
    out = Executor().map(lambda u: 1 / u, [1, 0], label=lambda u: f"unit {u}", log=quiet)
    assert out[0] == 1 and isinstance(out[1], UnitFailure) and "ZeroDivisionError" in str(out[1])


SBC_ARGS = ["sbc", "--model", "normal_normal,binomial_beta", "--sampler", "exact", "--n", "5", "20",
            "--sims", "30", "--block", "10", "--draws", "200", "--tune", "0", "--chains", "2",
            "--seed", str(budget.seed(2026)), "--alpha", str(ALPHA)]  # fmt: skip


def _files(folder) -> dict[str, bytes]:
    out = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".csv":
            out[path.name] = path.read_bytes()
    doc = json.loads((folder / "results.json").read_text())
    for engine in doc["engines"].values():
        engine.pop("fit_seconds")
    out["results.json"] = json.dumps(doc, sort_keys=True).encode()
    return out


@pytest.mark.statistical(1)
def test_results_do_not_depend_on_where_the_units_ran(tmp_path, capsys):
    """In this process, and on local Dask clusters of 1 and 2 workers: the same bytes (timings aside)."""
    runs = {}
    for label, extra in (("here", []), ("w1", ["--workers", "1"]), ("w2", ["--workers", "2"])):
        assert compare.main([*SBC_ARGS, *extra, "--out", str(tmp_path / label)]) == 0
        runs[label] = _files(tmp_path / label)
    assert runs["here"] == runs["w1"] == runs["w2"]
    assert set(runs["here"]) >= {"sbc.csv", "sbc_tests.csv", "sbc_variance.csv", "sbc_contraction.csv"}
    pngs = {p.name for p in (tmp_path / "w2").iterdir() if p.suffix == ".png"}
    assert {"sbc_ecdf_normal_normal_exact.png", "sbc_ranks_binomial_beta_exact.png",
            "sbc_contraction_normal_normal.png"} <= pngs  # fmt: skip
    err = capsys.readouterr().err
    assert "a local Dask cluster of 2 worker process(es)" in err
    assert "[12/12] " in err and "binomial_beta exact N=20 block 2 (sims 20-29) done" in err


@pytest.mark.statistical(1)
def test_the_study_on_two_workers_gives_the_same_rows(tmp_path):
    args = ["--model", "normal_normal,poisson_gamma", "--sampler", "exact,nuts", "--n", "5", "--reps", "3",
            "--draws", "200", "--tune", "200", "--chains", "2", "--seed", str(budget.seed(2026)),
            "--alpha", str(ALPHA)]  # fmt: skip
    assert compare.main([*args, "--out", str(tmp_path / "here")]) == 0
    assert compare.main([*args, "--workers", "2", "--out", str(tmp_path / "w2")]) == 0
    timing = ["compile_time", "sampling_time", "wall_time", "ess_per_s"]
    here = pd.read_csv(tmp_path / "here" / "summary.csv").drop(columns=timing)
    there = pd.read_csv(tmp_path / "w2" / "summary.csv").drop(columns=timing)
    pd.testing.assert_frame_equal(here, there)


@pytest.mark.statistical(1)
def test_sbc_files_hold_what_the_issue_names(tmp_path):
    assert compare.main([*SBC_ARGS, "--out", str(tmp_path)]) == 0
    rows = pd.read_csv(tmp_path / "sbc.csv")
    for column in ("model", "sampler", "n", "sim", "param", "true_value", "rank", "n_ranks", "pit",
                   "pit_exact", "post_mean", "post_sd", "post_mean_exact", "post_sd_exact"):  # fmt: skip
        assert column in rows
    tests = pd.read_csv(tmp_path / "sbc_tests.csv")
    head = ["model", "sampler", "n", "quantity", "test", "statistic", "pvalue", "judged"]
    assert list(tests.columns[:8]) == head
    assert "agree" in tests
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["judged_tests"] == int(tests["judged"].sum())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sims", "0"], "sims must be >= 2"),
        (["--block", "0"], "block must be >= 1"),
        (["--workers", "-1"], "workers must be >= 0"),
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:9"], "not allowed with argument"),
        (["--sampler", "find_map"], "returns a point, not draws"),
        (["--model", "nope"], "unknown model 'nope'"),
        (["--scheduler", "tcp://127.0.0.1:9"], "cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'"),
    ],
)
def test_bad_sbc_input_gets_one_line_and_exit_2(args, message, tmp_path, capsys):
    out = tmp_path / "out"
    assert compare.main(["sbc", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("compare.py: error:") and message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_a_run_of_several_units_takes_one_worker_per_core_unless_told(monkeypatch):
    from study import units

    monkeypatch.delenv(units.WORKERS_ENV, raising=False)
    monkeypatch.setattr(units.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert [units.default_workers(k) for k in (1, 2, 3, 745)] == [0, 2, 3, 4]
    assert [units.default_workers(k, least=8) for k in (4, 7, 8)] == [0, 0, 4]
    monkeypatch.setattr(units.os, "sched_getaffinity", lambda pid: {0})
    assert units.default_workers(745) == 0
    monkeypatch.setenv(units.WORKERS_ENV, "3")
    assert units.default_workers(1) == 3
    monkeypatch.setenv(units.WORKERS_ENV, "two")
    with pytest.raises(ValueError, match="CONJUGATE_CHECK_WORKERS must be a whole number"):
        units.default_workers(5)


def test_the_command_line_starts_the_workers_default_workers_chooses(monkeypatch):
    """Without --workers or --scheduler, ``on_executor`` uses ``default_workers(units, least)``."""
    import argparse

    from cli import common
    from study import units

    started = []

    class Recorded(units.Executor):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            started.append(self.workers)

        def start(self):  # no cluster: where it would run is all this test reads
            return self

    def args(workers=None):
        return argparse.Namespace(workers=workers, scheduler=None, engine_timeout=None)

    monkeypatch.setattr(units, "Executor", Recorded)
    monkeypatch.setattr(units, "default_workers", lambda k, least: 2 if k >= least else 0)
    cases = ((args(), 12, 2), (args(), 4, 8), (args(workers=0), 12, 2), (args(workers=3), 1, 2))
    for namespace, k, least in cases:
        assert common.on_executor(namespace, lambda executor: 0, units=k, least=least) == 0
    assert started == [2, None, None, 3]


def _die_once(unit):
    """Kill this worker process the first time unit 2 runs (a marker file remembers), then work."""
    marker, value = unit
    if value == 2 and not marker.exists():
        marker.touch()
        os._exit(1)
    return value * 10


def test_a_worker_that_dies_loses_only_its_unit_which_dask_retries(tmp_path):
    with Executor(workers=2) as executor:
        out = executor.map(_die_once, [(tmp_path / "died", v) for v in range(4)], log=quiet)
    assert (tmp_path / "died").exists()  # the worker did die once
    assert out == [0, 10, 20, 30]


def _pid(unit) -> int:
    return os.getpid()


def _times_ten(unit: int) -> int:
    return unit * 10


def _profilers(executor: Executor) -> list[bool]:
    """Whether each worker of the cluster runs Dask's statistical profiler."""
    running = executor.client.run(lambda dask_worker: "profile" in dask_worker.periodic_callbacks)
    return list(running.values())


def test_workers_are_recycled_past_their_share_of_maps_and_replaced_when_lost():
    """Long units go first. Compiled models are never freed: a worker holding too many memory maps gets a
    new process before its next unit; below the share it keeps its process. A nanny closed (as the
    scheduler closes one whose restart timed out) leaves no worker: the cluster starts another, or the
    units would wait for ever. Every worker, first, restarted or new, runs without Dask's profiler."""
    said = []
    with Executor(workers=1) as executor:
        assert _profilers(executor) == [False]
        assert len(set(executor.map(_pid, range(3), log=quiet))) == 1  # far below the default share
        # the long units are handed out first (one worker: they run first), the results in order
        assert executor.map(_times_ten, range(4), log=said.append, long=lambda u: u == 3) == [0, 10, 20, 30]
        assert [line.split(" done")[0] for line in said] == ["[1/4] 3", "[2/4] 0", "[3/4] 1", "[4/4] 2"]
        said.clear()
        # by a tuple: the long one, then the odd before the even, ties in their order
        assert executor.map(_times_ten, range(4), log=said.append, long=lambda u: (u == 3, u % 2)) == [
            0, 10, 20, 30,
        ]  # fmt: skip
        assert [line.split(" done")[0] for line in said] == ["[1/4] 3", "[2/4] 1", "[3/4] 0", "[4/4] 2"]
        said.clear()
        executor.recycle_share = 0.0  # every worker is past a share of 0
        assert len(set(executor.map(_pid, range(3), log=said.append))) == 3
        assert sum("restarting the worker that ran 1" in line for line in said) == 1
        assert _profilers(executor) in ([False], [])  # [] where the last restart has not come back yet
        executor.recycle_share, executor.workerless_s = 1.0, 2
        nannies = list(executor._cluster.workers.values())
        if nannies:  # on a loaded machine the last restart may already have timed out and closed it
            executor._cluster.sync(nannies[0].close)
        assert not executor.client.scheduler_info()["workers"]
        assert all(isinstance(pid, int) for pid in executor.map(_pid, range(2), log=said.append))
        profilers = _profilers(executor)
        assert profilers and not any(profilers)
    assert any("no worker for 2 s: starting new ones" in line for line in said)
