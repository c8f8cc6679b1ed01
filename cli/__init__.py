"""The command line, one module per subcommand; ``compare.py`` dispatches to them.

Each subcommand module has ``NAME``, ``HELP`` (one line), ``EXAMPLE`` (the help's
epilogue), ``build_parser()``, ``parse(argv) -> Plan`` (the validated run, or
``common.BadInput``) and ``run(plan) -> exit status``. ``common`` holds the flags and
checks they share; ``commands.SUBCOMMANDS`` maps each name to its module. Importing this
package imports nothing else, so that ``compare.py`` can set up its signal handling
(``study.stopping``) before the heavy imports.
"""
