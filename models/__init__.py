"""Everything that touches PyMC: one model module per family, the registries of families and engines.

Same seed, same numbers: PyTensor 3 compiles models with Numba and, by default, with
fast-math flags (``reassoc``, ``contract``, ...) that let LLVM reorder floating-point
sums. A function compiled afresh and the same function loaded from PyTensor's on-disk
cache are inlined differently, so with those flags the first run on a cold cache drew
different numbers from every later run (posterior means up to 0.046 apart on a small
study). With strict IEEE arithmetic the two are bit-identical; the suite turns fast math
off before any model is compiled.
"""

import pytensor

pytensor.config.numba__fastmath = False
