"""The HTML report: the terminal's blocks as its sections, self-contained, complete, failures first."""

import numpy as np
import pandas as pd
import pytest

from report.document import Block, render, table
from report.html import Ids, Section, block_sections
from report.tables import fade_table
from tests.html_checks import check_report, has_sections, split_table, terminal_tables


def test_a_table_prints_so_that_its_cells_read_back():
    rows = [["mu", 10, 0.3333333, "3/3", "-", "exact (tests)"], ["sigma2", 1000, -12.5, "2/3", 4.0, "approx"]]
    t = table(
        ["param", "N", "w_N", "agree", "max|z|", "judged as"], rows, caption="mu, N = 10:", note="a note"
    )
    lines = t.text().splitlines()
    assert lines[0] == "mu, N = 10:" and lines[-1] == "a note"
    cells, used = split_table(lines[1:-1])
    assert used == 4
    assert cells == [t.headers, *t.rows]
    assert t.rows == [["mu", "10", "0.3333", "3/3", "-", "exact (tests)"],
                      ["sigma2", "1000", "-12.5", "2/3", "4", "approx"]]  # fmt: skip
    assert t.numeric == [False, True, True, False, True, False]
    assert t.right == [False, True, True, False, True, False]  # numbers given as numbers, right-aligned


def test_a_line_under_a_table_is_its_note_not_a_row():
    """fade_table prints its slope line right under the rows: it must not be read as a row."""
    from study.aggregate import Washout

    agg = pd.DataFrame({"param": ["mu"], "n": [10], "prior_weight": [0.2], "map_mle_gap": [0.1],
                        "map_mle_gap_sd": [0.3], "mcmc_mle_gap": [0.1],
                        "mean_map_gap_sd": [0.0]})  # fmt: skip
    wash = {"mu": Washout(ns=[10, 100], gap=[0.1, 0.01], slope=-1.0, intercept=0.0)}
    faded = fade_table(agg, wash)
    assert len(faded.rows) == 1 and faded.note.startswith("slope of log mean|MAP-MLE|")
    assert terminal_tables(faded.text()) == [[faded.headers, *faded.rows]]


def test_blocks_print_with_headings_and_become_sections_with_unique_ids():
    blocks = [
        Block("Run", ["intro line"]),
        Block("Reading (normal_normal)", ["fine\n\nsecond paragraph"]),
        Block("Reading (binomial_beta)", ["also fine", table(["a"], [[1]])]),
    ]
    assert render(blocks) == (
        "== Run ==\nintro line\n\n== Reading (normal_normal) ==\nfine\n\nsecond paragraph"
        "\n\n== Reading (binomial_beta) ==\nalso fine\n\na\n-\n1"
    )
    sections = block_sections(blocks, Ids())
    assert [s.title for s in sections] == ["Run", "Reading (normal_normal)", "Reading (binomial_beta)"]
    assert [s.id for s in sections] == ["run", "reading-normal-normal", "reading-binomial-beta"]
    assert [s.short_title for s in sections] == ["Run", "Reading (normal_normal)", "Reading (binomial_beta)"]
    assert sections[1].parts == ["fine", "second paragraph"] and sections[2].parts[1] is blocks[2].parts[1]
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


def test_results_json_holds_no_nan_even_from_numpy_scalars():
    """results.json is written with allow_nan=False: a NumPy NaN (one SMC chain's missing spread) is null."""
    import json

    from report.files import jsonable

    doc = jsonable({"se": np.float64(np.nan) / np.sqrt(1), "a": np.array([1.0, np.inf]), "n": np.int64(3)})
    assert doc == {"se": None, "a": [1.0, None], "n": 3}
    json.dumps(doc, allow_nan=False)
