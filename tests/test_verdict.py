"""The verdict as an instrument: the exact engine passes everywhere; the pooled tests see what rows miss.

The false-alarm rates and the power are measured by ``benchmarks/calibration.py`` and
``compare.py power`` (scripts, not timed tests); these tests pin the machinery.
"""

import pytest

from models.engines import Sampler
from models.families import FAMILIES
from study.power import DEFECTS
from study.run import StudyConfig, run_study
from tests import budget


@pytest.mark.statistical(1)
@pytest.mark.parametrize("key", list(FAMILIES))
def test_exact_engine_passes_every_test_in_every_family(key):
    """iid draws from the closed forms, the family's default study: every row and pooled test agrees."""
    config = StudyConfig(family=key, sampler="exact", seed=budget.seed(2026), alpha=budget.ALPHA)
    result = run_study(config, log=lambda _: None)
    assert result.rows["agree"].all(), result.failures[["n", "rep", "param", "reason"]].to_dict("records")
    assert result.pooled["agree"].all(), result.pooled_failures.to_dict("records")
    assert len(result.pooled) == 3 * 3 * len(FAMILIES[key].labels(result.config.settings))
    assert result.warnings == []  # the default configuration is long enough for its verdicts


@pytest.mark.statistical(1)
@pytest.mark.parametrize(("defect", "size", "test"), [("mean_shift", 0.04, "mean"), ("sd_scale", 1.03, "sd")])
def test_pooled_tests_catch_what_single_rows_miss(defect, size, test):
    """A mean shift of 0.04 posterior sd, or an sd 3% too wide, in otherwise exact draws.

    Judged at the test budget's alpha (per-row limit 5.8 se, pooled 5.2): per row the shift
    is about 2.5 se and the sd error about 2.7 se, so rows catch them rarely; pooled over 20
    replications the errors stand at about 11 and 12 standard errors, so the pooled test
    fails at every N (a miss at one N needs the pooled z 6 of its sds low).
    """
    engine = Sampler(f"{defect}({size})", "test double", True, "distribution", None, (),
                     DEFECTS[defect].engine(size), needs_problem=True)  # fmt: skip
    config = StudyConfig(sampler=engine.name, seed=budget.seed(77), alpha=budget.ALPHA)
    result = run_study(config, log=lambda _: None, engine=engine)
    pooled = result.pooled.set_index(["test", "n"]).sort_index()
    assert not pooled.loc[test, "agree"].any(), pooled.loc[test].to_dict("records")
    assert (~result.rows["agree"]).mean() < 0.25, result.failures["reason"].tolist()


def test_smallest_detected_size_is_read_on_each_side_of_the_defects_null():
    """A factor defect (null 1) gets its nearest caught size below and above 1; a shift (null 0) one."""
    import pandas as pd

    from study.power import smallest_detected

    rows = [("noise_var_scaled", f, p) for f, p in ((0.8, 1.0), (0.9, 0.95), (1.1, 0.92), (1.25, 1.0))]
    rows += [("mean_shift", k, p) for k, p in ((0.01, 0.6), (0.02, 0.95), (0.05, 1.0))]
    summary = pd.DataFrame(
        [{"model": "m", "defect": d, "kind": "draws", "size": s, "power": p} for d, s, p in rows]
    )
    found = smallest_detected(summary)
    assert found["m", "noise_var_scaled"] == "0.9 and 1.1"
    assert found["m", "mean_shift"] == "0.02"


def test_remembered_densities_are_those_of_the_same_family_settings_and_data():
    """The densities remembered across runs (study.run._densities) are never another data set's or prior's."""
    import dataclasses

    import numpy as np

    from study.run import _densities

    family = FAMILIES["normal_normal"]
    settings = family.settings()
    x = np.array([1.0, 2.5, -0.5])
    first = _densities(family, x, settings)
    assert _densities(family, x.copy(), settings) is first
    for other_x, other_settings in ((x + 1e-12, settings), (x, dataclasses.replace(settings, prior_var=3.0))):
        fresh = family.densities(other_x, other_settings)["mu"]["posterior"]
        remembered = _densities(family, other_x, other_settings)["mu"]["posterior"]
        assert remembered is not first["mu"]["posterior"]
        assert (remembered.mean(), remembered.std()) == (fresh.mean(), fresh.std())
