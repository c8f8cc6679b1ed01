"""The HTML report: read back from the terminal's text, self-contained, complete, failures first."""

import pandas as pd
import pytest

from report.html import Ids, Section, parse_body, split_table, text_sections
from report.tables import fade_table, format_table
from tests.html_checks import check_report, has_sections


def test_terminal_tables_read_back_cell_for_cell():
    rows = [["mu", 10, 0.3333333, "3/3", "-", "exact (tests)"], ["sigma2", 1000, -12.5, "2/3", 4.0, "approx"]]
    text = format_table(["param", "N", "w_N", "agree", "max|z|", "judged as"], rows)
    table, used = split_table(text.splitlines())
    assert used == 4
    assert table.headers == ["param", "N", "w_N", "agree", "max|z|", "judged as"]
    assert table.rows == [["mu", "10", "0.3333", "3/3", "-", "exact (tests)"],
                          ["sigma2", "1000", "-12.5", "2/3", "4", "approx"]]  # fmt: skip
    assert table.numeric == [False, True, True, False, True, False]


def test_a_line_under_a_table_stays_prose():
    """fade_table prints its slope line right under the rows: it must not be read as a row."""
    from study.aggregate import Washout

    agg = pd.DataFrame({"param": ["mu"], "n": [10], "prior_weight": [0.2], "map_mle_gap": [0.1],
                        "map_mle_gap_sd": [0.3], "mcmc_mle_gap": [0.1],
                        "mean_map_gap_sd": [0.0]})  # fmt: skip
    wash = {"mu": Washout(ns=[10, 100], gap=[0.1, 0.01], slope=-1.0, intercept=0.0)}
    parts = parse_body(fade_table(agg, wash))
    assert len(parts) == 2 and len(parts[0].rows) == 1
    assert parts[1].startswith("slope of log mean|MAP-MLE|")


def test_headings_split_the_text_into_sections_with_unique_ids():
    text = "intro line\n\n== Reading (normal_normal) ==\nfine\n== Reading (binomial_beta) ==\nalso fine"
    sections = text_sections(text, Ids())
    assert [s.title for s in sections] == ["Run", "Reading (normal_normal)", "Reading (binomial_beta)"]
    assert [s.id for s in sections] == ["run", "reading-normal-normal", "reading-binomial-beta"]
    assert [s.short_title for s in sections] == ["Run", "Reading (normal_normal)", "Reading (binomial_beta)"]
    assert Section("x", "Engines against the exact posterior (poisson_gamma; per-row tests)").short_title == (
        "Engines against the exact posterior (poisson_gamma)"
    )


@pytest.mark.statistical(1)
def test_study_report_holds_every_table_plot_and_a_verdict_row_per_family_engine_n(report_run):
    code, out, printed = report_run
    assert code == 0, printed
    page = check_report(out, printed)
    assert page.top_sections[:3] == ["outcome", "verdict", "settings"]
    rows = pd.read_csv(out / "summary.csv")
    expected = {(m, s, str(n)) for m, s, n in zip(rows["model"], rows["sampler"], rows["n"], strict=True)}
    assert len(page.verdict) == len(expected) == 2 * 2 * 2
    assert {(r[0], r[1], r[2]) for r in page.verdict} == expected
    assert all(r[5] == "agree" and r[3] == "2/2" for r in page.verdict)
    # each family has its own section, and each engine its own inside it
    for family in ("normal-normal", "binomial-beta"):
        assert {f"family-{family}", f"{family}-exact", f"{family}-find-map"} <= set(page.ids)


def test_a_failing_engine_is_shown_at_the_top(failing_run):
    code, out, printed = failing_run
    assert code == 1
    page = check_report(out, printed)
    assert page.top_sections[0] == "outcome"
    listed = [line.strip() for line in printed.split("comparison(s) FAILED:")[1].strip().splitlines()]
    html = (out / "report.html").read_text()
    assert '<section id="outcome" class="failed">' in html
    assert f"{len(listed)} comparison(s) FAILED" in html
    verdict = {(r[1], r[2]): r[5] for r in page.verdict}
    assert verdict == {("exact", "3"): "agree", ("exact", "30"): "agree",
                       ("shifted", "3"): "DISAGREE", ("shifted", "30"): "DISAGREE"}  # fmt: skip
    for line in listed:
        assert line.replace("<", "&lt;").replace(">", "&gt;") in html


@pytest.mark.statistical(1)
def test_sbc_report_has_its_tables_plots_and_reading(sbc_run):
    code, out, printed = sbc_run
    assert code == 0, printed
    page = check_report(out, printed)
    assert page.top_sections[:2] == ["outcome", "settings"] and not page.verdict
    assert has_sections(
        page,
        "sbc-ranks-of-the-truth-over-the-prior-normal-normal",
        "the-closed-forms-over-the-prior-normal-normal",
        "reading-normal-normal",
    )
    assert "sbc_ecdf_normal_normal_exact.png" in page.figures


def test_gradients_report_has_its_tables_plots_and_reading(gradients_run):
    code, out, printed = gradients_run
    assert code == 0, printed
    page = check_report(out, printed)
    assert has_sections(
        page, "elbo-gradient-estimators", "beta-weighted-elbo", "categorical-latent", "reading"
    )
    assert {"gumbel_bias.png", "normal_normal_gradient_variance.png"} <= set(page.figures)
