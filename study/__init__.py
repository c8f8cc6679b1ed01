"""The study: simulate data sets, fit them in one batched run, compare with the closed forms."""
