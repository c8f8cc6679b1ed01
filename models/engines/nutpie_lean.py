"""Nutpie's compilation with lean numba callbacks: the same sampler, two seconds less to start.

``nutpie.compile_pymc_model`` compiles the model's log density and gradient with
PyTensor's numba backend (cached on disk by PyTensor, so a second run loads them) and then
wraps each in a numba C callback that copies its results into nutpie's buffers. Those two
callbacks close over the model, so numba compiles them anew in every process, and the way
nutpie's copy them (``out[...] = grad``, a 0-d array stored into a scalar,
``np.all(np.isfinite(out))``) pulls in numba's general fancy-indexing and broadcasting
code: 2.8 to 3.3 s of the 3.6 s compile of the default study here. The callbacks below do
the same work with element loops and compile in about 0.4 s; they return the same codes
(-1 wrong dimension, 1 an exception, 3 a non-finite gradient, 4 a non-finite log density).

Everything else (the PyTensor functions, the initial points, the sampler, its seeding and
its draws) is nutpie's own: ``tests/test_nutpie_lean.py`` checks that the draws equal
those of ``nutpie.compile_pymc_model`` bit for bit. Should a nutpie release rename the two
private factories replaced here, :func:`compile_pymc_model` falls back to nutpie's own.

Importing this module imports nutpie without ArviZ's plotting (``_ArvizBase``).
"""

from __future__ import annotations

import math
import sys
import types
from contextlib import contextmanager

import numba


class _ArvizBase(types.ModuleType):
    """The ``arviz`` nutpie is imported with: arviz_base's names, the rest of ArviZ only when read.

    nutpie's ``import arviz`` imports ArviZ's plotting and Matplotlib with it (0.3 s), only
    to call ``arviz.from_dict`` and ``arviz.dict_to_dataset``, which are arviz_base's own
    functions under the ``arviz`` namespace. nutpie is imported with this module standing
    in for ``arviz``; every other importer gets the real one.
    """

    def __getattr__(self, name: str):
        import arviz_base

        if hasattr(arviz_base, name):
            return getattr(arviz_base, name)
        import arviz

        return getattr(arviz, name)


if "nutpie" not in sys.modules and "arviz" not in sys.modules:
    sys.modules["arviz"] = _ArvizBase("arviz")
    try:
        import nutpie
    finally:
        if isinstance(sys.modules.get("arviz"), _ArvizBase):
            del sys.modules["arviz"]
import nutpie  # noqa: E402
import nutpie.compile_pymc as nutpie_compile  # noqa: E402

_LOGP_SIGNATURE = numba.types.int64(
    numba.types.uint64,
    numba.types.CPointer(numba.types.double),
    numba.types.CPointer(numba.types.double),
    numba.types.CPointer(numba.types.double),
    numba.types.voidptr,
)
_EXPAND_SIGNATURE = numba.types.int64(
    numba.types.uint64,
    numba.types.uint64,
    numba.types.CPointer(numba.types.double),
    numba.types.CPointer(numba.types.double),
    numba.types.voidptr,
)
_FACTORIES = ("_make_c_logp_func", "_make_c_expand_func", "make_extraction_fn")


def _logp_callback(n_dim, logp_fn, user_data, shared_keys, shared_data):
    """Return nutpie's log-density callback (log p and its gradient into nutpie's buffers) and its C type."""
    extract = nutpie_compile.make_extraction_fn(logp_fn, shared_data, shared_keys, user_data.dtype)

    def logp_numba(dim, x_, out_, logp_, user_data_):
        if dim != n_dim:
            return -1
        try:
            x = numba.carray(x_, (n_dim,))
            logp_val, grad = extract(x, user_data_)
            value = logp_val.item()
            logp_[0] = value
            finite = True
            for i in range(n_dim):
                g = grad[i]
                out_[i] = g
                if not math.isfinite(g):
                    finite = False
            if not finite:
                return 3
            if not math.isfinite(value):
                return 4
        except Exception:  # noqa: BLE001 (nutpie's contract: an error code, never an exception)
            return 1
        return 0

    return logp_numba, _LOGP_SIGNATURE


def _expand_callback(n_dim, n_expanded, expand_fn, user_data, shared_keys, shared_data):
    """Return nutpie's expand callback (every stored value from the unconstrained point) and its C type."""
    extract = nutpie_compile.make_extraction_fn(expand_fn, shared_data, shared_keys, user_data.dtype)

    def expand_numba(dim, expanded, x_, out_, user_data_):
        if dim != n_dim or expanded != n_expanded:
            return -1
        try:
            x = numba.carray(x_, (n_dim,))
            (values,) = extract(x, user_data_)
            for i in range(n_expanded):
                out_[i] = values[i]
        except Exception:  # noqa: BLE001
            return -2
        return 0

    return expand_numba, _EXPAND_SIGNATURE


def lean_available() -> bool:
    """Whether this nutpie has the private factories the lean callbacks replace."""
    return all(hasattr(nutpie_compile, name) for name in _FACTORIES)


@contextmanager
def _lean_callbacks():
    saved = (nutpie_compile._make_c_logp_func, nutpie_compile._make_c_expand_func)
    nutpie_compile._make_c_logp_func, nutpie_compile._make_c_expand_func = _logp_callback, _expand_callback
    try:
        yield
    finally:
        nutpie_compile._make_c_logp_func, nutpie_compile._make_c_expand_func = saved


def compile_pymc_model(model, **kwargs):
    """``nutpie.compile_pymc_model(model, **kwargs)`` with the lean callbacks where this nutpie allows."""
    if kwargs.get("backend", "numba") != "numba" or not lean_available():
        return nutpie.compile_pymc_model(model, **kwargs)
    with _lean_callbacks():
        return nutpie.compile_pymc_model(model, **kwargs)
