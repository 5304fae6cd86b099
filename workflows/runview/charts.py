"""The funnel as an inline SVG: one bar per step, what went on in grey-blue, what the
step removed in red, widths to scale of the inputs. No script, no external font."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

BAR_WIDTH = 520
LABEL_WIDTH = 230
ROW_HEIGHT = 26
VALUE_WIDTH = 250


@dataclass(frozen=True)
class FunnelStep:
    label: str
    passed: int  # rows that go on past the step
    removed: int = 0  # rows the step rejected (or errors)
    link: str | None = None  # anchor of the step's examples


def funnel_svg(steps: list[FunnelStep], total: int) -> str:
    height = ROW_HEIGHT * len(steps) + 8
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    scale = BAR_WIDTH / total if total else 0.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="funnel" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="funnel">'
    ]
    for index, step in enumerate(steps):
        y = 4 + index * ROW_HEIGHT
        kept_w = step.passed * scale
        removed_w = step.removed * scale
        seen = step.passed + step.removed
        share = f" ({100 * step.removed / seen:.1f}%)" if step.removed and seen else ""
        value = (f"{step.passed}" if not step.removed
                 else f"{seen} \u2192 {step.passed}, \u2212{step.removed}{share}")
        label = escape(step.label)
        if step.link:
            label = f'<a href="{escape(step.link)}">{label}</a>'
        parts += [
            f'<g class="step"><text x="{LABEL_WIDTH - 8}" y="{y + 17}" '
            f'text-anchor="end">{label}</text>',
            f'<rect class="passed" x="{LABEL_WIDTH}" y="{y + 3}" width="{kept_w:.1f}" '
            f'height="{ROW_HEIGHT - 8}"/>',
            f'<rect class="removed" x="{LABEL_WIDTH + kept_w:.1f}" y="{y + 3}" '
            f'width="{removed_w:.1f}" height="{ROW_HEIGHT - 8}"/>',
            f'<text x="{LABEL_WIDTH + BAR_WIDTH + 8}" y="{y + 17}">{escape(value)}</text></g>',
        ]
    parts.append("</svg>")
    return "".join(parts)
