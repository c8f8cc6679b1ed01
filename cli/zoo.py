"""``compare.py zoo``: how often the suite, and its peers' methods, catch real bugs of inference libraries."""

from __future__ import annotations

from dataclasses import dataclass

from cli import common
from cli import study as study_cli

NAME = "zoo"
HELP = "the zoo: real, documented bugs of inference libraries, each with its fixed twin, caught or not"
EXAMPLE = """\
examples:
  python compare.py zoo                             # every bug on its own families, 5 seeds each
  python compare.py zoo --bugs stan_2178,pymc_798 --seeds 20 --workers 2
  python compare.py zoo --bugs fab_jax_14 --model binomial_beta --reps 5
  python compare.py zoo --bugs pints_674 --seeds 0 --sbc-seeds 2  # only the SBC peer

Each bug (zoo/, one module per bug, citing its source) runs the study beside its twin, the
same code with the fix, over --seeds study seeds; zoo.csv holds how often the suite's
verdict, PyMC's own sampler fixtures and a 0.25-sd bound on the mean caught the bug, and
how often each failed the twin. With --sbc-seeds each also runs SBC as simuk does at its
defaults (1,000 simulations at the study's smallest N, every draw ranked, ArviZ's
uniformity test at 0.01): the zoo's third peer, about 17 times a study run's fits. Without
--model each bug runs on the families where it shows (python compare.py zoo --list-bugs).
"""


@dataclass
class Plan:
    """A validated zoo run: the study's plan and the bugs to run."""

    study: study_cli.Plan
    bugs: list
    families: str | None
    command_line: str = "compare.py"

    @property
    def args(self):
        """The parsed flags."""
        return self.study.args


def _zoo_flags(p: common.Parser) -> None:
    from study.peer_sbc import SIMS
    from study.zoo import BUGS, DEFAULT_SEEDS

    p.add_argument(
        "--seeds",
        type=common.whole("seeds", 0),
        default=DEFAULT_SEEDS,
        help=f"study seeds per bug, family and variant (default: {DEFAULT_SEEDS})",
    )
    p.add_argument(
        "--sbc-seeds",
        type=common.whole("sbc-seeds", 0),
        default=0,
        help="SBC peer runs per bug, family and variant, seeds --seed onwards (default: 0)",
    )
    p.add_argument(
        "--sbc-sims",
        type=common.whole("sbc-sims", 2),
        default=SIMS,
        help=f"simulations per SBC peer run (default: {SIMS}, simuk's)",
    )
    p.add_argument(
        "--bugs",
        default="all",
        metavar="NAMES",
        help=f"bugs to run: a name, a comma list or 'all'; from: {', '.join(BUGS)}",
    )
    p.add_argument("--list-bugs", action="store_true", help="list the bugs with their sources, and exit")


def build_parser() -> common.Parser:
    """Build the study's parser, with the seeds and the bugs first."""
    return study_cli.build_parser(NAME, HELP, EXAMPLE, extra=_zoo_flags)


def parse(argv: list[str] | None) -> Plan:
    """Parse and validate the zoo command line: without --model, every family a chosen bug runs on."""
    from study.zoo import parse_bugs

    argv = list(argv or [])
    args = build_parser().parse_args(argv)
    if args.list_bugs:
        return Plan(None, [], None)  # type: ignore[arg-type]
    try:
        bugs = parse_bugs(args.bugs)
    except ValueError as err:
        raise common.BadInput(str(err)) from err
    if args.seeds == 0 and args.sbc_seeds == 0:
        raise common.BadInput("--seeds 0 needs --sbc-seeds of at least 1: nothing would run")
    given = any(a == "--model" or a.startswith("--model=") for a in argv)
    families = None
    if not given:
        args.model = ",".join(dict.fromkeys(f for b in bugs for f in b.families))
    else:
        families = args.model
    plan = study_cli.plan(args, NAME)
    return Plan(plan, bugs, families)


def run(plan: Plan) -> int:
    """Run the bugs, print the catch table, write zoo.csv; exit 1 if a run failed."""
    if plan.study is None:
        from zoo import BUGS

        for b in BUGS.values():
            print(f"{b.name:16s} {b.source:32s} {', '.join(b.families)}\n{'':16s} {b.what}")
        return 0
    from study.zoo import plan_units

    args = plan.args
    sbcs, studies = plan_units(
        plan.study.configs, plan.bugs, seeds=args.seeds, families=plan.families,
        sbc_seeds=args.sbc_seeds, sbc_sims=args.sbc_sims,
    )  # fmt: skip
    return common.on_executor(args, lambda executor: _run(plan, executor), units=len(sbcs) + len(studies))


def _run(plan: Plan, executor) -> int:
    from report.zoo import write_zoo, zoo_report
    from study.zoo import run_zoo_study

    args = plan.args
    try:
        result = run_zoo_study(
            plan.study.configs, plan.bugs, seeds=args.seeds, families=plan.families,
            sbc_seeds=args.sbc_seeds, sbc_sims=args.sbc_sims, executor=executor,
        )  # fmt: skip
    except RuntimeError as err:
        common.log(f"error: a zoo run failed: {err}")
        return 1
    report = zoo_report(result)
    write = lambda: write_zoo(report, args.out, plan.command_line)  # noqa: E731
    return 0 if common.show_and_write(report.text, write, args.out) else 2
