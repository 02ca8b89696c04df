"""The building blocks of hpsearch's self-contained HTML pages: report.html (hpsearch.report)
and comparison.html (hpsearch.compare).

    page(title, section("best", "Best", note("..."), html_table(frame)), nav=[("best", "Best")])

A page inlines its style (page.css) and its one script (sortable.js, which sorts a
table.sortable by the clicked column), both files of this package, and carries a
Content-Security-Policy that allows nothing else: no network, no other script or style (the
inline ones are allowed by their hashes), images only as data: URIs. Every value given to
these functions is escaped, so a hostile cell is shown as text, never run.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..formatting import fmt

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@cache
def asset(name: str) -> str:
    """The text of a file of this package: "page.css" or "sortable.js"."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def esc(value: Any) -> str:
    """Any value as escaped HTML text (quotes too: safe in attributes)."""
    return html.escape(str(value), quote=True)


def page(title: str, body: str, *, subtitle: str = "", nav: Sequence[tuple[str, str]] = ()) -> str:
    """A whole self-contained HTML page: `body` (HTML, already escaped) under a header with the
    (unescaped) title and subtitle, with the CSS, the sorting script and a Content-Security-
    Policy that allows only them and data: images. nav: (anchor, name) links to sections."""
    css, script = asset("page.css"), asset("sortable.js")
    policy = (f"default-src 'none'; img-src data:; style-src {_csp_hash(css)}; script-src {_csp_hash(script)}; "
              "base-uri 'none'; form-action 'none'")
    links = "".join(f'<a href="#{esc(anchor)}">{esc(name)}</a>' for anchor, name in nav)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f'<meta http-equiv="Content-Security-Policy" content="{esc(policy)}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{esc(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n"
            f"<header><h1>{esc(title)}</h1>" + (f"<p>{esc(subtitle)}</p>" if subtitle else "") + "</header>\n"
            + (f"<nav>{links}</nav>\n" if links else "")
            + f"<main>\n{body}\n</main>\n<script>{script}</script>\n</body>\n</html>\n")


def section(anchor: str, title: str, *parts: str) -> str:
    """A <section id=anchor> with a heading and the non-empty parts (HTML)."""
    return f'<section id="{esc(anchor)}">\n<h2>{esc(title)}</h2>\n' + "\n".join(p for p in parts if p) + "\n</section>"


def note(text: str) -> str:
    """A paragraph of muted text."""
    return f'<p class="note">{esc(text)}</p>'


def _cell(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return f"<td>{esc(value)}</td>"
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
        sort_key = "" if math.isnan(number) else repr(int(value) if isinstance(value, (int, np.integer)) else number)
        return f'<td class="num" data-v="{esc(sort_key)}">{esc(fmt(value))}</td>'
    text = fmt(value)
    return f'<td class="text">{esc(text)}</td>' if len(text) > 40 else f"<td>{esc(text)}</td>"


def html_table(frame: pd.DataFrame, *, sortable: bool = True, caption: str = "",
               row_classes: Sequence[str] | None = None, sorted_by: tuple[str, str] | None = None,
               headers: Mapping[str, str] | None = None, tall: bool = False) -> str:
    """An HTML table of a DataFrame (its columns, not its index), every cell escaped.

    sortable: clicking a header sorts the rows by it (the page's script). sorted_by: (column,
    "ascending" or "descending"), the order the rows come in, marked on that header.
    row_classes: one class per row ("best", "knee", or "" for none). headers: display names.
    tall: in a box of limited height that scrolls (its header row stays in view).
    """
    heads = []
    for column in frame.columns:
        state = f' aria-sort="{esc(sorted_by[1])}"' if sorted_by and column == sorted_by[0] else ""
        heads.append(f"<th{state}>{esc((headers or {}).get(column, column))}</th>")
    rows = []
    classes = list(row_classes) if row_classes is not None else [""] * len(frame)
    for values, css in zip(frame.itertuples(index=False, name=None), classes):
        attribute = f' class="{esc(css)}"' if css else ""
        rows.append(f"<tr{attribute}>" + "".join(_cell(v) for v in values) + "</tr>")
    kind = ' class="sortable"' if sortable else ""
    box = "scroll tall" if tall else "scroll"
    return (f'<div class="{box}"><table{kind}>' + (f"<caption>{esc(caption)}</caption>" if caption else "")
            + "<thead><tr>" + "".join(heads) + "</tr></thead>\n<tbody>\n" + "\n".join(rows)
            + "\n</tbody></table></div>")


def key_value_table(pairs: Iterable[tuple[str, Any]]) -> str:
    """A two-column table: a header cell (the key) and a value cell per row."""
    rows = "".join(f"<tr><th>{esc(k)}</th>{_cell(v)}</tr>" for k, v in pairs)
    return f'<div class="scroll"><table>{rows}</table></div>'


def cards(pairs: Iterable[tuple[str, Any]]) -> str:
    """A row of small boxes, one per (name, value) with a value to show."""
    items = "".join(f'<div class="card"><div class="k">{esc(k)}</div><div class="v">{esc(fmt(v))}</div></div>'
                    for k, v in pairs if v is not None and fmt(v) != "")
    return f'<div class="cards">{items}</div>'


def png_img(data: bytes, alt: str) -> str:
    """An <img> of PNG bytes as a data URI."""
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


def read_png(path: Path) -> bytes | None:
    """A PNG file's bytes, or None for anything else (a link, a non-PNG: never embedded)."""
    try:
        if path.is_symlink() or not path.is_file():
            return None
        data = path.read_bytes()
    except OSError:
        return None
    return data if data.startswith(PNG_SIGNATURE) else None


def elapsed_text(seconds: Any) -> str:
    """Seconds as h:mm:ss; empty for anything but a finite number."""
    if not isinstance(seconds, (int, float, np.integer, np.floating)) or not math.isfinite(seconds):
        return ""
    seconds = int(round(float(seconds)))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
