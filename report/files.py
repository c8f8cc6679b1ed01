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
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from report import plot_pool
from report.terminal import FamilyReport
from study import checks, stopping
from study.lazy_jax import jax_left_unloaded


def jsonable(value):
    """Convert NumPy values, tuples and non-finite floats into plain JSON types."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return jsonable(value.item())  # a NumPy NaN is non-finite too
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def netcdf_attribute(value: object) -> object:
    """Return an attribute as NetCDF can hold it: numbers and strings (and arrays of them) as they are.

    A bool becomes 0 or 1, anything else NetCDF refuses (None, a dict, a list of mixed
    things, an object) its JSON text, or failing that its ``str``: an engine's own notes
    are kept, readable, and never stop the run's files from being written.
    """
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, str | int | float | np.integer | np.floating):
        return value
    array = np.asarray(value) if isinstance(value, list | tuple | np.ndarray) else None
    if array is not None and array.dtype.kind in "iuf" and array.ndim <= 1:
        return array
    if array is not None and array.dtype.kind == "b" and array.ndim <= 1:
        return array.astype(np.int8)
    try:
        return json.dumps(jsonable(value))
    except (TypeError, ValueError):
        return str(value)


def storable(idata: xr.DataTree) -> xr.DataTree:
    """Return what NetCDF can hold of ``idata``, every group kept.

    Variables of object dtype (SMC keeps per-stage lists) are dropped, and the attributes an
    engine set (of the groups and of their variables) made storable (``netcdf_attribute``).
    """
    groups = {}
    for name, node in idata.children.items():
        ds = node.to_dataset()
        ds = ds.drop_vars([k for k, v in ds.data_vars.items() if v.dtype == object]).copy()
        ds.attrs = {k: netcdf_attribute(v) for k, v in node.attrs.items()}
        for variable in ds.variables.values():
            variable.attrs = {k: netcdf_attribute(v) for k, v in variable.attrs.items()}
        groups[name] = ds
    return xr.DataTree.from_dict(groups)


def study_document(reports: list[FamilyReport]) -> dict:
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


def write_outputs(
    reports: list[FamilyReport], out: Path, *, command: str, failures: list, early: EarlyPlots | None = None
) -> list[Path]:
    """Write summary.csv, pooled.csv, results.json, the draws (NetCDF), the plots and report.html.

    Each report holds one family's studies, one per engine, on the same data sets; the
    first study is the one whose draws the family's own plots show. ``failures`` are the
    run's failed comparisons (``report.terminal.failure_lines``), shown at the top of the
    report; ``command`` is the command line it names. ``early`` holds the plots drawn while
    the comparison ran.
    """
    from report.html import write_page
    from report.pages import study_page

    def fill(stage: Path) -> None:
        ran = [r.rows for report in reports for r in report.results]
        (pd.concat(ran) if ran else pd.DataFrame()).to_csv(stage / "summary.csv", index=False)
        pooled_rows(reports)[POOLED_COLUMNS].to_csv(stage / "pooled.csv", index=False)
        doc = study_document(reports)
        (stage / "results.json").write_text(json.dumps(doc, indent=1, allow_nan=False))
        figures = _figures(reports, stage, early)
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
        stopping.checkpoint("plots")
        with jax_left_unloaded():  # the plots need no JAX; Matplotlib would load it
            fill(stage)
        stopping.checkpoint("writing")
        written = []
        with stopping.held():  # a stop waits until every file is in place: all or nothing
            for path in sorted(stage.iterdir()):
                target = out / path.name
                path.replace(target)
                written.append(target)
            done = True
            stopping.written(out)
        return written
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if not done:
            for folder in created:  # innermost first: remove only what this call created
                folder.rmdir()


def write_draws(result, folder: Path) -> Path:
    """Write one study's draws (every group NetCDF can hold) to ``posterior_<family>_<engine>.nc``."""
    path = folder / f"posterior_{result.config.family}_{result.config.sampler}.nc"
    storable(result.idata).to_netcdf(path, engine="netcdf4")
    return path


