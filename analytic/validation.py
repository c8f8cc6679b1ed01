"""Input checks shared by the closed forms: each raises ``ValueError`` naming the problem."""

from __future__ import annotations

import numbers

import numpy as np


def finite(name: str, value) -> np.ndarray:
    """Return ``value`` as a float array, or raise if it is not numeric or not finite."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return arr


def positive(name: str, value) -> np.ndarray:
    """Return ``value`` as a float array, or raise unless it is finite and > 0."""
    arr = finite(name, value)
    if not np.all(arr > 0):
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return arr


def sample_size(name: str, value) -> int:
    """Return ``value`` as an int, or raise unless it is a whole number >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral | float | np.floating):
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    if not np.isfinite(value) or value != int(value) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    return int(value)


def observations(name: str, value) -> np.ndarray:
    """Return a data array of shape ``(..., n)`` with n >= 1 and finite entries."""
    arr = finite(name, value)
    if arr.ndim == 0 or arr.shape[-1] < 1:
        raise ValueError(f"{name} must have at least one observation on its last axis")
    return arr
