"""Everything that touches PyMC: one model module per family, the family and sampler registries."""
