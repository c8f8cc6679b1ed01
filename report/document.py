"""A report as data: titled blocks of prose and tables, one object for the terminal and the HTML page.

Every subcommand's report (``report.terminal``, ``report.sbc``, ``report.power``,
``report.gradients``) builds a list of :class:`Block`; :func:`render` prints it on the
terminal, and ``report.html`` lays the same blocks out as the page's sections, so every
table reaches the page cell for cell without reading text back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

NUMBER = re.compile(r"^[-+]?(\d[\d.,]*(e[-+]?\d+)?%?|nan|inf|-)$", re.IGNORECASE)


@dataclass
class Table:
    """A table of formatted cells, with an optional line above (``caption``) and below (``note``).

    ``right`` says which columns the terminal right-aligns (those given as numbers);
    ``numeric`` which columns read as numbers (the page right-aligns those).
    """

    headers: list[str]
    rows: list[list[str]]
    right: list[bool]
    caption: str = ""
    note: str = ""

    @property
    def numeric(self) -> list[bool]:
        """For each column, whether every cell reads as a number (or '-', a missing one)."""
        return [
            bool(self.rows) and all(NUMBER.match(r[i]) for r in self.rows) for i in range(len(self.headers))
        ]

    def grid(self) -> str:
        """Return the fixed-width table: header, a rule of dashes, the rows."""
        cells = [self.headers, *self.rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.headers))]
        lines = [
            "  ".join(
                c.rjust(w) if num else c.ljust(w) for c, w, num in zip(row, widths, self.right, strict=True)
            )
            for row in cells
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(line.rstrip() for line in lines)

    def text(self) -> str:
        """Return the table as printed: caption, grid and note, one under the other."""
        return "\n".join(part for part in (self.caption, self.grid(), self.note) if part)

    def __str__(self) -> str:
        return self.text()


def table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], *, caption: str = "", note: str = ""
) -> Table:
    """Format ``rows`` into a :class:`Table`: floats to 4 significant digits, numbers right-aligned."""
    right = [
        all(isinstance(row[i], int | float | np.number) or row[i] == "-" for row in rows)
        for i in range(len(headers))
    ]
    cells = [[_fmt(v) for v in row] for row in rows]
    return Table([str(h) for h in headers], cells, right, caption, note)


def _fmt(v: object) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


Part = Table | str


@dataclass
class Block:
    """A titled part of a report: prose (paragraphs split by blank lines) and tables, in order."""

    title: str
    parts: list[Part] = field(default_factory=list)

    def text(self) -> str:
        """Return the block as printed: its ``== title ==`` heading, then its parts a blank line apart."""
        return "\n".join([f"== {self.title} ==", "\n\n".join(_text(p) for p in self.parts)]).rstrip("\n")


def _text(part: Part) -> str:
    return part if isinstance(part, str) else part.text()


def render(blocks: Sequence[Block]) -> str:
    """Return the blocks as printed on the terminal, a blank line apart."""
    return "\n\n".join(b.text() for b in blocks)
