"""``compare.py [study]``: every engine against the exact posterior, per family, N and data set."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

from cli import common
from models.families import FAMILIES

NAME = "study"
HELP = "the fixed-truth study: every engine against the exact posterior (the default)"
EXAMPLE = """\
examples:
  python compare.py                                 # the default study (about 5 s once compiled)
  python compare.py --n 10 30 100 --reps 50 --out results/quick
  python compare.py --prior-mean 0 --prior-var 0.5  # a stronger, more wrong prior
  python compare.py --sampler nuts,advi,find_map    # engines side by side on the same data
  python compare.py --sampler all                   # every available engine (a few minutes)
  python compare.py --list-samplers                 # what each engine is, and whether it is installed

The spreads are variances: --noise-var 5 means x_i ~ Normal(mu, sd = sqrt(5)).
"""


@dataclass
class Plan:
    """A validated study (or power) run: one StudyConfig per family and engine, and the flags."""

    configs: dict[str, list]  # family -> [StudyConfig per engine]
    engines: dict[str, object]  # engine name -> Sampler
    skipped: list[str]
    args: object
    command_line: str = "compare.py"


def build_parser(
    name: str = NAME, description: str = HELP, example: str = EXAMPLE, extra: Callable | None = None
) -> common.Parser:
    """Build the study's command line (power's too, with its own flags first via ``extra``)."""
    p = common.parser(name, description, example)
    if extra is not None:
        extra(p)
    reps = dict(type=common.whole("reps", 1), default=20, help="data sets per sample size (default: 20)")
    common.add_data_flags(p, reps=reps, model_default="normal_normal", model_help=common.FAMILY_HELP)
    common.add_engine_flags(p, cores=True, sampler=name == NAME, prob=True)
    return common.add_tail(p, progress=True)


def plan(args, command: str) -> Plan:
    """Validate parsed flags into StudyConfigs, one per family and engine.

    The run's ``--alpha`` is shared by Bonferroni over the studies judged by the samplers'
    tests (families x such engines); each study's config carries its share.
    """
    from study.run import plan_studies

    models = common.parse_names(args.model, FAMILIES, "model")
    samplers, skipped = common.parse_samplers(
        getattr(args, "sampler", None) or common.DEFAULT_ENGINE[command]
    )
    settings = common.family_settings(models, args)
    common.check_out(args.out)
    # The family's own plots show the first engine that returns draws.
    samplers.sort(key=lambda s: s.kind != "distribution")
    configs = plan_studies(
        settings, samplers, ns=common.sizes(args.n), reps=args.reps, seed=args.seed, draws=args.draws,
        tune=args.tune, chains=args.chains, cores=args.cores, alpha=args.alpha, prob=args.prob,
    )  # fmt: skip
    args.progress = sys.stderr.isatty() if args.progress is None else args.progress
    return Plan(configs, {s.name: s for s in samplers}, skipped, args)


def parse(argv: list[str] | None) -> Plan:
    """Parse and validate the study's command line."""
    return plan(build_parser().parse_args(argv), NAME)


# In this process a study's plots are drawn by the plot workers on the other core while the next
# engine runs, so a cluster pays off only for long runs: 2 units (exact and nutpie on the default
# study) 5.2 s here against 7.5 s on 2 workers, 4 units 10.9 s against 13.2 s, the 8 families
# (--model all) 62.6 s against 54.2 s, on 2 cores.
STUDY_UNITS = 8


def run(plan: Plan) -> int:
    """Run every family and engine, print the tables, write the files; exit 1 if any comparison failed.

    An engine that fails inside its run (raises, or returns what the engine protocol does
    not allow) is listed as failed; the other engines still run and are reported.
    """
    units = sum(len(family_configs) for family_configs in plan.configs.values())
    body = lambda executor: _run(plan, executor)  # noqa: E731
    return common.on_executor(plan.args, body, units=units, least=STUDY_UNITS)


def _run(plan: Plan, executor) -> int:
    from report import plot_pool
    from report.files import EarlyPlots, write_outputs
    from report.terminal import failure_lines, family_report
    from study.aggregate import family_studies
    from study.run import run_studies

    out = plan.args.out
    plot_pool.start_server()  # loads the plotting code on another core while the engines run
    for note in plan.skipped:
        common.log(f"skipping {note}")
    # the plots of each study's draws are drawn while its comparison runs, and each family's own
    # plots as soon as its last study is judged, while the other families' studies run
    firsts = {family: configs[0].sampler for family, configs in plan.configs.items()}
    outcomes: dict = {}
    judged: dict = {}  # family -> its report, printed below in the families' order

    def on_outcome(config, outcome) -> None:
        outcomes[config] = outcome
        family_configs = plan.configs[config.family]
        if all(c in outcomes for c in family_configs):
            studies = family_studies(family_configs, [outcomes[c] for c in family_configs])
            judged[config.family] = family_report(studies)
            early.family(judged[config.family])

    with plot_pool.workers_kept(), EarlyPlots(firsts) as early:
        run_studies(
            [c for fc in plan.configs.values() for c in fc], plan.engines, executor=executor,
            progress=plan.args.progress, on_draws=early, on_outcome=on_outcome,
        )  # fmt: skip
        reports = [judged[family] for family in plan.configs]
        for report in reports:
            print(report.terminal)
        failures = failure_lines(reports)
        written = common.write_and_list(
            lambda: write_outputs(reports, out, command=plan.command_line, failures=failures, early=early),
            out,
        )
    return common.list_failures([line for *_, line in failures]) if written else 2
