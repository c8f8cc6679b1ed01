"""The command line's input: bad input (one line, exit 2), output folders, help, listings, alpha."""

import pandas as pd
import pytest

import cli.commands
import cli.common
import cli.study
import compare
from models.families import FAMILIES
from tests import budget
from tests.runs import TINY

BAD = [
    (["--noise-var", "0"], "noise variance must be > 0"),
    (["--noise-var", "-5"], "noise variance must be > 0"),
    (["--prior-var", "nan"], "prior variance must be finite"),
    (["--prior-var", "inf"], "prior variance must be finite"),
    (["--true-mean", "two"], "true mean must be a number"),
    (["--n", "0"], "N must be >= 1"),
    (["--n", "2.5"], "N must be a whole number"),
    (["--n", "ten"], "N must be a whole number"),
    (["--reps", "0"], "reps must be >= 1"),
    (["--sampler", "gibbs"], "unknown sampler 'gibbs'"),
    (["--sampler", "nuts,gibbs"], "unknown sampler 'gibbs'"),
    (["--sampler", ","], "--sampler needs at least one name"),
    (["--model", "gamma_gamma"], "unknown model 'gamma_gamma'"),
    (["--set", "true_p"], "--set needs NAME=VALUE"),
    (["--set", "true_p=0.3"], "--set 'true_p' is not a setting of normal_normal"),
    (["--model", "binomial_beta", "--set", "true_p=1.5"], "true p must be < 1"),
    (["--model", "binomial_beta", "--set", "true_p=nan"], "true_p must be finite"),
    (["--model", "poisson_gamma", "--noise-var", "2"], "apply to normal_normal only"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["gradients", "--model", "binomial_beta"], "'binomial_beta' has no Gaussian posterior"),
    (["gradients", "--samples", "0"], "samples must be >= 1"),
    (["gradients", "--weights", "0"], "weight must be > 0"),
    (["gradients", "--weights", "1", "inf"], "weight must be finite"),
    (["gradients", "--reps", "5"], "reps must be >= 10"),
    (["gradients", "--noise-var", "-1"], "noise variance must be > 0"),
    (["gradients", "--model", "linear_regression", "--set", "noise_var=nan"], "noise_var must be finite"),
    (["gradients", "--draws", "10"], "unrecognized arguments: --draws"),
    (["--engine-timeout", "0"], "engine timeout must be > 0"),
    (["sbc", "--engine-timeout", "nan"], "engine timeout must be finite"),
    (["power", "--engine-timeout", "soon"], "engine timeout must be a number"),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_exit_two_nothing_written(args, message, tmp_path, capsys):
    out = tmp_path / "out"
    code = compare.main([*args, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("compare.py: error: ") and message in err
    assert "Traceback" not in err
    assert not out.exists()


def test_output_path_that_is_a_file_is_rejected(tmp_path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("keep me")
    for out in (target, target / "sub"):
        assert compare.main(["--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "file" in err
    assert target.read_text() == "keep me"


def test_unwritable_output_folder_is_rejected(tmp_path, capsys, monkeypatch):
    # root can write anywhere, so the permission check itself is made to say no
    monkeypatch.setattr(cli.common.os, "access", lambda *a, **k: False)
    assert compare.main(["--out", str(tmp_path / "x")]) == 2
    assert "is not writable" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_failed_write_leaves_nothing_behind(tmp_path, capsys, monkeypatch):
    """A plot that cannot be written: exit 2, one line, no folder. (Drawn here, where the patch reaches;
    tests/test_plot_pool.py checks that a worker's OSError comes back as one.)"""
    from report import plots

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setenv("CONJUGATE_CHECK_PLOT_WORKERS", "0")
    monkeypatch.setattr(plots, "mse_plot", broken)
    out = tmp_path / "new" / "results"
    assert compare.main([*TINY, "--out", str(out)]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_help_has_an_example(capsys):
    assert compare.main(["--help"]) == 0
    assert "examples:" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        compare.main(["study", "--help"])
    assert exc.value.code == 0
    assert "examples:" in capsys.readouterr().out


def test_list_samplers_shows_every_engine_and_availability(capsys):
    from models.engines import SAMPLERS

    assert compare.main(["--list-samplers"]) == 0
    text = capsys.readouterr().out
    for name, sampler in SAMPLERS.items():
        assert name in text
        assert ("available" if sampler.available else sampler.install_hint) in text


def test_unavailable_engine_is_reported_not_crashed(monkeypatch, tmp_path, capsys):
    """A missing optional dependency: bad input when named, skipped with its hint under 'all'."""
    from models.engines import SAMPLERS, Sampler
    from models.engines.pymc_steps import nuts

    ghost = Sampler(
        "ghost", "needs a package that is not installed", True, "distribution", "ghost",
        ("no_such_module_here",), nuts,
    )  # fmt: skip
    monkeypatch.setitem(SAMPLERS, "ghost", ghost)
    assert not ghost.available and ghost.install_hint == 'pip install -e ".[ghost]"'
    code = compare.main([*TINY, "--sampler", "ghost", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "unavailable" in err and ".[ghost]" in err
    assert not (tmp_path / "o").exists()
    chosen, skipped = cli.common.parse_samplers("all")
    names = [s.name for s in chosen]
    assert "ghost" not in names and "nuts" in names
    assert skipped == ['ghost (unavailable: pip install -e ".[ghost]")']


def test_list_models_shows_every_family_and_its_settings(capsys):
    assert compare.main(["--list-models"]) == 0
    text = capsys.readouterr().out
    for key in FAMILIES:
        assert key in text
    assert "true_p=0.3" in text and "prior_var=2" in text


@pytest.mark.statistical(1)
def test_study_subcommand_is_the_default(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert compare.main([*TINY, "--n", "4", "--sampler", "exact", "--out", str(a)]) == 0
    assert compare.main(["study", *TINY, "--n", "4", "--sampler", "exact", "--out", str(b)]) == 0
    timing = ["compile_time", "sampling_time", "wall_time", "ess_per_s"]
    pd.testing.assert_frame_equal(
        pd.read_csv(a / "summary.csv").drop(columns=timing),
        pd.read_csv(b / "summary.csv").drop(columns=timing),
    )


def test_help_at_both_levels_lists_subcommands_and_flags(capsys):
    assert compare.main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "study" in text and "power" in text and "--reps" in text
    with pytest.raises(SystemExit) as exc:
        compare.main(["power", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "--seeds" in text and "--defects" in text and "mean_shift" in text


def test_the_dispatcher_knows_every_subcommand_before_importing_them():
    assert tuple(cli.commands.SUBCOMMANDS) == compare.NAMES


def test_alpha_is_shared_by_the_studies_of_a_run():
    configs = cli.study.parse(
        [*TINY, "--model", "normal_normal,binomial_beta", "--sampler", "nuts,exact,advi,find_map"]
    ).configs
    alphas = {c.sampler: c.study_alpha for cs in configs.values() for c in cs}
    # two families x three engines judged by calibrated tests (the samplers' or against ADVI's optimum)
    # share the run's alpha; find_MAP's distance to the exact MAP is a tolerance, not a test
    for name in ("nuts", "exact", "advi"):
        assert alphas[name] == pytest.approx(budget.ALPHA / 6), name
    assert {c.studies_in_run for cs in configs.values() for c in cs} == {6}


POWER_BAD = [
    (["power", "--defects", "gremlins"], "unknown defect 'gremlins'"),
    (["power", "--seeds", "1"], "seeds must be >= 2"),
    (["power", "--n", "1", "--defects", "observation_left_out"], "needs every N > 1"),
    (["power", "--noise-var", "0"], "noise variance must be > 0"),
]


@pytest.mark.parametrize(("args", "message"), POWER_BAD, ids=[" ".join(a) for a, _ in POWER_BAD])
def test_power_bad_input_is_one_line_exit_two(args, message, tmp_path, capsys):
    out = tmp_path / "out"
    assert compare.main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and not out.exists()
