"""Keep JAX unloaded where a library asks of an array whether it is a JAX array.

arviz_base registers ``jax`` lazily: an unloaded module object in ``sys.modules``. Matplotlib
(for every array it plots) and SciPy's array-API helpers (inside ``stats.binomtest``, for
one) ask whether an array is a JAX array by reading ``sys.modules["jax"].Array``, which
loads the whole of JAX: 0.35 to 0.46 s of a default study that never uses it.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def jax_left_unloaded() -> Iterator[None]:
    """Take the unloaded ``jax`` stub out of ``sys.modules`` for the duration; put it back after.

    It is put back unless JAX was imported meanwhile. Where JAX is loaded already, or was
    never registered lazily, nothing changes.
    """
    stub = sys.modules.get("jax")
    if not isinstance(stub, getattr(importlib.util, "_LazyModule", ())):
        yield
        return
    del sys.modules["jax"]
    try:
        yield
    finally:
        sys.modules.setdefault("jax", stub)
