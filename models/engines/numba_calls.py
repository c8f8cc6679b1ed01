"""Calls into PyTensor's numba functions without numba typing their arguments in Python each time.

PyTensor's numba backend compiles a function as ``numba_funcified_fgraph(*args)``: numba packs
the arguments into one tuple and looks the tuple's type up by a fingerprint it computes in C.
A NumPy ``Generator`` has no fingerprint, so when one of the arguments is a Generator (every
function that draws random numbers: ADVI's optimisation step draws its Monte Carlo samples
each step) numba falls back to typing the whole tuple in Python, element by element, on every
call: about 80 us of a 90 us ADVI step on a small model, most of a 30,000-step fit.

``install()`` puts a memo in front of that fallback: a tuple of plain arrays and Generators is
keyed by what numba's ``typeof`` reads of each (an array's dtype, number of dimensions, C or
Fortran order and whether it is writeable; a Generator's type), and the type numba computed
the first time for that key is returned. Everything else goes to numba's own ``typeof``
unchanged. The same compiled code runs on the same values, so every number stays the same
(``tests/test_numba_calls.py``); ``benchmarks/numba_calls.py`` times an ADVI fit with and without.
"""

from __future__ import annotations

import numpy as np
from numba.core import dispatcher

# Bits of ndarray.flags.num that numba's typeof reads: C_CONTIGUOUS, F_CONTIGUOUS, WRITEABLE.
_LAYOUT_AND_WRITEABLE = 0x1 | 0x2 | 0x400

_numba_typeof_pyval = dispatcher._DispatcherBase.typeof_pyval
_types: dict[tuple, object] = {}


def _key(value: object) -> object:
    kind = type(value)
    if kind is np.ndarray:
        return (value.dtype, value.ndim, value.flags.num & _LAYOUT_AND_WRITEABLE)
    if kind is np.random.Generator:
        return kind
    return None


def _typeof_pyval(self, val):
    """Return numba's ``Dispatcher.typeof_pyval``, remembered for tuples of arrays and Generators."""
    if type(val) is not tuple:
        return _numba_typeof_pyval(self, val)
    key = tuple(map(_key, val))
    if None in key:
        return _numba_typeof_pyval(self, val)
    found = _types.get(key)
    if found is None:  # numba's own adds it to the call's types; the memo keeps it alive for good
        found = _types[key] = _numba_typeof_pyval(self, val)
    return found


def install() -> None:
    """Put the memo in front of numba's typing fallback, in this process (once is enough)."""
    dispatcher._DispatcherBase.typeof_pyval = _typeof_pyval


def uninstall() -> None:
    """Give numba its own fallback back (for the benchmark and the tests)."""
    dispatcher._DispatcherBase.typeof_pyval = _numba_typeof_pyval
