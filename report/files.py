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
from pathlib import Path

import numpy as np
import pandas as pd

from report import plots
from study.aggregate import Washout
from study.run import StudyResult


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def results_document(result: StudyResult, agg: pd.DataFrame, wash: Washout, interpretation: str) -> dict:
    """Everything a reader needs to audit the run, as plain JSON types."""
    config = dataclasses.asdict(result.config)
    return _jsonable(
        {
            "settings": config.pop("settings"),
            "config": config,
            "tests": {
                "alpha_run": result.thresholds.alpha,
                "alpha_per_test": result.thresholds.alpha_per_test,
                "z_crit": result.thresholds.z_crit,
                "tests_per_row": 2,
            },
            "timings_s": result.timings,
            "rows": result.rows.to_dict(orient="records"),
            "per_n": agg.to_dict(orient="records"),
            "washout": {"n": wash.ns, "mean_abs_map_minus_mle": wash.gap, "slope": wash.slope},
            "interpretation": interpretation,
        }
    )


def write_outputs(
    result: StudyResult, agg: pd.DataFrame, wash: Washout, interpretation: str, out: Path
) -> list[Path]:
    """Write summary.csv, results.json, the draws (NetCDF) and the PNG plots into ``out``."""
    created = [p for p in (out, *out.parents) if not p.exists()]
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    done = False
    try:
        family, sampler = result.config.family, result.config.sampler
        result.rows.to_csv(stage / "summary.csv", index=False)
        doc = results_document(result, agg, wash, interpretation)
        (stage / "results.json").write_text(json.dumps(doc, indent=1, allow_nan=False))
        result.idata.to_netcdf(stage / f"posterior_{family}_{sampler}.nc", engine="netcdf4")
        plots.trace_plots(result, stage)
        plots.density_plot(result, stage)
        plots.washout_plot(result, agg, wash, stage)
        plots.mse_plot(result, agg, stage)
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