def draws_outputs(result, folder: Path, *, first: bool) -> list[tuple[tuple, plot_pool.Plot]]:
    """List the outputs of one study's draws alone, each with where it goes (a role of ``_figures``).

    ``result`` is a ``study.run.StudyResult`` or, before the comparison, a ``study.run.Sampled``.
    Every engine's draws are written (NetCDF, role ``draws``); an engine with a distribution
    gets trace plots (a PNG per N, an interactive one at the largest N); the family's
    ``first`` engine gets the density plot too.
    """
    name = result.config.sampler
    wanted = [(("draws", name, None), plot_pool.plot("write_draws", (result, folder)))]
    if result.engine.kind == "distribution":
        for n in result.config.ns:
            wanted.append((("trace", name, n), plot_pool.plot("trace_plot", (result, n, folder))))
        # drawn interactively too: zoom into the chains
        largest = max(result.config.ns)
        trace_bokeh = plot_pool.plot("trace_bokeh", (result, largest), embed=True)
        wanted.append((("trace_bokeh", name, largest), trace_bokeh))
    if first:
        wanted.append((("densities",), plot_pool.plot("density_plot", (result, folder))))
    return wanted


def family_outputs(report: FamilyReport, folder: Path) -> list[tuple[tuple, plot_pool.Plot]]:
    """List the plots of one family's judged studies (``report.results``), each with its role.

    The washout and MSE plots; with several engines, the plots across engines too.
    """
    results, first = report.results, report.results[0]
    across_engines = [
        ("engines", "engines_density_plot", (results, folder), False),
        ("cost_accuracy", "cost_accuracy_plot", (results, folder), False),
        ("cost_accuracy_bokeh", "cost_accuracy_bokeh", (results,), True),
    ]  # with one engine, its draws are the density plot's and its cost and accuracy the tables'
    return [
        ((role,), plot_pool.plot(plot_name, args, embed))
        for role, plot_name, args, embed in [
            ("washout", "washout_plot", (first, report.agg, report.wash, folder), False),
            ("mse", "mse_plot", (first, report.agg, folder), False),
            *(across_engines if len(results) > 1 else []),
        ]
    ]


class EarlyPlots:
    """The plots of each study's draws, drawn by the plot workers while the comparison runs.

    Called with each study's draws (``study.run.Sampled``, or the ``StudyResult`` of a unit
    that ran on a cluster, by ``run_studies(on_draws=...)``), it hands that study's
    ``draws_outputs`` to the workers (``plot_pool.draw_later``), which draw them into a
    private folder; ``_figures`` takes them from there rather than drawing them again. Use it
    as a context manager: on leaving, it waits for its plots and removes the folder. A
    family's first engine is ``firsts[family]`` (the first it runs), else the first of the
    family to arrive; a plot ``_figures`` does not want is not taken, and drawn again there.
    ``family(report)`` hands out a family's own plots (``family_outputs``) as soon as its
    studies are judged, while the other families' studies run.
    """

    def __init__(self, firsts: dict[str, str] | None = None) -> None:
        self.firsts = firsts
        self.folder: Path | None = None
        self._pending: dict[tuple, tuple[Future, int]] = {}  # (family, sampler, role...) -> plot

    def __enter__(self) -> EarlyPlots:
        return self

    def __exit__(self, *exc) -> None:
        for future, _ in self._pending.values():
            future.exception()  # wait; an error was or will not be read
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __call__(self, sampled) -> None:
        """Hand the plots of one study's draws (``study.run.Sampled``) to the workers."""
        if not self._has_folder():
            return  # no private folder: _figures draws these plots itself
        family, sampler = sampled.config.family, sampled.config.sampler
        if self.firsts is not None:
            first = self.firsts.get(family) == sampler
        else:
            first = not any(key[0] == family for key in self._pending)
        self._hand_out(family, sampler, draws_outputs(sampled, self.folder, first=first))

    def family(self, report: FamilyReport) -> None:
        """Hand one family's own plots (washout, MSE, across engines) to the workers, once it is judged.

        ``report`` must be the one ``_figures`` is given later: the plots are drawn from it.
        """
        if report.results and self._has_folder():
            self._hand_out(report.family, "", family_outputs(report, self.folder))

    def _has_folder(self) -> bool:
        if self.folder is None:
            try:
                self.folder = Path(tempfile.mkdtemp(prefix="conjugate-check-plots-"))
            except OSError:
                return False
        return True

    def _hand_out(self, family: str, sampler: str, wanted: list[tuple[tuple, plot_pool.Plot]]) -> None:
        future = plot_pool.draw_later([plot for _, plot in wanted])
        for i, (where, _) in enumerate(wanted):
            self._pending[(family, sampler, *where)] = (future, i)

    def keys(self) -> set[tuple]:
        """Return the keys of the plots handed out: ``(family, engine, role...)``."""
        return set(self._pending)

    def take(self, key: tuple, stage: Path) -> object:
        """Wait for one plot (``keys``) and return what drawing it returned, its file moved into ``stage``."""
        future, i = self._pending.pop(key)
        drawn = future.result()[i]
        return Path(shutil.move(drawn, stage / drawn.name)) if isinstance(drawn, Path) else drawn


