"""The memo in front of numba's typing fallback: numba's own types, the same fit, and in use."""

from __future__ import annotations

import numba
import numpy as np
import pymc as pm
import pytest
from numba.core.typing.typeof import Purpose, typeof

from models.engines import numba_calls
from models.engines.approximations import fit_averaged


@pytest.fixture
def memo():
    """The memo installed and empty; numba's own fallback back afterwards."""
    numba_calls._types.clear()
    numba_calls.install()
    yield
    numba_calls.uninstall()


def _arguments() -> list[tuple]:
    rng = np.random.default_rng(1)
    square = np.ones((3, 3))
    readonly = np.ones(3)
    readonly.flags.writeable = False
    return [
        (np.ones(3), rng, np.ones(()), np.zeros(3, dtype=np.int8)),
        (square, rng),  # C order
        (square.T, rng),  # Fortran order
        (square[:, ::2], rng),  # neither
        (readonly, rng),
        (np.ones(3, dtype=np.float32), rng),
        (np.ones(3), rng, 1.5),  # a float: numba's own typing
        (np.ones(3), [np.ones(2)]),  # a list: numba's own typing
    ]


def test_the_memo_gives_numbas_own_type_for_every_argument_tuple(memo):
    d = numba.njit(lambda *args: 0)  # a dispatcher; nothing is compiled
    types = []
    for args in _arguments():
        own = typeof(args, Purpose.argument)
        assert d.typeof_pyval(args) == own, args  # computed, then remembered
        assert d.typeof_pyval(args) == own, args  # from the memo
        types.append(own)
    assert len(set(types)) == len(types)  # every layout, dtype and flag above told apart
    assert len(numba_calls._types) == 6  # the tuples of arrays and Generators only


def test_an_advi_fit_is_the_same_with_and_without_the_memo_and_uses_it(monkeypatch):
    with pm.Model() as model:
        mu = pm.Normal("mu", 1, 2, shape=3)
        pm.Normal("x", mu[:, None], 2, observed=np.arange(12.0).reshape(3, 4))
    fits, install = {}, numba_calls.install
    for memo in (False, True):
        numba_calls._types.clear()
        monkeypatch.setattr(numba_calls, "install", install if memo else numba_calls.uninstall)
        approx, errors = fit_averaged(model, "advi", seed=3, draws=50, steps=300, averaged=200)
        fits[memo] = ([p.get_value() for p in approx.params], errors)
        assert bool(numba_calls._types) == memo  # the step function's calls went through it
        numba_calls.uninstall()
    (off, off_errors), (on, on_errors) = fits[False], fits[True]
    assert all(np.array_equal(a, b) for a, b in zip(off, on, strict=True))
    assert off_errors.identical(on_errors)
