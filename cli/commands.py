"""The subcommands by name: ``compare.py`` dispatches to these modules."""

from cli import gradients, power, sbc, study, zoo

SUBCOMMANDS = {m.NAME: m for m in (study, power, sbc, gradients, zoo)}
