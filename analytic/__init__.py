"""Closed-form posteriors, MAPs and MLEs of conjugate models (NumPy and SciPy only)."""
