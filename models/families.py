"""FAMILIES: the one place where each conjugate family's parts are wired together.

A family is named by its ``likelihood_prior`` key; the same key names its analytic
module, its model module, its test ids and its output files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pymc as pm

from models import normal_normal


@dataclass(frozen=True)
class Family:
    """A conjugate model family: its simulator, closed forms and PyMC model.

    Attributes
    ----------
    key
        ``likelihood_prior`` name.
    params
        Parameter names; the PyMC variables carry the same names.
    settings
        Frozen dataclass of truth and prior, validated on construction.
    simulate
        ``(rng, *, n, reps, settings) -> array (reps, n, ...)``.
    exact
        ``(x, settings) -> {param: {column: array (reps, ...)}}`` closed-form summaries.
    build_model
        ``(datasets {n: array}, settings) -> pm.Model`` with params of dims ``("n", "rep", ...)``.
    densities
        ``(x, settings) -> {param: {"prior"|"likelihood"|"posterior": frozen scipy dist}}``.
    risks
        ``(n, settings, *, prob) -> {param: {column: array}}`` exact sampling risks.
    """

    key: str
    description: str
    params: tuple[str, ...]
    settings: type
    simulate: Callable[..., np.ndarray]
    exact: Callable[[np.ndarray, Any], Mapping[str, Mapping[str, np.ndarray]]]
    build_model: Callable[[Mapping[int, np.ndarray], Any], pm.Model]
    densities: Callable[[np.ndarray, Any], Mapping[str, Mapping[str, Any]]]
    risks: Callable[..., Mapping[str, Mapping[str, np.ndarray]]]


FAMILIES: dict[str, Family] = {
    "normal_normal": Family(
        key="normal_normal",
        description="Normal data with known variance, Normal prior on the mean",
        params=("mu",),
        settings=normal_normal.Settings,
        simulate=normal_normal.simulate,
        exact=normal_normal.exact_summaries,
        build_model=normal_normal.build_model,
        densities=normal_normal.densities,
        risks=normal_normal.risks,
    ),
}
