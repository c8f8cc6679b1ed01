"""Engines from outside the suite: --sampler module:callable, entry points, the Python API, bad input."""

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import compare
from models.engines import plugins
from study.api import check_engine
from tests import budget
from tests.html_checks import check_report

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--n", "10", "--reps", "2", "--draws", "300", "--tune", "300", "--chains", "2",
        "--seed", str(budget.seed(4)), "--alpha", str(budget.ALPHA)]  # fmt: skip

ENGINES = '''
import numpy as np
import xarray as xr
from models.engines.pymc_steps import nuts

STUDY_CONSTANT = 3


def good(model, *, draws, tune, chains, cores, seed, progress):
    """PyMC's NUTS, wrapped as an outside engine."""
    return nuts(model, draws=draws, tune=tune, chains=chains, cores=cores, seed=seed, progress=progress)


def no_coords(model, *, draws, tune, chains, cores, seed, progress):
    """Right draws, returned without coordinates: the suite gives them the model's."""
    idata = good(model, draws=draws, tune=tune, chains=chains, cores=cores, seed=seed, progress=progress)
    return xr.DataTree.from_dict({"posterior": idata["posterior"].to_dataset().drop_vars(["n", "rep"])})


def wrong_coords(model, *, draws, tune, chains, cores, seed, progress):
    idata = good(model, draws=draws, tune=tune, chains=chains, cores=cores, seed=seed, progress=progress)
    return xr.DataTree.from_dict({"posterior": idata["posterior"].to_dataset().assign_coords(n=[99])})


def bad_signature(model, draws):
    return None


def raises(model, *, draws, tune, chains, cores, seed, progress):
    raise RuntimeError("the kernel exploded")


def wrong_type(model, *, draws, tune, chains, cores, seed, progress):
    return {"mu": np.zeros((chains, draws))}


def _posterior(model, chains, draws, fill=0.0, dims=None):
    var = model.free_RVs[0].name
    shape = (chains, draws, *(len(model.coords[d]) for d in model.named_vars_to_dims[var]))
    dims = dims or ("chain", "draw", *model.named_vars_to_dims[var])
    return xr.DataTree.from_dict({"posterior": xr.Dataset({var: (dims, np.full(shape, fill))})})


def wrong_dims(model, *, draws, tune, chains, cores, seed, progress):
    return _posterior(model, chains, draws, dims=("chain", "draw", "a", "b"))


def nan_draws(model, *, draws, tune, chains, cores, seed, progress):
    return _posterior(model, chains, draws, fill=np.nan)


def no_posterior(model, *, draws, tune, chains, cores, seed, progress):
    return xr.DataTree.from_dict({"prior": xr.Dataset()})


def bad_kind(model, *, draws, tune, chains, cores, seed, progress):
    return None


bad_kind.kind = "cloud"


def named_nuts(model, *, draws, tune, chains, cores, seed, progress):
    return None


named_nuts.name = "nuts"


def bad_separately(model, *, draws, tune, chains, cores, seed, progress):
    return None


bad_separately.separately = "yes"


def bad_target(model, *, draws, tune, chains, cores, seed, progress):
    return None


bad_target.check, bad_target.target = "target", "elsewhere"
'''


