#!/usr/bin/env python
"""Compare PyMC's inference engines with the exact conjugate posterior, over sample sizes and data sets.

Subcommands: ``study`` (the default: the fixed-truth study), ``power`` (how often the
same verdict catches a catalogue of real defects), ``sbc`` (simulation-based
calibration over the whole prior) and ``gradients`` (variational inference: the ELBO's
gradient estimators, the beta-weighted ELBO, Gumbel-softmax). Exit status: 0 when every comparison
agrees, 1 when one fails (listed), 2 for bad input (one line, nothing written).
"""

from __future__ import annotations

import gc

# Building and compiling PyTensor graphs allocates millions of small, long-lived objects;
# at Python's default thresholds the cyclic collector ran 1,137 times in a default study,
# 7 of them full collections of about 0.11 s each: 1.0 s of a 10 s run. Collecting less
# often keeps the same memory bound in practice and changes no result.
gc.set_threshold(50_000, 20, 100)

import sys  # noqa: E402

COMMANDS = {
    "study": "the fixed-truth study: every engine against the exact posterior (the default)",
    "power": "the verdict's power: how often it catches each defect of a catalogue, and its false-alarm rate",
    "sbc": "simulation-based calibration: truths drawn from the prior, ranks among the draws, over every N",
    "gradients": "variational inference against exact answers: ELBO gradient estimators, the beta-weighted "
    "ELBO, Gumbel-softmax",
}


def _runs_a_study(argv: list[str]) -> bool:
    """Whether this command line runs the study (as ``main`` dispatches it; not help or a listing)."""
    listing = {"-h", "--help", "--list-samplers", "--list-models"}
    command = argv[0] if argv and argv[0] in COMMANDS else "study"
    return command == "study" and not listing & set(argv)


if __name__ == "__main__" and _runs_a_study(sys.argv[1:]):
    # A study: start the plot workers' server now, so that it loads the plotting code on the
    # other core while this process imports PyMC, compiles and samples (report/plot_pool.py).
    from report import plot_pool

    plot_pool.start_server()

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import shlex  # noqa: E402
from pathlib import Path  # noqa: E402

from models.engines import SAMPLERS, Sampler  # noqa: E402
from models.families import FAMILIES  # noqa: E402

POWER_EXAMPLE = """\
examples:
  python compare.py power                           # the catalogue on the default study (about 11 min)
  python compare.py power --defects mean_shift,sd_scale --seeds 40
  python compare.py power --model binomial_beta --reps 10 --draws 500

Each defect is injected at several sizes into many runs of the study, each judged by the
study's own verdict; power.csv holds each size's detection probability with its 95%
interval, and the null rows the false-alarm rate of the correct engines.
"""

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


SBC_EXAMPLE = """\
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

GRADIENTS_EXAMPLE = """\
examples:
  python compare.py gradients                       # the three Gaussian families (about 7 min)
  python compare.py gradients --model normal_normal --n 10 100 1000 --samples 1 10
  python compare.py gradients --model linear_regression --set coefficients=3 --reps 2000

