"""``compare.py sbc``: simulation-based calibration, truths drawn from the prior, ranks among the draws."""

from __future__ import annotations

from dataclasses import dataclass

from cli import common
from models.families import FAMILIES

NAME = "sbc"
HELP = "simulation-based calibration: truths drawn from the prior, ranks among the draws, over every N"
EXAMPLE = """\
examples:
  python compare.py sbc                             # NUTS on normal_normal, 1000 sims per N (about 2 min)
  python compare.py sbc --sampler exact,nuts --sims 200 --model all
  python compare.py sbc --model binomial_beta --set prior_a=0.5 --set prior_b=0.5   # Jeffreys' prior
  python compare.py sbc --model all --sims 200 --workers 2                          # on a local Dask cluster
  python compare.py sbc --scheduler tcp://10.0.0.5:8786                             # on an existing cluster

What a run costs (this 2-core machine, one process): NUTS fits about 40 ms per simulation
on normal_normal (1000 sims at 3 N: about 2 min), more on families with more parameters;
the exact engine about 15 ms; each quantity's ranks about 12 ms per simulation.
Random-walk engines (metropolis, slice, demetropolis, SMC) cost several times NUTS.
Each simulation draws its parameter from the prior and a data set from it; the truth's
rank among the (thinned) posterior draws must be uniform. sbc.csv holds one row per
simulation and quantity, sbc_tests.csv every test with its p-value and verdict.
"""


@dataclass
class Plan:
    """A validated SBC run: one (SbcConfig, engine) job per family and engine, and the flags."""

    jobs: list
    skipped: list[str]
    args: object
    command_line: str = "compare.py"


def build_parser() -> common.Parser:
    """SBC's command line: simulations and blocks, then the shared flags (no --reps, --cores or --prob)."""
    from study.sbc import DEFAULT_BLOCK, DEFAULT_SIMS

    p = common.parser(NAME, HELP, EXAMPLE)
    p.add_argument(
        "--sims",
        type=common.whole("sims", 2),
        default=DEFAULT_SIMS,
        help=f"simulations per sample size, each a truth from the prior and a data set (default: "
        f"{DEFAULT_SIMS}; see below for what a run costs)",
    )
    p.add_argument(
        "--block",
        type=common.whole("block", 1),
        default=DEFAULT_BLOCK,
        help=f"simulations fitted together in one batched model, one work unit each (default: "
        f"{DEFAULT_BLOCK}, measured by benchmarks/sbc.py); part of the run's definition: the same "
        "flags give the same numbers",
    )
    common.add_data_flags(p, reps=None, model_default="normal_normal", model_help=common.FAMILY_HELP)
    common.add_engine_flags(p, cores=False, sampler=True, prob=False)
    return common.add_tail(p, progress=True)


def parse(argv: list[str] | None) -> Plan:
    """Parse and validate the sbc command line into (SbcConfig, engine) jobs."""
    from study.sbc import SbcConfig

    args = build_parser().parse_args(argv)
    models = common.parse_names(args.model, FAMILIES, "model")
    args.sampler = args.sampler or common.DEFAULT_ENGINE[NAME]
    samplers, skipped = common.parse_samplers(args.sampler)
    points = [s for s in samplers if s.kind != "distribution"]
    if points and args.sampler.strip() != "all":
        raise common.BadInput(
            f"sampler {points[0].name!r} returns a point, not draws; SBC ranks the truth among draws"
        )
    skipped += [f"{s.name} (a point estimate: SBC needs draws)" for s in points]
    samplers = [s for s in samplers if s.kind == "distribution"]
    settings = common.family_settings(models, args)
    common.check_out(args.out)
    jobs = [
        (
            SbcConfig(
                family=key, sampler=s.name, ns=common.sizes(args.n), sims=args.sims, seed=args.seed,
                draws=args.draws, tune=args.tune, chains=args.chains, block=args.block,
                settings=settings[key],
            ),
            s,
        )
        for key in models
        for s in samplers
    ]  # fmt: skip
    return Plan(jobs, skipped, args)


def run(plan: Plan) -> int:
    """Run the simulations, the rank tests, the tables and files; exit 1 if a judged test fails."""
    units = sum(len(config.ns) * len(config.blocks()) for config, _ in plan.jobs)
    return common.on_executor(plan.args, lambda executor: _run(plan, executor), units=units)


def _run(plan: Plan, executor) -> int:
    from report.sbc import sbc_report, write_sbc
    from study.sbc import run_all
    from study.sbc_verdict import judge

    args = plan.args
    for note in plan.skipped:
        common.log(f"skipping {note}")
    total = sum(c.sims * len(c.ns) for c, _ in plan.jobs)
    common.log(f"SBC of {len(plan.jobs)} family x engine pair(s), {total} simulations in all")
    results, failures = run_all(plan.jobs, executor=executor)
    report = sbc_report(judge(results, args.alpha), failures)
    write = lambda: write_sbc(report, args.out, plan.command_line)  # noqa: E731
    if not common.show_and_write(report.text, write, args.out):
        return 2
    return common.list_failures(report.failure_lines())
