"""models.engines.nutpie_lean: nutpie with lean numba callbacks is nutpie, draw for draw and code for code.

The lean callbacks only change how the log density, its gradient and the stored values are
copied into nutpie's buffers. So, against ``nutpie.compile_pymc_model`` on the same models:
the draws and divergences of a seeded run are identical, and each callback returns the same
code and writes the same numbers for ordinary, overflowing, NaN and wrongly sized input.
Two models: one frozen as the study freezes it, one that keeps ``pm.Data`` (nutpie reads
shared data through its user-data pointer) and has a transformed parameter (``p`` sampled
as its log-odds), so that the stored values differ from the sampled ones.

Each variant runs in a fresh process, as compare.py does: compiling the same model twice in
one process can change a gradient in its last bit (nutpie's own compile as much as the lean
one), so only first compiles are comparable.
"""

import ctypes
import subprocess
import sys

import numpy as np

MODELS = [("normal_normal", True), ("binomial_beta", False)]


def _model(key: str, frozen: bool):
    from models.batched import for_sampling
    from models.families import FAMILIES
    from study.run import simulate_datasets

    family = FAMILIES[key]
    settings = family.settings()
    model = family.build_model(simulate_datasets(family, settings, (5, 50), 2, 7), settings)
    return for_sampling(model) if frozen else model


def _call_logp(compiled, x: np.ndarray, dim: int) -> tuple[int, np.ndarray]:
    out, logp = np.zeros(len(x)), np.zeros(1)
    ptr = ctypes.POINTER(ctypes.c_double)
    code = compiled.compiled_logp_func.ctypes(
        dim, x.ctypes.data_as(ptr), out.ctypes.data_as(ptr), logp.ctypes.data_as(ptr),
        compiled.user_data.ctypes.data,
    )  # fmt: skip
    return code, np.append(out, logp)


def _call_expand(compiled, x: np.ndarray, dim: int, expanded: int) -> tuple[int, np.ndarray]:
    out = np.zeros(compiled.n_expanded)
    ptr = ctypes.POINTER(ctypes.c_double)
    code = compiled.compiled_expand_func.ctypes(
        dim, expanded, x.ctypes.data_as(ptr), out.ctypes.data_as(ptr), compiled.user_data.ctypes.data
    )
    return code, out


def record(variant: str, path: str) -> None:
    """Compile every model with ``variant`` ("own" or "lean"), sample and probe it; save all to ``path``."""
    if variant == "own":
        import nutpie

        compile_model = nutpie.compile_pymc_model
    else:  # nutpie as the study imports it: with arviz_base standing in for arviz
        from models.engines.nutpie_lean import compile_pymc_model as compile_model
        from models.engines.nutpie_lean import nutpie
    saved = {}
    for key, frozen in MODELS:
        compiled = compile_model(_model(key, frozen))
        run = nutpie.sample(compiled, draws=200, tune=200, chains=2, cores=1, seed=11, progress_bar=False)
        for name, values in run["posterior"].to_dataset().data_vars.items():
            saved[f"{key}/draws/{name}"] = values.values
        saved[f"{key}/diverging"] = run["sample_stats"]["diverging"].values
        n, m = compiled.n_dim, compiled.n_expanded
        for label, x in {"ordinary": np.linspace(-0.5, 0.5, n), "overflowing": np.full(n, 800.0),
                         "nan": np.full(n, np.nan)}.items():  # fmt: skip
            for dim in (n, n + 1):
                code, values = _call_logp(compiled, x, dim)
                saved[f"{key}/logp/{label}/{dim}/code"] = code
                saved[f"{key}/logp/{label}/{dim}/values"] = values if code == 0 else np.zeros(0)
            for dims in ((n, m), (n + 1, m), (n, m + 1)):
                code, values = _call_expand(compiled, x, *dims)
                saved[f"{key}/expand/{label}/{dims}/code"] = code
                saved[f"{key}/expand/{label}/{dims}/values"] = values if code == 0 else np.zeros(0)
    np.savez(path, **saved)


def test_lean_compile_draws_and_returns_what_nutpie_does(tmp_path):
    from models.engines import nutpie_lean

    assert nutpie_lean.lean_available(), "this nutpie lacks the factories the lean callbacks replace"
    procs = {}  # the two variants side by side, one process each
    for variant in ("own", "lean"):
        code = f"from tests.test_nutpie_lean import record; record({variant!r}, {str(tmp_path / variant)!r})"
        procs[variant] = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
    runs = {}
    for variant, proc in procs.items():
        _, err = proc.communicate()
        assert proc.returncode == 0, err[-3000:]
        runs[variant] = dict(np.load(tmp_path / f"{variant}.npz"))
    own, lean = runs["own"], runs["lean"]
    assert own.keys() == lean.keys()
    for key in own:
        np.testing.assert_array_equal(own[key], lean[key], err_msg=key)
    codes = {int(v) for k, v in own.items() if k.endswith("/code")}
    assert {0, -1} <= codes and codes & {3, 4}, codes  # the probes reach nutpie's error paths


def test_the_study_engine_compiles_through_the_lean_callbacks(monkeypatch):
    """The nutpie engine compiles through models.engines.nutpie_lean: the draws above are the study's."""
    from models.engines import SAMPLERS, nutpie_lean

    used = []
    lean = nutpie_lean._logp_callback
    monkeypatch.setattr(nutpie_lean, "_logp_callback", lambda *args: used.append(args) or lean(*args))
    SAMPLERS["nutpie"].run(_model("normal_normal", True), draws=20, tune=20, chains=1, cores=1, seed=1)
    assert len(used) == 1


def test_nutpie_is_imported_without_arvizs_plots_and_converts_with_arviz_base():
    """nutpie's ``arviz`` is arviz_base's names: no Matplotlib in the study's process, the same functions."""
    code = """
import sys
import models.engines.nutpie_lean
assert "matplotlib" not in sys.modules and "arviz_plots" not in sys.modules, "ArviZ's plots loaded"
import arviz_base
stand_in = sys.modules["nutpie.sample"].arviz
assert stand_in.from_dict is arviz_base.from_dict and stand_in.dict_to_dataset is arviz_base.dict_to_dataset
assert "arviz" not in sys.modules  # only nutpie holds the stand-in; other importers get ArviZ itself
import arviz
assert arviz is not stand_in and arviz.from_dict is arviz_base.from_dict and hasattr(arviz, "plot_dist")
assert stand_in.plot_dist is arviz.plot_dist  # a name arviz_base lacks comes from ArviZ itself
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
