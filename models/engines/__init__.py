"""Inference engines: the protocol, every built-in adapter, the registry, and engines from outside.

- ``protocol``: the engine protocol, ``Sampler`` (what the registry says of an engine),
  ``Problem`` and the helpers every adapter shares;
- ``pymc_steps``: PyMC's NUTS, Metropolis, slice, DEMetropolisZ and SMC;
- ``external``: nutpie (compiled through ``nutpie_lean``) and NumPyro;
- ``approximations``: ADVI, full-rank ADVI, Laplace, find_MAP;
- ``exact``: iid draws from the closed forms, the control;
- ``numba_calls``: a memo of numba's typing of a call's arguments, which the ADVI fits install
  (each step's call holds a NumPy Generator, which numba otherwise types in Python);
- ``registry``: ``SAMPLERS``, every built-in engine by name;
- ``plugins``: engines from outside (``module:callable``, entry points) and the checks of
  what any engine returns.

This folder is where PyMC's inference is called; the study only goes through
``plugins.run_engine``.
"""

from models.engines.protocol import Engine, Problem, Sampler, map_groups
from models.engines.registry import SAMPLERS

__all__ = ["SAMPLERS", "Engine", "Problem", "Sampler", "map_groups"]
