"""The zoo: real, documented bugs of inference libraries, each reproduced as a plug-in engine.

Each module is one bug, written the way its library wrote the code, with the bug in it,
beside its twin: the same code with the fix. Each cites its source (repository, issue or
pull request, what was wrong, the fix) in its docstring. They run through the plug-in
path, ``python compare.py --sampler zoo.stan_2178:nuts,zoo.stan_2178:nuts_fixed``.
``zoo.target`` is the model as a hand-written sampler sees it; ``zoo.hmc`` Stan's
Hamiltonian machinery and warm-up, shared by the HMC bugs.
"""
