"""Do an engine's thinned draws make the KS statistics too large? Read the rows a calibration kept.

Draws with dependence left in them after thinning carry less information than their number
says, and ``sqrt(n) D`` of the row KS tests (and of the pooled PIT tests) then grows by the
square root of that shortfall. This reads the ``rows.csv`` and ``pooled.csv`` that
``benchmarks/calibration.py --rows FOLDER`` keeps, turns each p-value back into the
Kolmogorov statistic it came from, and prints its root mean square as a multiple of the
null law's (1 when the KS tests are calibrated, a little under 1 at finite n, whose law sits
just inside Kolmogorov's limit; bootstrap standard error beside it), per
parameter and N, with the share of p-values below 5%, 1% and 0.1%.

    python benchmarks/ks_scale.py FOLDER [FOLDER ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

NULL_MEAN_SQUARE = stats.kstwobign.moment(2)  # E[K^2] of Kolmogorov's limiting law, pi^2 / 12


def scale(k: np.ndarray, *, boot: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Root mean square of ``k`` over the null law's, and its bootstrap standard error."""
    rng = np.random.default_rng(seed)
    ratio = np.sqrt(np.mean(k**2) / NULL_MEAN_SQUARE)
    again = [np.sqrt(np.mean(rng.choice(k, k.size) ** 2) / NULL_MEAN_SQUARE) for _ in range(boot)]
    return float(ratio), float(np.std(again))


def shares(p: np.ndarray) -> str:
    return " / ".join(f"{100 * np.mean(p < level):.3g}%" for level in (0.05, 0.01, 0.001))


def report(title: str, table: pd.DataFrame, k: np.ndarray) -> None:
    ratio, se = scale(k)
    below = shares(table.pvalue)
    print(f"{title}: {len(k)} tests, scale {ratio:.3f} (se {se:.3f}), below 5% / 1% / 0.1%: {below}")
    for (param, n), rows in table.groupby(["param", "n"]):
        r, s = scale(k[rows.index.to_numpy()])
        print(f"  {param} N={n}: scale {r:.3f} (se {s:.3f}), below 5% / 1% / 0.1%: {shares(rows.pvalue)}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs="+", type=Path, help="folders kept with calibration.py --rows")
    args = p.parse_args(argv)
    rows = [f for folder in args.folders for f in sorted(folder.glob("*/rows.csv"))]
    if not rows:
        print("ks_scale.py: no */rows.csv under the folders given", file=sys.stderr)
        return 2
    row = pd.concat([pd.read_csv(f) for f in rows], ignore_index=True)
    row = row[row["ks_pvalue"].notna()].rename(columns={"ks_pvalue": "pvalue"}).reset_index(drop=True)
    report("row KS", row, stats.kstwobign.isf(row["pvalue"].clip(1e-300, 1).to_numpy()))
    pooled = pd.concat([pd.read_csv(f.with_name("pooled.csv")) for f in rows], ignore_index=True)
    pit = pooled[pooled["test"] == "pit"].reset_index(drop=True)
    report("pooled PIT", pit, (pit["statistic"] * np.sqrt(pit["values"])).to_numpy())
    print(f"against its p-values' uniformity (KS): p = {stats.kstest(pit['pvalue'], 'uniform').pvalue:.2g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
