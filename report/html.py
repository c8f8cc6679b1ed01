"""The self-contained HTML report: one page per run, from the run's report and plots.

The page is built from what the run already printed and wrote, never from a second
computation: the blocks the terminal printed (``report.document``) become its sections,
their tables the page's tables cell for cell, and the PNG plots are embedded as data URIs.
Interactive plots (ArviZ trace plots drawn with Bokeh) carry their JavaScript inline and a
static PNG in ``<noscript>``, so the file opens offline, from disk or mailed, with or
without JavaScript. The markup lives in Jinja2 templates beside this module (``templates/``).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from report.document import Block, Table

TEMPLATES = Path(__file__).with_name("templates")


@dataclass
class Figure:
    """One plot: a PNG (as a data URI) and, where it helps, an interactive Bokeh version of it."""

    file: str
    caption: str
    src: str
    interactive: str = ""  # the Bokeh div; its script goes into the page's scripts


@dataclass
class Section:
    """A titled part of the page: prose and tables (as the terminal printed them), figures, subsections."""

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


def block_sections(blocks: list[Block], ids: Ids) -> list[Section]:
    """Lay out a report's blocks (``report.document``) as sections: prose in paragraphs, tables whole."""
    out = []
    for block in blocks:
        parts: list[Table | str] = []
        for part in block.parts:
            parts += [p for p in re.split(r"\n\s*\n", part) if p.strip()] if isinstance(part, str) else [part]
        out.append(Section(ids(block.title), block.title, parts))
    return out


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
