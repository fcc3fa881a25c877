"""Pieces shared by the HTML handouts: the page, tables, embedded figures and the glossary.

Every handout is one self-contained file: figures are embedded as base64 PNG, so it
can be mailed or printed without its folder.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.analysis import glossary

STYLE = """
body { font: 13px/1.4 sans-serif; max-width: 64em; margin: 1.5em auto; color: #222; }
h1 { font-size: 1.4em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin: 1em 0 0.3em; }
table { border-collapse: collapse; margin: 0.3em 0; }
td, th { padding: 1px 8px; border-bottom: 1px solid #ddd; vertical-align: top; }
th { text-align: left; } td.num { text-align: right; white-space: nowrap; }
.better { color: #0060a0; font-weight: bold; } .worse { color: #b04500; font-weight: bold; }
.cols { display: flex; gap: 2em; flex-wrap: wrap; } img { max-width: 100%; }
img.third { width: 32%; } .note { color: #555; font-size: 0.92em; }
dt { font-weight: bold; } dd { margin: 0 0 0.3em 1.5em; }
"""


def figure(width: float, height: float) -> Figure:
    """A matplotlib figure on the Agg canvas (never pyplot)."""
    fig = Figure(figsize=(width, height), dpi=90, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png_of(fig: Figure) -> str:
    """The figure as a base64 PNG."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def image(data: str, alt: str, css: str = "") -> str:
    """An ``<img>`` of a base64 PNG."""
    cls = f' class="{css}"' if css else ""
    return f'<img{cls} alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def file_image(path: Path, alt: str) -> str:
    """An ``<img>`` of a PNG file, embedded; a note when the file is missing."""
    path = Path(path)
    if not path.is_file():
        return f'<p class="note">({escape(path.name)} is not in the folder)</p>'
    return image(base64.b64encode(path.read_bytes()).decode("ascii"), alt)


def table(headers: Sequence[str], rows: Iterable[Sequence[object]],
          numeric: Sequence[int] = ()) -> str:
    """An HTML table; cells are escaped unless given as ``Markup``; ``numeric``: column
    positions aligned right.
    """
    head = "".join(f"<th>{escape(str(h))}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            text = str(cell) if isinstance(cell, Markup) else escape(str(cell))
            cls = ' class="num"' if i in numeric else ""
            cells.append(f"<td{cls}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def frame_table(frame: pd.DataFrame, numeric: Sequence[str] = ()) -> str:
    """An HTML table of a DataFrame (values shown as they are)."""
    cols = list(frame.columns)
    return table(cols, frame.itertuples(index=False),
                 [cols.index(c) for c in numeric if c in cols])


class Markup(str):
    """Text that is HTML already (not escaped by :func:`table`)."""


def verdict_cell(text: str, word: str) -> Markup:
    """A table cell coloured by a verdict (better, worse, or neither)."""
    css = {"better": "better", "worse": "worse"}.get(word, "")
    return Markup(f'<span class="{css}">{escape(text)}</span>' if css else escape(text))


def glossary_html(metrics: Iterable[str], terms: Iterable[str] = (),
                  extra: dict[str, str] | None = None, days: int | None = None) -> str:
    """The glossary section: each metric's meaning, unit and better direction, then terms."""
    items = []
    for name in dict.fromkeys(metrics):
        entry = glossary.metric(name)
        items.append(f"<dt>{escape(name)}</dt><dd>{escape(entry.meaning)} Unit: "
                     f"{escape(glossary.unit(name, days))}; {glossary.better_word(name)}.</dd>")
    for name in dict.fromkeys(terms):
        items.append(f"<dt>{escape(name)}</dt><dd>{escape(glossary.TERMS[name])}</dd>")
    for name, text in (extra or {}).items():
        items.append(f"<dt>{escape(name)}</dt><dd>{escape(text)}</dd>")
    return f"<h2>Glossary</h2><dl>{''.join(items)}</dl>"


def day_label(date: dt.date) -> str:
    """A date as "17 Oct 2023"."""
    return f"{date.day} {date:%b %Y}"


def page(title: str, body: str) -> str:
    """A complete HTML page."""
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n'
            f"<title>{escape(title)}</title>\n<style>{STYLE}</style></head><body>\n{body}\n"
            '<p class="note">Values are those of a stylised model for analysis and teaching, '
            "not intelligence estimates or forecasts.</p>\n</body></html>\n")


__all__ = ["Markup", "day_label", "figure", "file_image", "frame_table", "glossary_html",
           "image", "page", "png_of", "table", "verdict_cell"]
