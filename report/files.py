"""Write a study's output files: all or nothing.

Everything is written into a hidden staging folder inside ``--out`` and moved into
place only once every file has been written, so a failure leaves no half-written
output behind.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from models.samplers import map_groups
from report import plot_pool
from report.terminal import FamilyReport
from study import checks


def jsonable(value):
    """Convert NumPy values, tuples and non-finite floats into plain JSON types."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def storable(idata: xr.DataTree) -> xr.DataTree:
    """Drop the variables NetCDF cannot hold (SMC keeps per-stage lists), keeping every group."""
    return map_groups(
        idata, lambda ds: ds.drop_vars([k for k, v in ds.data_vars.items() if v.dtype == object])
    )


def results_document(reports: list[FamilyReport]) -> dict:
    """Everything a reader needs to audit the run, as plain JSON types."""
    ran = [r for report in reports for r in report.results]
    config = dataclasses.asdict(ran[0].config) if ran else {}
    for key in ("sampler", "family", "settings"):
        config.pop(key, None)
    families = {}
    for report in reports:
        if not report.results:
            families[report.family] = {"engine_failures": report.engine_failures}
            continue
        first = report.results[0]
        families[first.config.family] = {
            "engine_failures": report.engine_failures,
            "settings": dataclasses.asdict(first.config.settings),
            "samplers": {
                r.config.sampler: {
                    "tests": r.thresholds.as_dict() | {"ess_floor": checks.ESS_PER_CHAIN * r.config.chains},
                    "judged_as": r.engine.check,
                    "promise": r.engine.promise,
                    "thin": r.engine.thin,
                    "origin": r.engine.origin,
                    "timings_s": r.timings,
                    "warnings": r.warnings,
                    "evidence": r.evidence,
                }
                for r in report.results
            },
            "per_n": report.agg.to_dict(orient="records"),
            "washout": {
                param: {"n": w.ns, "mean_abs_map_minus_mle": w.gap, "slope": w.slope}
                for param, w in report.wash.items()
            },
            "interpretation": report.text,
        }
    rows = pd.concat([r.rows for r in ran]) if ran else pd.DataFrame()
    return jsonable(
        {
            "config": config,
            "families": families,
            "rows": rows.to_dict(orient="records"),
            "pooled": pooled_rows(reports).to_dict(orient="records"),
        }
    )


POOLED_COLUMNS = ["model", "sampler", "n", "param", "test", "statistic", "pvalue", "agree", "alpha",
                  "reps", "values", "detectable", "reason"]  # fmt: skip


def pooled_rows(reports: list[FamilyReport]) -> pd.DataFrame:
    """Every pooled test of the run, one row each (empty, with the columns, when there are none)."""
    frames = [r.pooled for report in reports for r in report.results if len(r.pooled)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=POOLED_COLUMNS)


def write_outputs(reports: list[FamilyReport], out: Path, *, command: str, failures: list) -> list[Path]:
    """Write summary.csv, pooled.csv, results.json, the draws (NetCDF), the plots and report.html.

    Each report holds one family's studies, one per engine, on the same data sets; the
    first study is the one whose draws the family's own plots show. ``failures`` are the
    run's failed comparisons (``report.terminal.failure_lines``), shown at the top of the
    report; ``command`` is the command line it names.
    """
    from report.html import write_page
    from report.pages import study_page

    def fill(stage: Path) -> None:
        ran = [r.rows for report in reports for r in report.results]
        (pd.concat(ran) if ran else pd.DataFrame()).to_csv(stage / "summary.csv", index=False)
        pooled_rows(reports)[POOLED_COLUMNS].to_csv(stage / "pooled.csv", index=False)
        doc = results_document(reports)
        (stage / "results.json").write_text(json.dumps(doc, indent=1, allow_nan=False))
        figures = _figures(reports, stage)
        write_page(study_page(reports, stage, figures, doc, failures, command), stage)

    return write_all(out, fill)


def write_all(out: Path, fill: Callable[[Path], None]) -> list[Path]:
    """Let ``fill`` write into a staging folder inside ``out``, then move every file into place.

    All or nothing: if ``fill`` fails, nothing is left behind, not even the folders this
    call created.
    """
    created = [p for p in (out, *out.parents) if not p.exists()]
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    done = False
    try:
        with plot_pool.jax_left_unloaded():  # the plots need no JAX; Matplotlib would load it
            fill(stage)
        written = []
        for path in sorted(stage.iterdir()):
            target = out / path.name
            path.replace(target)
            written.append(target)
        done = True
        return written
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if not done:
            for folder in created:  # innermost first: remove only what this call created
                folder.rmdir()


def _figures(reports: list[FamilyReport], stage: Path) -> dict[str, dict]:
    """Write every family's draws and draw its plots; return each family's plots by role.

    The roles: ``trace`` and ``trace_bokeh`` (by engine, then N; the interactive trace at
    the largest N only), ``densities``, ``washout``, ``mse``, ``engines``,
    ``cost_accuracy`` and ``cost_accuracy_bokeh``. The plots are drawn two at a time in
    worker processes (``report.plot_pool``); the Bokeh ones come back as script and div.
    """
    wanted: list[tuple[str, tuple, plot_pool.Plot]] = []  # (family, where its result goes, the plot)
    for report in reports:
        if not report.results:
            continue
        results, first = report.results, report.results[0]
        family = first.config.family
        for r in results:
            storable(r.idata).to_netcdf(stage / f"posterior_{family}_{r.config.sampler}.nc", engine="netcdf4")
            if r.engine.kind == "distribution":
                name, largest = r.config.sampler, max(r.config.ns)
                for n in r.config.ns:
                    wanted.append((family, ("trace", name, n), plot_pool.Plot("trace_plot", (r, n, stage))))
                # drawn interactively too: zoom into the chains
                trace_bokeh = plot_pool.Plot("trace_bokeh", (r, largest), embed=True)
                wanted.append((family, ("trace_bokeh", name, largest), trace_bokeh))
        for role, plot_name, args, embed in [
            ("densities", "density_plot", (first, stage), False),
            ("washout", "washout_plot", (first, report.agg, report.wash, stage), False),
            ("mse", "mse_plot", (first, report.agg, stage), False),
            ("engines", "engines_density_plot", (results, stage), False),
            ("cost_accuracy", "cost_accuracy_plot", (results, stage), False),
            ("cost_accuracy_bokeh", "cost_accuracy_bokeh", (results,), True),
        ]:
            wanted.append((family, (role,), plot_pool.Plot(plot_name, args, embed)))
    figures: dict[str, dict] = {r.family: {"trace": {}, "trace_bokeh": {}} for r in reports if r.results}
    drawn_plots = plot_pool.draw([plot for *_, plot in wanted])
    for (family, where, _), drawn in zip(wanted, drawn_plots, strict=True):
        if len(where) == 1:
            figures[family][where[0]] = drawn
        else:
            role, name, n = where
            figures[family][role].setdefault(name, {})[n] = drawn
    return figures