@pytest.fixture()
def engines_module(tmp_path, monkeypatch):
    """A fresh module ``my_engines`` on sys.path (and PYTHONPATH for subprocesses)."""
    (tmp_path / "my_engines.py").write_text(ENGINES)
    (tmp_path / "broken_import.py").write_text("raise ImportError('a dependency is missing')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("my_engines", "broken_import"):
        sys.modules.pop(name, None)
    monkeypatch.setattr(plugins, "_LOADED", {})
    return tmp_path


@pytest.mark.statistical(1)
def test_plugin_runs_end_to_end_through_compare_in_a_subprocess(engines_module, tmp_path):
    """--sampler module:callable beside a registry name, from a module on PYTHONPATH."""
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": f"{engines_module}{os.pathsep}{ROOT}"}
    command = [sys.executable, str(ROOT / "compare.py"), *TINY, "--sampler", "exact,my_engines:good"]
    done = subprocess.run(
        [*command, "--out", str(out)], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = pd.read_csv(out / "summary.csv")
    assert set(rows["sampler"]) == {"exact", "good"} and rows["agree"].all()
    doc = json.loads((out / "results.json").read_text())
    origin = doc["families"]["normal_normal"]["samplers"]["good"]["origin"]
    assert origin == "--sampler: my_engines:good"
    assert (out / "posterior_normal_normal_good.nc").exists()


@pytest.mark.statistical(1)
def test_entry_point_engines_are_listed_and_run(engines_module, tmp_path, monkeypatch, capsys):
    """An installed package's entry point: listed with where it came from, and run by its name."""
    ep = importlib.metadata.EntryPoint("their_nuts", "my_engines:good", plugins.ENTRY_POINT_GROUP)
    monkeypatch.setattr(plugins, "entry_points", lambda: {"their_nuts": ep})
    assert compare.main(["--list-samplers"]) == 0
    listed = capsys.readouterr().out
    assert "their_nuts" in listed and "entry point 'their_nuts'" in listed and "my_engines:good" in listed
    code = compare.main([*TINY, "--sampler", "their_nuts", "--out", str(tmp_path / "o")])
    assert code == 0
    assert set(pd.read_csv(tmp_path / "o" / "summary.csv")["sampler"]) == {"their_nuts"}


@pytest.mark.parametrize(
    "spec, message",
    [
        ("no_such_module:engine", "cannot import module 'no_such_module'"),
        (
            "broken_import:engine",
            "importing module 'broken_import' raised ImportError: a dependency is missing",
        ),
        ("my_engines:missing", "module 'my_engines' has no attribute 'missing'"),
        ("my_engines:STUDY_CONSTANT", "'STUDY_CONSTANT' is a int, not a callable"),
        ("my_engines:bad_signature", "does not follow the engine protocol"),
        ("my_engines:bad_kind", "kind 'cloud' is not one of distribution, point"),
        ("my_engines:named_nuts", "which is a built-in engine's name"),
        ("my_engines:bad_separately", "separately must be True or False, got 'yes'"),
        (
            "my_engines:bad_target",
            "check 'target' needs target= one of laplace, advi, fullrank_advi, got 'elsewhere'",
        ),
        ("my_engines:", "write it as module.path:callable"),
        ("no_such_engine", "unknown sampler 'no_such_engine'"),
    ],
)
def test_engine_that_cannot_be_loaded_is_one_line_exit_two(engines_module, tmp_path, capsys, spec, message):
    out = tmp_path / "o"
    code = compare.main([*TINY, "--sampler", f"nuts,{spec}", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("compare.py: error: ") and message in err, err
    assert not out.exists()


@pytest.mark.statistical(1)
@pytest.mark.parametrize(
    "name, message",
    [
        ("raises", "raised RuntimeError: the kernel exploded"),
        ("wrong_type", "returned a dict, not an xarray.DataTree"),
        (
            "wrong_dims",
            "draws of 'mu' have dims ('chain', 'draw', 'a', 'b'), "
            "the protocol wants ('chain', 'draw', 'n', 'rep')",
        ),
        ("nan_draws", "1200 of 1200 draws of 'mu' are NaN or infinite"),
        ("no_posterior", "returned no 'posterior' group"),
        ("wrong_coords", "coordinate 'n' is [99], the model's is [10]"),
    ],
)
def test_engine_failing_in_its_run_is_reported_and_the_others_still_run(
    engines_module, tmp_path, capsys, name, message
):
    out = tmp_path / "o"
    code = compare.main([*TINY, "--sampler", f"exact,my_engines:{name}", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    assert f"normal_normal {name}: engine failed: {message}" in captured.out
    rows = pd.read_csv(out / "summary.csv")
    assert set(rows["sampler"]) == {"exact"} and rows["agree"].all()
    family = json.loads((out / "results.json").read_text())["families"]["normal_normal"]
    assert message in family["engine_failures"][name]
    assert f"{name}: engine FAILED in its run: {message}" in family["interpretation"]
    page = check_report(out, captured.out)  # the report lists it first and marks its rows FAILED
    assert page.top_sections[0] == "outcome"
    assert {(r[1], r[5]) for r in page.verdict} == {("exact", "agree"), (name, "FAILED")}


def test_every_engine_failing_still_writes_a_report(engines_module, tmp_path, capsys):
    out = tmp_path / "o"
    assert compare.main([*TINY, "--sampler", "my_engines:raises", "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "every engine failed" in printed
    assert json.loads((out / "results.json").read_text())["families"]["normal_normal"]["engine_failures"]
    page = check_report(out, printed)
    assert [(r[1], r[2], r[5]) for r in page.verdict] == [("raises", "10", "FAILED")]  # one row per N


@pytest.mark.statistical(2)
def test_python_api_checks_a_callable_and_names_what_failed(engines_module):
    import my_engines

    small = dict(ns=(10,), reps=2, draws=300, tune=300, chains=2, seed=budget.seed(4), alpha=budget.ALPHA)
    check = check_engine(my_engines.good, **small)
    assert check.agrees and len(check.rows) == 2 and len(check.pooled) == 3
    check.assert_agrees()
    assert "good agrees with the exact posterior on normal_normal" in str(check)
    bare = check_engine(my_engines.no_coords, **small)
    assert bare.agrees and list(bare.results[0].idata["posterior"]["n"].values) == [10]
    failed = check_engine(my_engines.raises, families=["normal_normal", "binomial_beta"], ns=(10,), reps=2)
    assert not failed.agrees and set(failed.engine_failures) == {"normal_normal", "binomial_beta"}
    with pytest.raises(AssertionError, match="normal_normal: engine failed: raised RuntimeError"):
        failed.assert_agrees()
    with pytest.raises(ValueError, match="does not follow the engine protocol"):
        check_engine(my_engines.bad_signature)
    with pytest.raises(ValueError, match="unknown family 'nope'"):
        check_engine(my_engines.good, families="nope")
    with pytest.raises(ValueError, match="reps must be >= 1"):
        check_engine(my_engines.good, reps=0)
    with pytest.raises(ValueError, match="normal_normal has no setting among \\['true_p'\\]"):
        check_engine(my_engines.good, settings={"normal_normal": {"true_p": 0.1}})
    with pytest.raises(ValueError, match="prior variance must be > 0"):
        check_engine(my_engines.good, settings={"normal_normal": {"prior_var": -1}})


@pytest.mark.statistical(2)
def test_broken_example_passes_where_it_cannot_show_and_is_caught_where_it_can():
    """examples/no_jacobian_nuts: no transform on normal_normal (agrees); the logit of p (caught)."""
    from examples.no_jacobian_nuts import no_jacobian_nuts

    small = dict(
        ns=(10, 100), reps=5, draws=500, tune=500, chains=2, seed=budget.seed(11), alpha=budget.ALPHA
    )
    assert check_engine(no_jacobian_nuts, families="normal_normal", **small).agrees
    caught = check_engine(no_jacobian_nuts, families="binomial_beta", **small)
    assert not caught.agrees
    assert any("mean off by" in p for p in caught.problems)


@pytest.mark.slow
@pytest.mark.statistical(1)
def test_blackjax_example_agrees_in_every_family():
    pytest.importorskip("blackjax", reason="the blackjax extra is not installed")
    from examples.blackjax_nuts import blackjax_nuts

    check = check_engine(blackjax_nuts, families="all", ns=(10, 100), reps=5, draws=500, tune=500, chains=2,
                         seed=budget.seed(2026), alpha=budget.ALPHA)  # fmt: skip
    assert check.agrees, str(check)


@pytest.mark.statistical(1)
def test_api_example_runs_as_a_sampler_authors_test(tmp_path):
    """examples/check_in_pytest.py is what an author puts in their own suite: run it with pytest."""
    example = str(ROOT / "examples" / "check_in_pytest.py")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", example]
    # the example takes its alpha and seed from the environment, as an author's CI may
    env = os.environ | {"CHECK_ENGINE_ALPHA": str(budget.ALPHA), "CHECK_ENGINE_SEED": str(budget.seed(1))}
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "2 passed" in done.stdout


@pytest.mark.statistical(1)
def test_a_plug_in_approximation_is_judged_against_the_optimum_it_names_and_says_so():
    """check="target" with target="laplace": the registry's Laplace as an outside engine, on binomial_beta."""
    from models.engines.approximations import laplace
    from models.engines.plugins import as_sampler, engine

    @engine(name="their_laplace", exact=False, check="target", target="laplace")
    def their_laplace(model, *, draws, tune, chains, cores, seed, progress):
        return laplace(
            model, draws=draws, tune=tune, chains=chains, cores=cores, seed=seed, progress=progress
        )

    sampler = as_sampler(their_laplace)
    assert (sampler.check, sampler.target) == ("target", "laplace")
    assert (
        sampler.promise
        == "its draws are tested against the exact laplace optimum, whose gap to the posterior is shown"
    )

    def their_vi(model, *, draws, tune, chains, cores, seed, progress):
        return None

    # a plug-in judged by the bounds, which says no promise, gets its check's own words
    assert as_sampler(engine(exact=False, check="close")(their_vi)).promise == plugins.PROMISES["close"]
    check = check_engine(their_laplace, families="binomial_beta", ns=(10, 100), reps=5, draws=500, chains=2,
                         seed=budget.seed(41), alpha=budget.ALPHA)  # fmt: skip
    assert check.agrees, check


def test_an_optimiser_error_group_is_checked_like_the_draws():
    """An approximation's own-error group (``optimiser_error``): right dims, finite, >= 0, or one line."""
    import numpy as np
    import pymc as pm
    import xarray as xr

    from models.engines.protocol import Sampler

    with pm.Model(coords={"n": [10, 100], "rep": [0, 1]}) as model:
        pm.Normal("mu", 0, 1, dims=("n", "rep"))
    draws = xr.Dataset({"mu": (("chain", "draw", "n", "rep"), np.zeros((2, 5, 2, 2)))})

    def returning(errors):
        def run(model, **_):
            return xr.DataTree.from_dict({"posterior": posterior, "optimiser_error": errors})

        return Sampler("fake", "test", False, "distribution", None, (), run, check="target", target="advi")

    posterior = draws
    good = xr.Dataset({"mu": (("statistic", "n", "rep"), np.full((2, 2, 2), 0.01))},
                      coords={"statistic": ["mean", "sd"]})  # fmt: skip
    plugins.run_engine(returning(good), model, chains=2, draws=5, tune=0, seed=1)
    correlation = xr.DataArray(np.zeros((2, 2, 1, 1)), dims=("n", "rep", "element", "element_with"))
    plugins.run_engine(
        returning(good.assign(correlation=correlation)), model, chains=2, draws=5, tune=0, seed=1
    )
    cases = {
        "has dims ('n', 'rep')": good.isel(statistic=0, drop=True),
        "negative, NaN or infinite": good.assign(mu=-good["mu"]),
        "no standard errors of 'mu'": good.rename({"mu": "sigma"}),
        "'correlation' has dims ('n', 'rep', 'element')": good.assign(correlation=correlation[..., 0]),
        "'correlation' holds values that are negative": good.assign(correlation=correlation - 1),
    }
    for message, errors in cases.items():
        with pytest.raises(plugins.EngineFailure, match=message.replace("(", r"\(").replace(")", r"\)")):
            plugins.run_engine(returning(errors), model, chains=2, draws=5, tune=0, seed=1)


def test_whatever_attributes_an_engine_sets_are_written_not_a_crash(tmp_path):
    """A bool, None, a dict or an object in a group's or a variable's attributes: stored, not a traceback."""
    from report.files import storable

    mu = xr.DataArray(np.zeros((1, 3)), dims=("chain", "draw"), attrs={"checked": np.bool_(True)})
    tree = xr.DataTree.from_dict({"posterior": xr.Dataset({"mu": mu})})
    tree["posterior"].attrs = {
        "flag": True,
        "nested": {"a": [1, 2]},
        "none": None,
        "thing": object(),
        "x": 2.5,
    }
    storable(tree).to_netcdf(tmp_path / "p.nc", engine="netcdf4")
    back = xr.open_datatree(tmp_path / "p.nc")
    attrs = back["posterior"].attrs
    assert (attrs["flag"], json.loads(attrs["nested"]), attrs["none"], attrs["x"]) == (
        1,
        {"a": [1, 2]},
        "null",
        2.5,
    )
    assert attrs["thing"].startswith("<object object")
    assert back["posterior"]["mu"].attrs["checked"] == 1
    assert tree["posterior"].attrs["flag"] is True  # the run's own result is left as it was
