"""Read a report.html back with the standard library's HTML parser, and the checks every report must pass."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

URL_ATTRIBUTES = {"src", "href", "srcset", "action", "formaction", "poster", "data", "background", "cite"}
NETWORK = re.compile(r"^\s*(https?:|ftp:|wss?:|//)", re.IGNORECASE)
RULE = re.compile(r"^-+(  -+)*$")


def split_table(lines: list[str]) -> tuple[list[list[str]], int] | None:
    """Read a printed table (header, rule of dashes, rows) at the start of ``lines``: its cells and length.

    The tests' own reading of the terminal, independent of ``report.document``: the rule
    gives each column's span, and a line that does not fit the spans (longer than the
    rule, or text where two columns meet) ends the table. None when ``lines`` does not
    start with a header and a rule.
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
    rows = [headers]
    for line in lines[2:]:
        row = cells(line) if line.strip() else None
        if row is None:
            break
        rows.append(row)
    return rows, 1 + len(rows)


class Report(HTMLParser):
    """What a report page holds: its tables, figures, links, ids, and text outside scripts."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []  # every table.data: header row, then rows
        self.verdict: list[list[str]] = []  # the verdict table's rows (cells' text)
        self.figures: list[str] = []  # data-file of every figure
        self.images: list[str] = []  # every img src
        self.ids: list[str] = []
        self.toc: list[str] = []  # href of every link in the table of contents
        self.urls: list[str] = []  # every value of an attribute that may load something
        self.prose: list[str] = []  # text outside <script> and <style>
        self.styles: list[str] = []
        self.scripts_with_src = 0
        self.top_sections: list[str] = []  # ids of <main>'s sections, in order
        self._stack: list[tuple[str, dict]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._table: list[list[str]] | None = None
        self._in = {"script": 0, "style": 0, "nav": 0, "main": 0, "verdict": 0}
        self.feed(text)

    def handle_starttag(self, tag, attrs):  # noqa: D102
        a = dict(attrs)
        self._stack.append((tag, a))
        self.urls += [v for k, v in attrs if k in URL_ATTRIBUTES and v]
        if "id" in a:
            self.ids.append(a["id"])
        if tag in self._in:
            self._in[tag] += 1
        if tag == "script" and "src" in a:
            self.scripts_with_src += 1
        if tag == "section" and self._in["main"] and len([t for t, _ in self._stack if t == "section"]) == 1:
            self.top_sections.append(a.get("id", ""))
        if tag == "a" and self._in["nav"]:
            self.toc.append(a.get("href", ""))
        if tag == "figure":
            self.figures.append(a["data-file"])
        if tag == "img":
            self.images.append(a.get("src", ""))
        if tag == "table" and "data" in a.get("class", "").split():
            self._table = []
        if tag == "table" and "verdict" in a.get("class", "").split():
            self._in["verdict"] += 1
        if tag == "tr":
            self._row = []
        if tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):  # noqa: D102
        while self._stack:
            t, _ = self._stack.pop()
            if t == tag:
                break
        if tag in self._in and self._in[tag]:
            self._in[tag] -= 1
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        if tag == "tr" and self._row is not None:
            if self._table is not None:
                self._table.append(self._row)
            elif self._in["verdict"] and self._row[0] != "family":
                self.verdict.append(self._row)
            self._row = None
        if tag == "table" and self._table is not None:
            self.tables.append(self._table)
            self._table = None
        if tag == "table" and self._in["verdict"]:
            self._in["verdict"] -= 1

    def handle_data(self, data):  # noqa: D102
        if self._in["style"]:
            self.styles.append(data)
        elif not self._in["script"]:
            self.prose.append(data)
        if self._cell is not None:
            self._cell.append(data)


def terminal_tables(text: str) -> list[list[list[str]]]:
    """Every fixed-width table printed on the terminal, as header row then rows."""
    lines, tables, i = text.splitlines(), [], 0
    while i < len(lines):
        found = split_table(lines[i:])
        if found is None:
            i += 1
            continue
        tables.append(found[0])
        i += found[1]
    return tables


def check_report(out: Path, printed: str) -> Report:
    """Check a run's report.html: self-contained, every plot and every printed table in it; return it."""
    page = Report((out / "report.html").read_text(encoding="utf-8"))
    # nothing loads from the network: no attribute, stylesheet or script source points at it
    assert not [u for u in page.urls if NETWORK.match(u)], [u for u in page.urls if NETWORK.match(u)]
    assert page.scripts_with_src == 0
    css = "".join(page.styles)
    assert not re.search(r"url\(\s*['\"]?(?!data:)", css) and "@import" not in css
    assert not re.search(r"https?://", "".join(page.prose)), "a web address in the report's own text"
    # every plot the run wrote is embedded, as a data URI
    assert sorted(set(page.figures)) == sorted(p.name for p in out.glob("*.png"))
    assert all(src.startswith("data:image/png;base64,") for src in page.images)
    assert len(page.images) >= len(set(page.figures))
    # the table of contents points at sections that exist, and ids are unique
    assert page.toc and all(href.startswith("#") and href[1:] in page.ids for href in page.toc)
    assert len(page.ids) == len(set(page.ids))
    # every table printed on the terminal is on the page, cell for cell
    shown = page.tables
    for table in terminal_tables(printed):
        assert table in shown, f"terminal table missing from the report: {table[0]}"
    return page


def has_sections(page: Report, *prefixes: str) -> bool:
    """Tell whether, for each prefix, some section id starts with it (ids are titles, shortened)."""
    return all(any(i.startswith(prefix) for i in page.ids) for prefix in prefixes)
