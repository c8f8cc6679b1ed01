"""The measured false-alarm rate: run lines, their table, the reading's promise, the test budget."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from study import calibration, checks
from study.run import StudyConfig, run_study
from tests import budget


@pytest.fixture(scope="module")
def exact_run():
    config = StudyConfig(sampler="exact", ns=(10, 100), reps=3, seed=budget.seed(5), alpha=budget.ALPHA)
    return run_study(config, log=lambda _: None)


def test_a_run_line_counts_every_test_by_level(exact_run):
    record = calibration.run_record(exact_run, seed=5)
    assert record["verdict"] == calibration.VERDICT and record["engine"] == "exact"
    assert record["configuration"] == "N=10,100 reps=3 draws=1000 tune=1000 chains=4 alpha=4e-06"
    assert record["row_mean_tests"] == record["row_sd_tests"] == record["row_ks_tests"] == 6
    assert record["pooled_mean_tests"] == record["pooled_sd_tests"] == record["pooled_pit_tests"] == 2
    p = 2 * stats.norm.sf(exact_run.rows["z_mean"].abs())
    assert record["row_mean_p05"] == int((p < 0.05).sum()) and record["row_mean_p01"] == int((p < 0.01).sum())
    assert record["row_z_mean_sq"] == pytest.approx(float((exact_run.rows["z_mean"] ** 2).sum()))


def _lines(engine, family, alarms, runs, configuration):
    base = {"verdict": calibration.VERDICT, "engine": engine, "family": family,
            "configuration": configuration, "reasons": "", "row_z_mean_sq": 100.0, "row_z_sd_sq": 100.0,
            "row_z_sd_sum": 0.0}  # fmt: skip
    for name, _ in calibration.TESTS:
        base |= {f"{name}_tests": 100, f"{name}_p05": 5, f"{name}_p01": 1}
    return [base | {"seed": s, "false_alarm": s < alarms} for s in range(runs)]


def test_the_table_and_the_promise_read_the_lines(tmp_path):
    default = calibration.configuration(StudyConfig())
    path = tmp_path / "false_alarms.csv"
    calibration.append(_lines("nutpie", "normal_normal", 2, 200, default), path)
    calibration.append(_lines("nuts", "poisson_gamma", 5, 30, default), path)
    # a line of an older verdict is kept in the file but not counted
    calibration.append(
        [_lines("nutpie", "normal_normal", 1, 1, default)[0] | {"verdict": "old", "seed": 999}], path
    )
    frame = calibration.measured(path)
    assert len(frame) == 230
    table = calibration.summary(frame).set_index("engine")
    assert table.loc["nutpie", "runs"] == 200 and table.loc["nutpie", "false_alarms"] == 2
    assert table.loc["nutpie", "bound"] == stats.binom.ppf(0.99, 200, 0.01) and table.loc["nutpie", "within"]
    assert not table.loc["nuts", "within"]  # 5 in 30 is more than a true 1% allows
    assert table.loc["nutpie", "row_mean_p05"] == pytest.approx(0.05) and table.loc["nutpie", "row_mean_ok"]
    promise = calibration.measured_promise("nutpie", "normal_normal", StudyConfig(), path=path)
    assert promise.startswith("Measured for nutpie on normal_normal at this configuration: 2 of 200 runs")
    other = calibration.measured_promise("nutpie", "normal_normal", StudyConfig(reps=5), path=path)
    assert other.startswith("Not measured at this configuration")
    plug_in = calibration.measured_promise("my_engine", "normal_normal", StudyConfig(), path=path)
    assert plug_in.startswith("Not measured for my_engine on normal_normal")


def test_an_earlier_verdicts_lines_count_where_the_change_left_them_alone(tmp_path):
    """The heavy-tail rule moved only normal_inverse_gamma's samplers: their older lines stop counting."""
    default = calibration.configuration(StudyConfig())
    (older,) = calibration.CARRIED
    path = tmp_path / "false_alarms.csv"
    calibration.append(
        [line | {"verdict": older} for line in _lines("nuts", "poisson_gamma", 0, 3, default)], path
    )
    nig = "normal_inverse_gamma"
    calibration.append([line | {"verdict": older} for line in _lines("nuts", nig, 1, 4, default)], path)
    laplace = [line | {"verdict": older, "row_ks_tests": 0} for line in _lines("laplace", nig, 0, 2, default)]
    calibration.append(laplace, path)
    calibration.append(_lines("nuts", "normal_inverse_gamma", 0, 2, default), path)  # remeasured: seeds 0, 1
    frame = calibration.measured(path)
    counted = frame.groupby(["engine", "family"]).size().to_dict()
    assert counted == {("nuts", "poisson_gamma"): 3, ("laplace", "normal_inverse_gamma"): 2,
                       ("nuts", "normal_inverse_gamma"): 2}  # fmt: skip
    assert (
        frame.loc[frame["family"] == "normal_inverse_gamma", "verdict"].iloc[-2:] == calibration.VERDICT
    ).all()
    assert not frame.loc[
        (frame["engine"] == "nuts") & (frame["family"] == "normal_inverse_gamma"), "false_alarm"
    ].any()


def test_the_reading_names_what_was_measured(exact_run):
    from report.interpret import _agreement

    text = _agreement(exact_run)
    assert "at most 0.0004% by Bonferroni's bound" in text and "Not measured" in text


def test_null_standard_errors_use_the_exact_moments_and_fall_back_without_a_fourth():
    rows = pd.DataFrame({"post_sd_exact": [2.0, 2.0], "kurtosis_exact": [1.0, np.inf], "mcse_sd": [0.5, 0.5],
                         "ess_mean": [400.0, 400.0], "ess_sd": [100.0, 100.0]})  # fmt: skip
    se_mean, se_sd = checks.null_standard_errors(rows)
    np.testing.assert_allclose(se_mean, [0.1, 0.1])
    np.testing.assert_allclose(se_sd, [2.0 * np.sqrt(3.0 / 100) / 2, 0.5])
    assert checks.excess_kurtosis(stats.invgamma(3.5)) == np.inf
    assert checks.excess_kurtosis(stats.gamma(5.0)) == pytest.approx(6 / 5)


def test_the_budget_is_shared_and_the_offset_moves_every_seed(monkeypatch):
    assert np.isclose(budget.ALPHA * budget.ASSERTIONS, budget.BUDGET)
    assert np.isclose(2 * stats.norm.sf(budget.Z), budget.ALPHA)
    monkeypatch.setattr(budget, "OFFSET", 3)
    assert budget.seed(5) == 5 + 3 * budget.STRIDE
