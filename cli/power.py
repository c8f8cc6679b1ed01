"""``compare.py power``: how often the study's own verdict catches each defect of a catalogue."""

from __future__ import annotations

from dataclasses import dataclass

from cli import common
from cli import study as study_cli

NAME = "power"
HELP = "the verdict's power: how often it catches each defect of a catalogue, and its false-alarm rate"
EXAMPLE = """\
examples:
  python compare.py power                           # the catalogue on the default study (about 17 min)
  python compare.py power --defects mean_shift,sd_scale --seeds 40
  python compare.py power --model binomial_beta --reps 10 --draws 500

Each defect is injected at several sizes into many runs of the study, each judged by the
study's own verdict; power.csv holds each size's detection probability with its 95%
interval, and the null rows the false-alarm rate of the correct engines.
"""


@dataclass
class Plan:
    """A validated power run: the study's plan and the defects to inject."""

    study: study_cli.Plan
    defects: list
    command_line: str = "compare.py"

    @property
    def args(self):
        """The parsed flags."""
        return self.study.args


def _power_flags(p: common.Parser) -> None:
    from study.power import DEFAULT_SEEDS, DEFECTS

    p.add_argument(
        "--seeds",
        type=common.whole("seeds", 2),
        default=DEFAULT_SEEDS,
        help=f"study seeds per defect and size, and for the null (default: {DEFAULT_SEEDS})",
    )
    p.add_argument(
        "--defects",
        default="all",
        metavar="NAMES",
        help=f"defects to inject: a name, a comma list or 'all'; from: {', '.join(DEFECTS)}",
    )


def build_parser() -> common.Parser:
    """Build the study's parser, with the number of seeds and the defects first."""
    return study_cli.build_parser(NAME, HELP, EXAMPLE, extra=_power_flags)


def parse(argv: list[str] | None) -> Plan:
    """Parse and validate the power command line."""
    from study.power import parse_defects

    plan = study_cli.plan(build_parser().parse_args(argv), NAME)
    return Plan(plan, parse_defects(plan.args.defects, plan.configs))


def run(plan: Plan) -> int:
    """Run the catalogue, print its table, write power.csv and the plot; exit 1 if a run failed."""
    from study.power import power_units

    units = len(power_units(plan.study.configs, plan.defects, seeds=plan.args.seeds))
    return common.on_executor(plan.args, lambda executor: _run(plan, executor), units=units)


def _run(plan: Plan, executor) -> int:
    from report.power import power_report, write_power
    from study.power import run_power_study

    args = plan.args
    try:
        results = run_power_study(
            plan.study.configs, plan.defects, seeds=args.seeds, progress=args.progress, executor=executor
        )
    except RuntimeError as err:
        common.log(f"error: a power run failed: {err}")
        return 1
    report = power_report(results)
    write = lambda: write_power(report, args.out, plan.command_line)  # noqa: E731
    return 0 if common.show_and_write(report.text, write, args.out) else 2
