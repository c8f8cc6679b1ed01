"""The self-contained HTML report: one page per run, from the terminal's text and the run's plots.

The page is built from what the run already printed and wrote, never from a second
computation: the terminal text is split at its ``== title ==`` headings into sections and
its fixed-width tables back into cells (so every number reads as on the terminal), and the
PNG plots are embedded as data URIs. Interactive plots (ArviZ trace plots drawn with
Bokeh) carry their JavaScript inline and a static PNG in ``<noscript>``, so the file opens
offline, from disk or mailed, with or without JavaScript. The markup lives in Jinja2
templates beside this module (``templates/``).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

TEMPLATES = Path(__file__).with_name("templates")
RULE = re.compile(r"^-+(  -+)*$")
HEADING = re.compile(r"^== (.+) ==$")
NUMBER = re.compile(r"^[-+]?(\d[\d.,]*(e[-+]?\d+)?%?|nan|inf|-)$", re.IGNORECASE)


@dataclass
class Table:
    """A fixed-width terminal table, split back into its cells."""

    headers: list[str]
    rows: list[list[str]]
    numeric: list[bool]


@dataclass
class Figure:
    """One plot: a PNG (as a data URI) and, where it helps, an interactive Bokeh version of it."""

    file: str
    caption: str
    src: str
    interactive: str = ""  # the Bokeh div; its script goes into the page's scripts


@dataclass
class Section:
    """A titled part of the page: text and tables from the terminal, figures, subsections."""

    id: str
    title: str
    parts: list[Table | str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)

    @property
    def short_title(self) -> str:
        """Return the title for the table of contents: up to its parenthesis, keeping a leading name in it."""
        head, paren, rest = self.title.partition(" (")
        name = re.match(r"([a-z][a-z0-9_]*)[;)]", rest) if paren else None
        return f"{head} ({name.group(1)})" if name else head


@dataclass
class Page:
    """Everything the page template shows; ``scripts`` are the interactive plots' inline scripts."""

    title: str
    command: str
    settings: list[tuple[str, str]]
    failures: list[str]
    checked: str  # what was compared, for the all-agree banner
    sections: list[Section]
    verdict: list[dict] | None = None
    scripts: list[str] = field(default_factory=list)
    failure_summary: list[str] = field(default_factory=list)  # a line per failing engine, above the list


def split_table(lines: list[str]) -> tuple[Table, int] | None:
    """Read a terminal table (header, rule, rows) at the start of ``lines``; return it and its length.

    The rule line gives each column's span. A line that does not fit the spans (longer
    than the rule, or text where two columns meet) ends the table. None when ``lines`` does
    not start with a header and a rule.
    """
    if len(lines) < 2 or not RULE.match(lines[1]):
        return None
    spans = [(m.start(), m.end()) for m in re.finditer(r"-+", lines[1])]
    width = len(lines[1])

    def cells(line: str) -> list[str] | None:
        gaps = zip(spans, spans[1:], strict=False)
        if len(line) > width or any(line[a:b].strip() for (_, a), (b, _) in gaps):
            return None
        return [line[a:b].strip() for a, b in spans[:-1]] + [line[spans[-1][0] :].strip()]

    headers = cells(lines[0])
    if headers is None:
        return None
    rows = []
    for line in lines[2:]:
        row = cells(line) if line.strip() else None
        if row is None:
            break
        rows.append(row)
    numeric = [bool(rows) and all(NUMBER.match(r[i]) for r in rows) for i in range(len(headers))]
    return Table(headers, rows, numeric), 2 + len(rows)


def parse_body(text: str) -> list[Table | str]:
    """Split a section's text into tables and paragraphs, in order."""
    lines = text.splitlines()
    parts: list[Table | str] = []
    prose: list[str] = []
    i = 0
    while i < len(lines):
        found = split_table(lines[i:])
        if found is None:
            if lines[i].strip():
                prose.append(lines[i])
            elif prose:
                parts.append("\n".join(prose))
                prose = []
            i += 1
            continue
        if prose:
            parts.append("\n".join(prose))
            prose = []
        table, used = found
        parts.append(table)
        i += used
    if prose:
        parts.append("\n".join(prose))
    return parts


class Ids:
    """Unique, readable element ids made from titles."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, title: str) -> str:
        """Return an id for ``title``: its words, lower case, joined by '-', numbered if taken."""
        base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "section"
        name, k = base, 2
        while name in self.seen:
            name, k = f"{base}-{k}", k + 1
        self.seen.add(name)
        return name


def text_sections(text: str, ids: Ids) -> list[Section]:
    """Split terminal text at its ``== title ==`` headings; text before the first heading gets ``Run``."""
    sections: list[Section] = []
    title, body = "Run", []
    for line in text.splitlines() + ["== end =="]:
        heading = HEADING.match(line)
        if heading is None:
            body.append(line)
            continue
        if "\n".join(body).strip():
            sections.append(Section(ids(title), title, parse_body("\n".join(body))))
        title, body = heading.group(1), []
    return sections


def png(path: Path, caption: str | None = None) -> Figure:
    """Embed a PNG file as a figure (its caption defaults to its file name)."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return Figure(path.name, caption or path.stem.replace("_", " "), f"data:image/png;base64,{data}")


def interactive(figure: Figure, embedded: tuple[str, str], page: Page) -> Figure:
    """Attach a Bokeh plot, as ``bokeh.embed.components`` gives it, to ``figure`` (its PNG the fallback)."""
    script, div = embedded
    page.scripts.append(script)
    figure.interactive = div
    return figure


def bokeh_js() -> str:
    """Bokeh's own JavaScript, inline (only the core bundle: plots, not widgets or MathJax)."""
    from bokeh.resources import Resources

    return Resources(mode="inline", components=["bokeh"]).render_js()


def render(page: Page) -> str:
    """Render the page template into one self-contained HTML document."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    style = (TEMPLATES / "style.css").read_text()
    js = bokeh_js() if page.scripts else ""
    return env.get_template("report.html.j2").render(page=page, style=style, bokeh_js=js)


def write_page(page: Page, folder: Path) -> Path:
    """Write ``report.html`` into ``folder`` and return its path."""
    path = folder / "report.html"
    path.write_text(render(page), encoding="utf-8")
    return path
