"""The command line, one module per subcommand; ``compare.py`` dispatches to them.

Each subcommand module has ``NAME``, ``HELP`` (one line), ``EXAMPLE`` (the help's
epilogue), ``build_parser()``, ``parse(argv) -> Plan`` (the validated run, or
``common.BadInput``) and ``run(plan) -> exit status``. ``common`` holds the flags and
checks they share.
"""

from cli import gradients, power, sbc, study

SUBCOMMANDS = {m.NAME: m for m in (study, power, sbc, gradients)}
