"""PNG plots of the tables (matplotlib, Agg backend: no display on workers or CI).

Every plot reads a small table from tables.py, never the manifests, so plotting a
billion-row run costs the same as plotting a test's.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa

from stats.definitions import ALT_TEXT_SIDE, CAPTION_SIDE, LENGTH_BUCKETS
from stats.tables import HISTOGRAM_BIN_WORDS, HISTOGRAM_MAX_WORDS, NONE_GROUP

SIDE_LABELS = {CAPTION_SIDE: "caption", ALT_TEXT_SIDE: "alt-text"}
SIDE_COLORS = {CAPTION_SIDE: "tab:blue", ALT_TEXT_SIDE: "tab:orange"}
TOP_NOUNS = 20
CAPTIONER_METRICS = (
    ("mean_words", "words"),
    ("mean_nouns", "NN"),
    ("mean_adj_adv", "JJ/RB"),
    ("mean_prep", "IN"),
    ("mean_clip_tokens", "CLIP tokens"),
)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_length_distribution(histogram: pa.Table, buckets: pa.Table, path: Path) -> Path:
    """ParaDiffusion Figure 4: caption vs alt-text length, as a histogram of words and
    as shares of the length buckets."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    rows = histogram.to_pylist()
    for side in (ALT_TEXT_SIDE, CAPTION_SIDE):
        bins = [r for r in rows if r["text"] == side]
        total = sum(r["texts"] for r in bins)
        if not total:
            continue
        left.bar(
            [r["bin_start"] for r in bins],
            [100 * r["texts"] / total for r in bins],
            width=HISTOGRAM_BIN_WORDS, align="edge", alpha=0.6,
            color=SIDE_COLORS[side], label=SIDE_LABELS[side],
        )
    left.set_xlabel(f"words per text (last bin: {HISTOGRAM_MAX_WORDS}+)")
    left.set_ylabel("% of texts")
    left.set_title("Text length distribution")
    _legend(left)
    overall = [r for r in buckets.to_pylist() if r["grouping"] == "all"]
    labels = [label for label, _, _ in LENGTH_BUCKETS]
    width = 0.4
    for k, side in enumerate((ALT_TEXT_SIDE, CAPTION_SIDE)):
        shares = {r["bucket"]: 100 * (r["share"] or 0) for r in overall if r["text"] == side}
        if not any(shares.values()):  # no text of this side (text files have no alt-text)
            continue
        right.bar(
            [i + (k - 0.5) * width for i in range(len(labels))],
            [shares.get(label, 0) for label in labels],
            width=width, color=SIDE_COLORS[side], label=SIDE_LABELS[side],
        )
    right.set_xticks(range(len(labels)), labels)
    right.set_xlabel("words")
    right.set_ylabel("% of texts")
    right.set_title("Length buckets")
    _legend(right)
    return _save(fig, path)


def plot_top_nouns(
    nouns: pa.Table,
    path: Path,
    top: int = TOP_NOUNS,
    sides: Sequence[str] = (CAPTION_SIDE, ALT_TEXT_SIDE),
) -> Path:
    """Most common nouns (share of texts containing them), one panel per text side."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(sides), figsize=(6 * len(sides), max(3.0, 0.3 * top + 1)),
                             squeeze=False)
    rows = nouns.to_pylist()
    for ax, side in zip(axes[0], sides, strict=True):
        best = [r for r in rows if r["text"] == side][:top]
        # Positions, not the nouns, on the axis: two nouns that print alike stay two bars.
        ax.barh(range(len(best)), [100 * r["share"] for r in reversed(best)],
                color=SIDE_COLORS[side])
        ax.set_yticks(range(len(best)), [drawable(r["noun"]) for r in reversed(best)])
        ax.set_title(f"Top nouns: {SIDE_LABELS[side]}")
        ax.set_xlabel("% of texts containing the noun")
    return _save(fig, path)


def printable(text: str) -> str:
    """``text`` with control and other unprintable characters as escapes (``\\x1a``,
    ``\\u2028``): noise in a caption or a noun, which no font has a glyph for and which
    would vanish from a plot or break a Markdown table."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def drawable(text: str) -> str:
    """``printable(text)`` with the characters the plot's font has no glyph for (CJK,
    most scripts beyond Latin, Greek and Cyrillic in DejaVu Sans) as escapes, so a
    label reads ``\u4e1c`` instead of an empty box and a warning per character."""
    glyphs = _font_codepoints()
    return "".join(c if ord(c) in glyphs else ascii(c)[1:-1] for c in printable(text))


@functools.cache
def _font_codepoints() -> frozenset[int]:
    _pyplot()
    from matplotlib import font_manager

    font = font_manager.get_font(font_manager.findfont(font_manager.FontProperties()))
    return frozenset(font.get_charmap())


def plot_captioners(summary: pa.Table, path: Path) -> Path:
    """Mean counts per captioner's captions, next to all images' alt-text; per source
    where no text has a captioner (text files)."""
    plt = _pyplot()
    rows = summary.to_pylist()
    groups = [
        (f"{r['group']} caption", r)
        for r in rows if r["grouping"] == "captioner" and r["text"] == CAPTION_SIDE
    ]
    if [label for label, _ in groups] == [f"{NONE_GROUP} caption"]:
        groups = [(f"{r['group']}", r) for r in rows
                  if r["grouping"] == "source" and r["text"] == CAPTION_SIDE]
    groups += [
        ("alt-text (all)", r)
        for r in rows if r["grouping"] == "all" and r["text"] == ALT_TEXT_SIDE and r["texts"]
    ]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(CAPTIONER_METRICS) * len(groups) / 2), 4.5))
    width = 0.8 / max(1, len(groups))
    for k, (label, row) in enumerate(groups):
        ax.bar(
            [i + (k - (len(groups) - 1) / 2) * width for i in range(len(CAPTIONER_METRICS))],
            [row[metric] or 0 for metric, _ in CAPTIONER_METRICS],
            width=width, label=label,
        )
    ax.set_xticks(range(len(CAPTIONER_METRICS)), [name for _, name in CAPTIONER_METRICS])
    ax.set_ylabel("mean per text")
    ax.set_title("Per-captioner comparison" if not groups or groups[0][0].endswith(" caption")
                 else "Per-source comparison")
    _legend(ax)
    return _save(fig, path)


def _legend(ax) -> None:
    if ax.get_legend_handles_labels()[0]:  # an empty run has nothing to label
        ax.legend()


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    fig.clf()
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