For each family with a Gaussian posterior, N and one simulated data set, a Gaussian q is
put at the ELBO's maximum and off it (mean moved by 1 and 3 posterior sd, sd halved and
doubled); each estimator of the ELBO's gradient (score function with and without the
optimal baseline, PyMC's ADVI pathwise gradient, sticking the landing) is repeated --reps
times with --samples draws and compared with the exact gradient and exact variance.
gradients.csv holds every row, beta_elbo.csv the beta-weighted fits against the tempered
posterior, gumbel.csv the categorical-latent estimators against temperature.
"""


# The engine each subcommand runs without --sampler. The study's is nutpie: NUTS on the same
# PyMC model, its Rust sampler 0.1 to 0.3 s where PyMC's Python one takes 2.4 s on the
# default study (docs/speed.md). Power and SBC keep PyMC's NUTS, the engine their measured
# false-alarm and power figures were obtained with.
DEFAULT_ENGINE = {"study": "nutpie", "power": "nuts", "sbc": "nuts"}


class BadInput(Exception):
    """Input the study cannot run with; reported in one line with exit status 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit with status 2."""

    def error(self, message: str):  # noqa: D102
        raise BadInput(message)


def _whole(name: str, minimum: int):
    def parse(text: str) -> int:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {text!r}") from None
        if not math.isfinite(value) or value != int(value):
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {text!r}")
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{name} must be >= {minimum}, got {text!r}")
        return int(value)

    return parse


def _number(name: str, *, positive: bool = False, below_one: bool = False):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{name} must be finite, got {text!r}")
        if positive and value <= 0:
            raise argparse.ArgumentTypeError(f"{name} must be > 0, got {text!r}")
        if below_one and not value < 1:
            raise argparse.ArgumentTypeError(f"{name} must be < 1, got {text!r}")
        return value

    return parse


def build_parser(command: str = "study") -> Parser:
    """Build one subcommand's command line: the shared flags, with the default experiment's values."""
    from study.gradients import DEFAULT_REPS, DEFAULT_SAMPLES
    from study.power import DEFAULT_SEEDS, DEFECTS
    from study.sbc import DEFAULT_BLOCK, DEFAULT_SIMS

    p = Parser(
        prog=f"compare.py {command}",
        description=COMMANDS[command],
        epilog={"study": EXAMPLE, "power": POWER_EXAMPLE, "sbc": SBC_EXAMPLE, "gradients": GRADIENTS_EXAMPLE}[
            command
        ],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sampling = command not in ("gradients",)
    if command == "gradients":
        p.add_argument(
            "--samples",
            nargs="+",
            type=_whole("samples", 1),
            default=list(DEFAULT_SAMPLES),
            metavar="S",
            help="Monte Carlo samples per gradient estimate (default: 1 10 100)",
        )
        p.add_argument(
            "--weights",
            nargs="+",
            type=_number("weight", positive=True),
            default=None,
            metavar="W",
            help="weights w of the likelihood in the beta-weighted ELBO, each fitted 6 times "
            "(default: 0.5 1 2 5)",
        )
    if command == "sbc":
        p.add_argument(
            "--sims",
            type=_whole("sims", 2),
            default=DEFAULT_SIMS,
            help=f"simulations per sample size, each a truth from the prior and a data set (default: "
            f"{DEFAULT_SIMS}; see below for what a run costs)",
        )
        p.add_argument(
            "--block",
            type=_whole("block", 1),
            default=DEFAULT_BLOCK,
            help=f"simulations fitted together in one batched model, one work unit each (default: "
            f"{DEFAULT_BLOCK}, measured by benchmarks/sbc.py); part of the run's definition: the same "
            "flags give the same numbers",
        )
    if command == "power":
        p.add_argument(
            "--seeds",
            type=_whole("seeds", 2),
            default=DEFAULT_SEEDS,
            help=f"study seeds per defect and size, and for the null (default: {DEFAULT_SEEDS})",
        )
        p.add_argument(
            "--defects",
            default="all",
            metavar="NAMES",
            help=f"defects to inject: a name, a comma list or 'all'; from: {', '.join(DEFECTS)}",
        )
    p.add_argument(
        "--n",
        nargs="+",
        type=_whole("N", 1),
        default=[10, 100, 1000],
        metavar="N",
        help="sample sizes (default: 10 100 1000)",
    )
    if command == "gradients":
        p.add_argument(
            "--reps",
            type=_whole("reps", 10),
            default=DEFAULT_REPS,
            help=f"repeated estimates per row, for the mean and variance (default: {DEFAULT_REPS})",
        )
    elif command != "sbc":
        p.add_argument(
            "--reps", type=_whole("reps", 1), default=20, help="data sets per sample size (default: 20)"
        )
    p.add_argument("--seed", type=_whole("seed", 0), default=2026, help="study seed (default: 2026)")
    if command == "gradients":
        p.add_argument(
            "--model",
            default="all",
            metavar="KEYS",
            help="families with a Gaussian posterior: a key, a comma list or 'all' (default: all: "
            "normal_normal, multivariate_normal_known_cov, linear_regression)",
        )
    else:
        p.add_argument(
            "--model",
            default="normal_normal",
            metavar="KEYS",
            help=f"conjugate family(ies): a key, a comma list or 'all'; from: {', '.join(FAMILIES)} "
            "(default: normal_normal)",
        )
    p.add_argument(
        "--list-models", action="store_true", help="list the families with their settings, and exit"
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a family's truth or prior, e.g. --set true_p=0.1 --set prior_a=5 (see --list-models)",
    )
    p.add_argument(
        "--true-mean", type=_number("true mean"), default=None, help="normal_normal: true mu (default: 2)"
    )
    p.add_argument(
        "--noise-var",
        type=_number("noise variance", positive=True),
        default=None,
        help="normal_normal: known noise variance sigma^2 (default: 5)",
    )
    p.add_argument(
        "--prior-mean",
        type=_number("prior mean"),
        default=None,
        help="normal_normal: prior mean nu (default: 1)",
    )
    p.add_argument(
        "--prior-var",
        type=_number("prior variance", positive=True),
        default=None,
        help="normal_normal: prior variance beta^2 (default: 2)",
    )
    if not sampling:
        return _tail(p, command)
    p.add_argument("--draws", type=_whole("draws", 1), default=1000, help="draws per chain (default: 1000)")
    p.add_argument(
        "--tune", type=_whole("tune", 0), default=1000, help="tuning steps per chain (default: 1000)"
    )
    p.add_argument("--chains", type=_whole("chains", 1), default=4, help="chains (default: 4)")
    if command != "sbc":
        p.add_argument(
            "--cores",
            type=_whole("cores", 1),
            default=1,
            help="processes for the chains (default: 1; one batched model is faster in one process)",
        )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=_whole("workers", 1),
        default=None,
        help="run the work units (families x engines; SBC blocks; power runs) on a local Dask cluster of "
        "this many worker processes (default: in this process); the results do not depend on it",
    )
    where.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run the work units on an existing Dask cluster (started with 'dask scheduler' and "
        "'dask worker ADDRESS', with this project importable on the workers)",
    )
    if command in ("study", "sbc"):
        p.add_argument(
            "--sampler",
            default=None,
            metavar="NAMES",
            help=f"engine(s): a name, a comma list or 'all'; from: {', '.join(SAMPLERS)} (default: nutpie "
            "for the study, nuts for sbc)",
        )
    p.add_argument(
        "--list-samplers", action="store_true", help="list the engines with their availability, and exit"
    )
    if command != "sbc":
        p.add_argument(
            "--prob",
            type=_number("prob", positive=True, below_one=True),
            default=0.95,
            help="probability of the posterior intervals whose coverage is reported (default: 0.95)",
        )
    return _tail(p, command)


def _tail(p: Parser, command: str) -> Parser:
    """Add the flags every subcommand ends with: the run's alpha, the output folder and progress."""
    p.add_argument(
        "--alpha",
        type=_number("alpha", positive=True, below_one=True),
        default=0.01,
        help="false-alarm probability of the whole run's agreement tests, shared by Bonferroni over "
        "its rows, pooled tests, families and engines (default: 0.01)",
    )
    p.add_argument("--out", type=Path, default=Path("results"), help="output folder (default: results)")
    if command == "gradients":  # no sampler runs, so no progress bar to show
        return p
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show PyMC's progress bar (default: when the terminal is interactive)",
    )
    return p


