"""What every subcommand shares: its parser, the shared flags, the input checks, writing and the exit status.

Bad input (a flag out of range, an unknown name, an unwritable output folder, an engine
that cannot be loaded) is a ``BadInput``: one line, exit status 2, nothing written.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path

from models.engines import SAMPLERS, Sampler
from models.families import FAMILIES

# The engine each subcommand runs without --sampler. The study's is nutpie: NUTS on the same
# PyMC model, its Rust sampler 0.1 to 0.3 s where PyMC's Python one takes 2.4 s on the
# default study (docs/speed.md). Power and SBC keep PyMC's NUTS, the engine their measured
# false-alarm and power figures were obtained with.
DEFAULT_ENGINE = {"study": "nutpie", "power": "nuts", "sbc": "nuts", "zoo": "nuts"}


class BadInput(Exception):
    """Input the run cannot go on with; reported in one line with exit status 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit with status 2."""

    def error(self, message: str):  # noqa: D102
        raise BadInput(message)


def parser(command: str, description: str, example: str) -> Parser:
    """Return an empty parser for ``compare.py COMMAND``, with its examples as the epilogue."""
    return Parser(
        prog=f"compare.py {command}",
        description=description,
        epilog=example,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def whole(name: str, minimum: int) -> Callable[[str], int]:
    """Return an argparse type: a whole number >= ``minimum`` (``1e3`` passes, ``2.5`` does not)."""

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


def number(name: str, *, positive: bool = False, below_one: bool = False) -> Callable[[str], float]:
    """Return an argparse type: a finite number, optionally > 0 and < 1."""

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


def add_data_flags(p: Parser, *, reps: dict | None, model_default: str, model_help: str) -> None:
    """Add the sample sizes, data sets, seed, families and their settings (every subcommand has them)."""
    p.add_argument("--n", nargs="+", type=whole("N", 1), default=[10, 100, 1000], metavar="N",
                   help="sample sizes (default: 10 100 1000)")  # fmt: skip
    if reps is not None:
        p.add_argument("--reps", **reps)
    p.add_argument("--seed", type=whole("seed", 0), default=2026, help="study seed (default: 2026)")
    p.add_argument("--model", default=model_default, metavar="KEYS", help=model_help)
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
        "--true-mean", type=number("true mean"), default=None, help="normal_normal: true mu (default: 2)"
    )
    p.add_argument(
        "--noise-var",
        type=number("noise variance", positive=True),
        default=None,
        help="normal_normal: known noise variance sigma^2 (default: 5)",
    )
    p.add_argument(
        "--prior-mean",
        type=number("prior mean"),
        default=None,
        help="normal_normal: prior mean nu (default: 1)",
    )
    p.add_argument(
        "--prior-var",
        type=number("prior variance", positive=True),
        default=None,
        help="normal_normal: prior variance beta^2 (default: 2)",
    )


FAMILY_HELP = (
    f"conjugate family(ies): a key, a comma list or 'all'; from: {', '.join(FAMILIES)} "
    "(default: normal_normal)"
)


def add_engine_flags(p: Parser, *, cores: bool, sampler: bool, prob: bool) -> None:
    """Add the sampling budget, where the work runs, the engines and (for the study) the interval."""
    p.add_argument("--draws", type=whole("draws", 1), default=1000, help="draws per chain (default: 1000)")
    p.add_argument(
        "--tune", type=whole("tune", 0), default=1000, help="tuning steps per chain (default: 1000)"
    )
    p.add_argument("--chains", type=whole("chains", 1), default=4, help="chains (default: 4)")
    if cores:
        p.add_argument(
            "--cores",
            type=whole("cores", 1),
            default=1,
            help="processes for the chains (default: 1; one batched model is faster in one process)",
        )
    add_where_flags(p)
    if sampler:
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
    if prob:
        p.add_argument(
            "--prob",
            type=number("prob", positive=True, below_one=True),
            default=0.95,
            help="probability of the posterior intervals whose coverage is reported (default: 0.95)",
        )


def add_where_flags(p: Parser) -> None:
    """Add where the work units run (``--workers``, ``--scheduler``) and the time each may take."""
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=whole("workers", 0),
        default=None,
        help="run the work units (families x engines; SBC blocks; power, zoo and gradients runs) on a "
        "local Dask cluster of this many worker processes; 0 runs them in this process (default: one per "
        "core where a run has several units, a study 8 or more, else this process); the results do not "
        "depend on it",
    )
    where.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run the work units on an existing Dask cluster (started with 'dask scheduler' and "
        "'dask worker ADDRESS', with this project importable on the workers)",
    )
    p.add_argument(
        "--engine-timeout",
        type=number("engine timeout", positive=True),
        default=None,
        metavar="SECONDS",
        help="stop a work unit (one engine on one family; an SBC block; a power run) that runs longer "
        "than this and report its engine as failed, the others going on; the units then run on a "
        "Dask worker process (at least one) that can be stopped (default: no limit)",
    )


def add_tail(p: Parser, *, progress: bool) -> Parser:
    """Add the flags every subcommand ends with: the run's alpha, the output folder and progress."""
    p.add_argument(
        "--alpha",
        type=number("alpha", positive=True, below_one=True),
        default=0.01,
        help="false-alarm probability of the whole run's agreement tests, shared by Bonferroni over "
        "its rows, pooled tests, families and engines (default: 0.01)",
    )
    p.add_argument("--out", type=Path, default=Path("results"), help="output folder (default: results)")
    if progress:
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
            pairs[name.strip()] = number(name.strip())(value)
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


