"""The subset of Markdown that ``stats/report.py`` writes, as HTML: headings,
paragraphs, pipe tables (``\\|`` escapes a bar), images and inline code. Everything
else is text, escaped."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape

_IMAGE = re.compile(r"^!\[([^\]]*)\]\(([^)]+)\)$")
_CODE = re.compile(r"`([^`]+)`")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")


def _inline(text: str) -> str:
    return _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", escape(text, quote=False))


def _cells(line: str) -> list[str]:
    inner = line.strip()[1:-1] if line.strip().endswith("|") else line.strip()[1:]
    return [c.strip().replace("\\|", "|") for c in _CELL_SPLIT.split(inner)]


def _table(lines: list[str]) -> str:
    header, *body = [_cells(line) for line in lines if not re.fullmatch(r"\|(-+\|)+", line)]
    head = "".join(f"<th>{_inline(c)}</th>" for c in header)
    rows = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>"
                   for row in body)
    return f'<table class="stats"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def markdown_to_html(text: str, image_src: Callable[[str], str] = lambda s: s,
                     heading_offset: int = 1) -> str:
    """HTML of ``text``; ``image_src`` maps an image path to its place in the report,
    ``heading_offset`` demotes headings (``#`` becomes ``<h2>`` by default)."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        first = lines[0]
        if first.startswith("#"):
            level = min(6, len(first) - len(first.lstrip("#")) + heading_offset)
            out.append(f"<h{level}>{_inline(first.lstrip('#').strip())}</h{level}>")
            if len(lines) > 1:
                out.append(f"<p>{_inline(' '.join(lines[1:]))}</p>")
        elif all(line.startswith("|") for line in lines):
            out.append(_table(lines))
        elif len(lines) == 1 and (image := _IMAGE.match(first)):
            alt, src = image.groups()
            out.append(f'<figure><img src="{escape(image_src(src))}" alt="{escape(alt)}">'
                       f"<figcaption>{escape(alt)}</figcaption></figure>")
        else:
            out.append(f"<p>{_inline(' '.join(lines))}</p>")
    return "\n".join(out)