def check_out(out: Path) -> None:
    """Raise BadInput unless ``out`` is, or can be created as, a writable folder."""
    if out.exists() and not out.is_dir():
        raise BadInput(f"output path {str(out)!r} exists and is not a folder")
    parent = out
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise BadInput(f"output path {str(out)!r} lies under {str(parent)!r}, which is a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BadInput(f"output folder {str(parent)!r} is not writable")


def parse_samplers(text: str) -> tuple[list[Sampler], list[str]]:
    """Engines named by ``--sampler``, and the skipped ones.

    A name is a registry key, an engine an installed package announces (entry point
    ``conjugate_check.samplers``) or ``module.path:callable``; several go in a comma list;
    'all' means every available built-in and announced engine and reports the others as
    skipped. Naming an unavailable engine, or one that cannot be loaded, is bad input.
    """
    from models.engines.plugins import PluginError, entry_points, load_entry_point, resolve

    if text.strip() == "all":
        chosen = [s for s in SAMPLERS.values() if s.available]
        skipped = [f"{n} (unavailable: {s.install_hint})" for n, s in SAMPLERS.items() if not s.available]
        for ep in entry_points().values():
            try:
                chosen.append(load_entry_point(ep))
            except PluginError as err:
                skipped.append(f"{ep.name} ({err})")
        return chosen, skipped
    names = list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if not names:
        raise BadInput("--sampler needs at least one name")
    chosen = []
    for name in names:
        try:
            sampler = resolve(name)
        except PluginError as err:
            raise BadInput(str(err)) from None
        if not sampler.available:
            raise BadInput(f"sampler {name!r} is unavailable here; install it with: {sampler.install_hint}")
        if sampler.name in {s.name for s in chosen}:
            raise BadInput(f"two engines of this run are named {sampler.name!r}; give one another name")
        chosen.append(sampler)
    return chosen, []


def parse_names(text: str, registry: dict, what: str) -> list[str]:
    """Keys named by a flag: one key, a comma list or 'all'."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    if names == ["all"]:
        return list(registry)
    if not names:
        raise BadInput(f"--{what} needs at least one name")
    for name in names:
        if name not in registry:
            raise BadInput(f"unknown {what} {name!r}; choose from: {', '.join(registry)} or all")
    return list(dict.fromkeys(names))


def family_settings(models: list[str], args) -> dict[str, object]:
    """Each family's Settings, from its defaults, the --set pairs and the normal_normal shortcuts."""
    pairs = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise BadInput(f"--set needs NAME=VALUE, got {item!r}")
        try:
            pairs[name.strip()] = _number(name.strip())(value)
        except argparse.ArgumentTypeError as err:
            raise BadInput(str(err)) from None
    shortcuts = {"true_mean": args.true_mean, "noise_var": args.noise_var, "prior_mean": args.prior_mean,
                 "prior_var": args.prior_var}  # fmt: skip
    shortcuts = {k: v for k, v in shortcuts.items() if v is not None}
    if shortcuts and "normal_normal" not in models:
        raise BadInput("--true-mean, --noise-var, --prior-mean and --prior-var apply to normal_normal only")
    settings, used = {}, set()
    for key in models:
        fields = {f.name for f in dataclasses.fields(FAMILIES[key].settings)}
        given = {k: v for k, v in pairs.items() if k in fields}
        if key == "normal_normal":
            given |= shortcuts
        used |= set(given)
        settings[key] = FAMILIES[key].settings(**given)
    unknown = sorted(set(pairs) - used)
    if unknown:
        raise BadInput(f"--set {unknown[0]!r} is not a setting of {', '.join(models)} (see --list-models)")
    return settings


def parse(argv: list[str] | None, command: str = "study"):
    """Parse and validate the command line into StudyConfigs (one per family and engine) and the output.

    The run's ``--alpha`` is shared by Bonferroni over the studies judged by the samplers'
    tests (families x such engines); each study's config carries its share.
    """
    from study.run import StudyConfig

    args = build_parser(command).parse_args(argv)
    models = parse_names(args.model, FAMILIES, "model")
    samplers, skipped = parse_samplers(getattr(args, "sampler", None) or DEFAULT_ENGINE[command])
    settings = family_settings(models, args)
    check_out(args.out)
    # The family's own plots show the first engine that returns draws.
    samplers.sort(key=lambda s: s.kind != "distribution")
    tested = len(models) * sum(s.check == "sampler" for s in samplers)
    common = dict(
        ns=tuple(dict.fromkeys(sorted(args.n))),
        reps=args.reps,
        seed=args.seed,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        cores=args.cores,
        alpha=args.alpha / max(tested, 1),
        prob=args.prob,
        studies_in_run=max(tested, 1),
    )
    configs = {
        key: [StudyConfig(family=key, sampler=s.name, settings=settings[key], **common) for s in samplers]
        for key in models
    }
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    return configs, {s.name: s for s in samplers}, skipped, args, progress


def parse_sbc(argv: list[str] | None):
    """Parse and validate the sbc command line into (SbcConfig, engine) jobs, skipped engines and the args."""
    from study.sbc import SbcConfig

    args = build_parser("sbc").parse_args(argv)
    models = parse_names(args.model, FAMILIES, "model")
    args.sampler = args.sampler or DEFAULT_ENGINE["sbc"]
    samplers, skipped = parse_samplers(args.sampler)
    points = [s for s in samplers if s.kind != "distribution"]
    if points and args.sampler.strip() != "all":
        raise BadInput(
            f"sampler {points[0].name!r} returns a point, not draws; SBC ranks the truth among draws"
        )
    skipped += [f"{s.name} (a point estimate: SBC needs draws)" for s in points]
    samplers = [s for s in samplers if s.kind == "distribution"]
    settings = family_settings(models, args)
    check_out(args.out)
    jobs = [
        (
            SbcConfig(
                family=key, sampler=s.name, ns=tuple(dict.fromkeys(sorted(args.n))), sims=args.sims,
                seed=args.seed, draws=args.draws, tune=args.tune, chains=args.chains, block=args.block,
                settings=settings[key],
            ),
            s,
        )
        for key in models
        for s in samplers
    ]  # fmt: skip
    return jobs, skipped, args


def parse_gradients(argv: list[str] | None):
    """Parse and validate the gradients command line into a GradientConfig and the args."""
    from study.gradients import GradientConfig, gaussian_families

    args = build_parser("gradients").parse_args(argv)
    gaussian = gaussian_families()
    if args.model.strip() == "all":
        models = gaussian
    else:
        models = parse_names(args.model, FAMILIES, "model")
        other = [m for m in models if m not in gaussian]
        if other:
            raise BadInput(
                f"model {other[0]!r} has no Gaussian posterior; gradients needs one of: {', '.join(gaussian)}"
            )
    settings = family_settings(models, args)
    check_out(args.out)
    config = GradientConfig(
        families=tuple(models),
        settings=settings,
        ns=tuple(dict.fromkeys(sorted(args.n))),
        samples=tuple(dict.fromkeys(sorted(args.samples))),
        reps=args.reps,
        seed=args.seed,
        weights=tuple(dict.fromkeys(sorted(args.weights))) if args.weights else GradientConfig.weights,
    )
    return config, args


def run_gradients_command(config, args) -> int:
    """Run the gradients subcommand: estimators, beta-ELBO, Gumbel-softmax; exit 1 if a check fails."""
    from report.gradients import gradients_report, write_gradients
    from study.gradients import judge, judge_beta, run_beta_elbo, run_gradients, run_gumbel

    def log(msg: str) -> None:
        print(f"compare.py: {msg}", file=sys.stderr, flush=True)

    # one alpha for the run: half to the gradient rows, half to the beta-ELBO fits
    gradients = judge(run_gradients(config, log), args.alpha / 2)
    beta = judge_beta(run_beta_elbo(config, log), args.alpha / 2)
    gumbel = run_gumbel(config)
    report = gradients_report(gradients, beta, gumbel, args.alpha)
    record = {
        "families": list(config.families),
        "ns": list(config.ns),
        "samples": list(config.samples),
        "reps": config.reps,
        "seed": config.seed,
        "settings": {k: dataclasses.asdict(v) for k, v in config.settings.items()},
    }
    write = lambda: write_gradients(report, args.out, record, args.command_line)  # noqa: E731
    if not show_and_write(report.text, write, args.out):
        return 2
    return _list_failures(report.failure_lines(), shown=20)


def top_help() -> str:
    """Return the top-level help: the subcommands, then the default subcommand's flags."""
    lines = [
        "usage: compare.py [SUBCOMMAND] [flags]",
        "",
        __doc__.splitlines()[0],
        "",
        "subcommands:",
        *(f"  {name:<8} {text}" for name, text in COMMANDS.items()),
        "",
        "With no subcommand, compare.py runs 'study'. 'compare.py SUBCOMMAND --help' lists its flags.",
        "",
        build_parser("study").format_help(),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run a subcommand; return 0 if every comparison agrees, 1 if any disagrees, 2 for bad input."""
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] in ("-h", "--help"):
        print(top_help())
        return 0
    command_line = shlex.join(["python", "compare.py", *argv])
    command, argv = (argv[0], argv[1:]) if argv and argv[0] in COMMANDS else ("study", argv)
    if "--list-samplers" in argv or "--list-models" in argv:
        from report.tables import engine_list, family_list

        print(engine_list() if "--list-samplers" in argv else family_list())
        return 0
    from study.units import Executor

    if command == "gradients":
        try:
            config, args = parse_gradients(argv)
        except (BadInput, ValueError) as err:
            print(f"compare.py: error: {err}", file=sys.stderr)
            return 2
        args.command_line = command_line
        return run_gradients_command(config, args)
    try:
        if command == "sbc":
            jobs, skipped, args = parse_sbc(argv)
        else:
            configs, engines, skipped, args, progress = parse(argv, command)
        if command == "power":
            from study.power import parse_defects

            defects = parse_defects(args.defects, configs)
        executor = Executor(workers=args.workers, scheduler=args.scheduler).start()
    except (BadInput, ValueError) as err:
        print(f"compare.py: error: {err}", file=sys.stderr)
        return 2
    args.command_line = command_line
    with executor:
        if args.workers or args.scheduler:
            print(f"compare.py: work units run on {executor.where}", file=sys.stderr)
            progress = False
        if command == "sbc":
            return run_sbc_command(jobs, skipped, args, executor)
        if command == "power":
            return run_power(configs, defects, args, progress, executor)
        return run_study_command(configs, engines, skipped, args.out, progress, executor, args.command_line)


def write_or_fail(write, out: Path) -> list[Path] | None:
    """Call ``write()``; on an OSError print the one-line error and return None."""
    try:
        return write()
    except OSError as err:
        print(
            f"compare.py: error: cannot write outputs to {str(out)!r}: {err.strerror or err}", file=sys.stderr
        )
        return None


def show_and_write(text: str, write, out: Path) -> bool:
    """Print a subcommand's text, write its files with ``write()`` and list them; False if writing failed."""
    print(text)
    print(f"\nwriting outputs to {out}/ ...", file=sys.stderr)
    written = write_or_fail(write, out)
    if written is None:
        return False
    print(f"\nwrote {len(written)} files to {out}/: " + ", ".join(p.name for p in written))
    return True


def run_sbc_command(jobs, skipped, args, executor) -> int:
    """Run the sbc subcommand: simulations, tests, tables and files; exit 1 if a judged test fails."""
    from report.sbc import sbc_report, write_sbc
    from study.sbc import run_all

    for note in skipped:
        print(f"compare.py: skipping {note}", file=sys.stderr)
    total = sum(c.sims * len(c.ns) for c, _ in jobs)
    print(
        f"compare.py: SBC of {len(jobs)} family x engine pair(s), {total} simulations in all", file=sys.stderr
    )
    results, failures = run_all(jobs, executor=executor)
    report = sbc_report(results, args.alpha, failures)
    if not show_and_write(report.text, lambda: write_sbc(report, args.out, args.command_line), args.out):
        return 2
    return _list_failures(report.failure_lines())


def run_power(configs, defects, args, progress: bool, executor=None) -> int:
    """Run the power subcommand: the catalogue, its table and plot, power.csv; exit 1 if a null run failed."""
    from report.power import power_report, write_power
    from study.power import run_power_study

    try:
        results = run_power_study(configs, defects, seeds=args.seeds, progress=progress, executor=executor)
    except RuntimeError as err:
        print(f"compare.py: error: a power run failed: {err}", file=sys.stderr)
        return 1
    report = power_report(results)
    write = lambda: write_power(report, args.out, args.command_line)  # noqa: E731
    return 0 if show_and_write(report.text, write, args.out) else 2


def run_study_command(
    configs, engines, skipped, out: Path, progress: bool, executor=None, command: str = "compare.py"
) -> int:
    """Run the study subcommand: every family and engine, tables, files; exit 1 if any comparison failed.

    An engine that fails inside its run (raises, or returns what the engine protocol does
    not allow) is listed as failed; the other engines still run and are reported.
    """
    from report import plot_pool
    from report.files import EarlyPlots, write_outputs
    from report.terminal import failure_lines, family_report

    plot_pool.start_server()  # loads the plotting code on another core while the engines run
    for note in skipped:
        print(f"compare.py: skipping {note}", file=sys.stderr)
    from study.run import run_studies

    # the plots of each study's draws are drawn while its comparison runs
    with plot_pool.workers_kept(), EarlyPlots() as early:
        outcomes = run_studies(
            [c for fc in configs.values() for c in fc], engines, executor=executor, progress=progress,
            on_draws=early,
        )  # fmt: skip
        reports = [
            family_report(family_configs, outcomes=[outcomes[c] for c in family_configs])
            for family_configs in configs.values()
        ]
        failures = failure_lines(reports)
        print(f"\nwriting outputs to {out}/ ...", file=sys.stderr)
        write = lambda: write_outputs(reports, out, command=command, failures=failures, early=early)  # noqa: E731
        written = write_or_fail(write, out)
    if written is None:
        return 2
    print(f"\nwrote {len(written)} files to {out}/: " + ", ".join(p.name for p in written))
    return _list_failures([line for *_, line in failures])


def _list_failures(lines: list[str], shown: int | None = None) -> int:
    """Print the failed comparisons (the first ``shown`` of them); return the exit status, 1 if any."""
    if not lines:
        return 0
    print(f"\n{len(lines)} comparison(s) FAILED:")
    for line in lines[:shown]:
        print(f"  {line}")
    if shown is not None and len(lines) > shown:
        print(f"  ... and {len(lines) - shown} more (report.html lists them all)")
    return 1


def exit_now(status: int) -> None:
    """End the process with ``status`` without tearing the interpreter down.

    By then every output is written and closed and every worker stopped, so what is left
    is Python's own finalisation: clearing the dicts of the thousand-odd modules PyMC,
    ArviZ, SciPy and Matplotlib bring in and freeing their objects one by one, 1.1 to
    1.3 s of a default study here (``benchmarks/end_to_end.py``). The atexit handlers
    still run, and the standard streams are flushed first.
    """
    import atexit

    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    exit_now(main())