def sizes(values) -> tuple[int, ...]:
    """Return the sample sizes (or any flag's values) sorted, each once."""
    return tuple(dict.fromkeys(sorted(values)))


def log(message: str) -> None:
    """Print one progress or status line to stderr."""
    print(f"compare.py: {message}", file=sys.stderr, flush=True)


def write_or_fail(write: Callable[[], list[Path]], out: Path) -> list[Path] | None:
    """Call ``write()``; on an OSError print the one-line error and return None."""
    try:
        return write()
    except OSError as err:
        print(
            f"compare.py: error: cannot write outputs to {str(out)!r}: {err.strerror or err}", file=sys.stderr
        )
        return None


def show_and_write(text: str, write: Callable[[], list[Path]], out: Path) -> bool:
    """Print a subcommand's text, write its files with ``write()`` and list them; False if writing failed."""
    print(text)
    return write_and_list(write, out)


def write_and_list(write: Callable[[], list[Path]], out: Path) -> bool:
    """Write a run's files with ``write()`` and list them; False (the error printed) if writing failed."""
    print(f"\nwriting outputs to {out}/ ...", file=sys.stderr)
    written = write_or_fail(write, out)
    if written is None:
        return False
    print(f"\nwrote {len(written)} files to {out}/: " + ", ".join(p.name for p in written))
    return True


def list_failures(lines: list[str], shown: int | None = None) -> int:
    """Print the failed comparisons (the first ``shown`` of them); return the exit status, 1 if any."""
    if not lines:
        return 0
    print(f"\n{len(lines)} comparison(s) FAILED:")
    for line in lines[:shown]:
        print(f"  {line}")
    if shown is not None and len(lines) > shown:
        print(f"  ... and {len(lines) - shown} more (report.html lists them all)")
    return 1


def bad_input(err: Exception) -> int:
    """Print the one-line error of bad input and return its exit status, 2."""
    print(f"compare.py: error: {err}", file=sys.stderr)
    return 2


def on_executor(args, body: Callable[[object], int], *, units: int, least: int = 2) -> int:
    """Start where the work units run (this process, ``--workers`` or ``--scheduler``), run ``body`` there.

    ``units`` is how many work units the run has: without ``--workers`` or ``--scheduler``,
    ``study.units.default_workers`` chooses from it, ``least`` and the cores. A scheduler that cannot be
    reached is bad input (exit 2). With Dask, say where, and switch PyMC's progress bar off
    (``args.progress``). Returns ``body(executor)``.
    """
    from study.units import Executor, default_workers

    try:
        workers = args.workers
        if workers is None and args.scheduler is None:
            workers = default_workers(units, least=least)
        executor = Executor(
            workers=workers or None, scheduler=args.scheduler, unit_timeout=args.engine_timeout
        )
        executor.start()
    except ValueError as err:
        return bad_input(err)
    with executor:
        if executor.client is not None:
            log(f"work units run on {executor.where}")
            args.progress = False
        return body(executor)