def _figures(reports: list[FamilyReport], stage: Path, early: EarlyPlots | None = None) -> dict[str, dict]:
    """Write every family's draws and draw its plots; return each family's files by role.

    The roles: ``draws`` (by engine: the NetCDF file), ``trace`` and ``trace_bokeh`` (by
    engine, then N; the interactive trace at the largest N only), ``densities``, ``washout``,
    ``mse`` and, for a family with several engines, ``engines``, ``cost_accuracy`` and
    ``cost_accuracy_bokeh``. The files are written two at a time in worker processes
    (``report.plot_pool``); the Bokeh plots come back as script and div. What ``early``
    wrote while the comparison ran is taken from it.
    """
    wanted: list[tuple[str, str, tuple, plot_pool.Plot]] = []  # (family, engine, where it goes, the plot)
    for report in reports:
        if not report.results:
            continue
        results, first = report.results, report.results[0]
        family = first.config.family
        for r in results:
            for where, plot in draws_outputs(r, stage, first=r is first):
                wanted.append((family, r.config.sampler, where, plot))
        for where, plot in family_outputs(report, stage):
            wanted.append((family, "", where, plot))
    early_keys = early.keys() if early else set()
    drawn_now = iter(plot_pool.draw([plot for family, sampler, where, plot in wanted
                                     if (family, sampler, *where) not in early_keys]))  # fmt: skip
    figures: dict[str, dict] = {
        r.family: {"draws": {}, "trace": {}, "trace_bokeh": {}} for r in reports if r.results
    }
    for family, sampler, where, _ in wanted:
        key = (family, sampler, *where)
        drawn = early.take(key, stage) if key in early_keys else next(drawn_now)
        if len(where) == 1:
            figures[family][where[0]] = drawn
        else:
            role, name, n = where
            figures[family][role].setdefault(name, {})[n] = drawn
    return figures


def seeded_runs_config(result) -> dict:
    """Return the study configuration a power or zoo run used for every seed, with the seeds it ran."""
    config = dataclasses.asdict(result.config)
    for key in ("sampler", "family", "settings", "seed"):
        config.pop(key)
    return config | {"seeds": result.seeds, "first_seed": result.config.seed}


def write_seeded_runs_page(stage: Path, doc: dict, *, title: str, command: str, report, checked: str) -> None:
    """Write ``doc`` as results.json and the page of a power or zoo run (its blocks, its settings)."""
    from report.html import write_page
    from report.pages import settings_rows, simple_page

    (stage / "results.json").write_text(json.dumps(jsonable(doc), indent=1, allow_nan=False))
    page = simple_page(
        title,
        command,
        report.blocks,
        stage,
        list(report.summary["model"].unique()),
        settings=settings_rows(doc["config"] | {"alpha per run": report.result.alpha}, {}),
        failures=[],
        checked=checked,
    )
    write_page(page, stage)
