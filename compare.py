#!/usr/bin/env python
"""Compare PyMC's inference engines with the exact conjugate posterior, over sample sizes and data sets.

Subcommands: ``study`` (the default: the fixed-truth study), ``power`` (how often the
same verdict catches a catalogue of real defects), ``sbc`` (simulation-based
calibration over the whole prior), ``gradients`` (variational inference: the ELBO's
gradient estimators, the beta-weighted ELBO, Gumbel-softmax) and ``zoo`` (real bugs of
inference libraries, each beside its fixed twin, caught or not). Exit status: 0 when every comparison
agrees, 1 when one fails (listed), 2 for bad input or a failed write (one line, nothing written),
130 / 143 when stopped by Ctrl-C / SIGTERM (one line, nothing written, no process left).

Each subcommand lives in ``cli/<name>.py`` (its flags, examples, ``parse`` and ``run``);
this file only dispatches.
"""

from __future__ import annotations

import gc

# Building and compiling PyTensor graphs allocates millions of small, long-lived objects;
# at Python's default thresholds the cyclic collector ran 1,137 times in a default study,
# 7 of them full collections of about 0.11 s each: 1.0 s of a 10 s run. Collecting less
# often keeps the same memory bound in practice and changes no result.
gc.set_threshold(50_000, 20, 100)

import sys  # noqa: E402

from study import stopping  # noqa: E402 (light: signals, os; nothing of the suite's stack)

# cli.commands.SUBCOMMANDS' keys, known before its imports
NAMES = ("study", "power", "sbc", "gradients", "zoo")


def _runs_a_study(argv: list[str]) -> bool:
    """Whether this command line runs the study (as ``main`` dispatches it; not help or a listing)."""
    listing = {"-h", "--help", "--list-samplers", "--list-models"}
    command = argv[0] if argv and argv[0] in NAMES else "study"
    return command == "study" and not listing & set(argv)


def top_help() -> str:
    """Return the top-level help: the subcommands, then the default subcommand's flags."""
    from cli.commands import SUBCOMMANDS
    from cli.study import build_parser as study_parser

    lines = [
        "usage: compare.py [SUBCOMMAND] [flags]",
        "",
        __doc__.splitlines()[0],
        "",
        "subcommands:",
        *(f"  {name:<8} {module.HELP}" for name, module in SUBCOMMANDS.items()),
        "",
        "With no subcommand, compare.py runs 'study'. 'compare.py SUBCOMMAND --help' lists its flags.",
        "",
        study_parser().format_help(),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run a subcommand; return 0 if every comparison agrees, 1 if any disagrees, 2 for bad input."""
    import shlex

    from cli.commands import SUBCOMMANDS
    from cli.common import BadInput, bad_input

    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] in ("-h", "--help"):
        print(top_help())
        return 0
    command_line = shlex.join(["python", "compare.py", *argv])
    command, argv = (argv[0], argv[1:]) if argv and argv[0] in SUBCOMMANDS else ("study", argv)
    if "--list-samplers" in argv or "--list-models" in argv:
        from report.tables import engine_list, family_list

        print(engine_list() if "--list-samplers" in argv else family_list())
        return 0
    subcommand = SUBCOMMANDS[command]
    try:
        plan = subcommand.parse(argv)
    except (BadInput, ValueError) as err:
        return bad_input(err)
    plan.command_line = command_line
    return subcommand.run(plan)


def exit_now(status: int) -> None:
    """End the process with ``status`` without tearing the interpreter down.

    By then every output is written and closed and every worker stopped, so what is left
    is Python's own finalisation: clearing the dicts of the thousand-odd modules PyMC,
    ArviZ, SciPy and Matplotlib bring in and freeing their objects one by one, 1.1 to
    1.3 s of a default study here (``benchmarks/end_to_end.py``). The atexit handlers
    still run, and the standard streams are flushed first.
    """
    import atexit
    import os

    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def entry(argv: list[str]) -> int:
    """Run ``compare.py`` as a program: ``main``, Ctrl-C and SIGTERM ending it cleanly (study.stopping)."""
    stopping.install()
    try:
        if _runs_a_study(argv):
            # A study: start the plot workers' server now, so that it loads the plotting code on
            # the other core while this process imports PyMC, compiles and samples
            # (report/plot_pool.py).
            from report import plot_pool

            plot_pool.start_server()
        stopping.checkpoint("imports")
        with stopping.surfaced():  # a stop that came back as another error, anywhere, is still a stop
            return main(argv)
    except stopping.Stopped as stop:
        return stopping.finish(stop)


if __name__ == "__main__":
    exit_now(entry(sys.argv[1:]))
