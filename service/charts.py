"""Server-side SVG charts for the dashboard: labelled bars, run strips, lines; readable without colour."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Series are told apart by marker shape and dash pattern, and labelled in text; colour only helps.
MARKERS = ("circle", "square", "triangle", "diamond", "cross")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2")
INK = "#1f3a5f"
FAILED = "#b3261e"


def number_text(value: float | None, digits: int = 3) -> str:
    """A value as the chart prints it: up to `digits` significant decimals, 'n/a' when missing."""
    if value is None:
        return "n/a"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}" if value < 1 else f"{value:,.{max(digits - 2, 0)}f}"


def bar_chart(rows: Sequence[tuple[str, float | None]], unit: str = "", width: int = 420) -> Markup:
    """Horizontal bars, one row per (label, value), the value printed beside each bar; a missing
    value is an empty row marked 'n/a'."""
    label_width, value_width, row_height = 150, 70, 20
    bar_space = width - label_width - value_width
    top = max((value for _, value in rows if value is not None), default=0.0) or 1.0
    height = row_height * len(rows) + 4
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    for index, (label, value) in enumerate(rows):
        y = 2 + index * row_height
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 14}" text-anchor="end" class="label">{escape(label)}</text>'
        )
        if value is None:
            parts.append(f'<text x="{label_width + 4}" y="{y + 14}" class="value">n/a</text>')
            continue
        length = max(bar_space * value / top, 1.0)
        parts.append(
            f'<rect x="{label_width}" y="{y + 3}" width="{length:.1f}" height="{row_height - 6}" '
            f'fill="{INK}">'
            f"<title>{escape(label)}: {escape(number_text(value))}{escape(unit)}</title></rect>"
        )
        parts.append(
            f'<text x="{label_width + length + 4:.1f}" y="{y + 14}" class="value">'
            f"{escape(number_text(value))}{escape(unit)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text inside went through escape())


@dataclass(frozen=True)
class Run:
    """One job run for a run strip: its duration and whether it succeeded."""

    seconds: float | None
    ok: bool


def run_strip(runs: Sequence[Run], width: int = 300, height: int = 60) -> Markup:
    """A job's runs, oldest first, as columns as tall as each run took; a failed run is a hollow
    column with a cross above it (not a colour alone). The longest run's time labels the axis."""
    if not runs:
        return Markup('<span class="muted">no runs logged</span>')
    top = max((run.seconds or 0.0 for run in runs), default=0.0) or 1.0
    axis = 44
    step = (width - axis) / len(runs)
    bar = max(step * 0.7, 1.0)
    plot = height - 14
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{axis - 4}" y="12" text-anchor="end" class="value">{escape(number_text(top))} s</text>',
        f'<text x="{axis - 4}" y="{plot}" text-anchor="end" class="value">0</text>',
        f'<line x1="{axis}" y1="{plot}" x2="{width}" y2="{plot}" stroke="#888"/>',
    ]
    for index, run in enumerate(runs):
        x = axis + index * step + (step - bar) / 2
        seconds = run.seconds or 0.0
        length = max((plot - 8) * seconds / top, 1.0)
        tip = f"{number_text(seconds)} s, {'ok' if run.ok else 'failed'}"
        if run.ok:
            parts.append(
                f'<rect x="{x:.1f}" y="{plot - length:.1f}" width="{bar:.1f}" height="{length:.1f}" '
                f'fill="{INK}"><title>{escape(tip)}</title></rect>'
            )
        else:
            parts.append(
                f'<rect x="{x:.1f}" y="{plot - length:.1f}" width="{bar:.1f}" height="{length:.1f}" '
                f'fill="none" stroke="{FAILED}" stroke-width="1.5"><title>{escape(tip)}</title></rect>'
                f'<text x="{x + bar / 2:.1f}" y="{max(plot - length - 2, 10):.1f}" text-anchor="middle" '
                f'class="failed">&#215;</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text inside went through escape())


def _marker(shape: str, x: float, y: float) -> str:
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{INK}"/>'
    if shape == "square":
        return f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{INK}"/>'
    if shape == "triangle":
        return f'<path d="M{x:.1f},{y - 5:.1f} L{x + 5:.1f},{y + 4:.1f} L{x - 5:.1f},{y + 4:.1f} Z" fill="{INK}"/>'  # noqa: E501
    if shape == "diamond":
        return f'<path d="M{x:.1f},{y - 5:.1f} L{x + 5:.1f},{y:.1f} L{x:.1f},{y + 5:.1f} L{x - 5:.1f},{y:.1f} Z" fill="none" stroke="{INK}" stroke-width="1.5"/>'  # noqa: E501
    return f'<path d="M{x - 4:.1f},{y - 4:.1f} L{x + 4:.1f},{y + 4:.1f} M{x + 4:.1f},{y - 4:.1f} L{x - 4:.1f},{y + 4:.1f}" stroke="{INK}" stroke-width="1.5"/>'  # noqa: E501


def line_chart(
    series: Mapping[str, Sequence[tuple[float, float]]],
    x_label: str,
    y_label: str,
    width: int = 520,
    height: int = 240,
) -> Markup:
    """Lines through (x, y) points, one per series, each with its own marker and dash pattern and
    its name written at its last point; axes labelled with their extremes."""
    points = [point for line in series.values() for point in line]
    if not points:
        return Markup('<span class="muted">no data</span>')
    left, right, top, bottom = 56, 130, 12, 36
    x_max = max(x for x, _ in points) or 1.0
    y_max = max(y for _, y in points) or 1.0
    plot_w, plot_h = width - left - right, height - top - bottom

    def place(x: float, y: float) -> tuple[float, float]:
        return left + plot_w * x / x_max, top + plot_h * (1 - y / y_max)

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#888"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#888"/>',
        f'<text x="{left - 4}" y="{top + 10}" text-anchor="end" class="value">'
        f"{escape(number_text(y_max))}</text>",
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" class="value">0</text>',
        f'<text x="{left + plot_w}" y="{top + plot_h + 14}" text-anchor="end" class="value">'
        f"{escape(number_text(x_max))}</text>",
        f'<text x="{left + plot_w / 2}" y="{height - 4}" text-anchor="middle" class="label">'
        f"{escape(x_label)}</text>",
        f'<text x="12" y="{top + plot_h / 2}" text-anchor="middle" class="label" '
        f'transform="rotate(-90 12 {top + plot_h / 2})">{escape(y_label)}</text>',
    ]
    for index, (name, line) in enumerate(series.items()):
        ordered = sorted(line)
        if not ordered:
            continue
        placed = [place(x, y) for x, y in ordered]
        dash = DASHES[index % len(DASHES)]
        dash_attribute = f' stroke-dasharray="{dash}"' if dash else ""
        path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(placed))
        parts.append(f'<path d="{path}" fill="none" stroke="{INK}" stroke-width="1.5"{dash_attribute}/>')
        shape = MARKERS[index % len(MARKERS)]
        parts.extend(_marker(shape, x, y) for x, y in placed)
        last_x, last_y = placed[-1]
        parts.append(f'<text x="{last_x + 8:.1f}" y="{last_y + 4:.1f}" class="label">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text inside went through escape())


def interval_chart(rows: Sequence[tuple[str, float, float, float]], width: int = 520) -> Markup:
    """Rates with their confidence intervals, one row per (label, rate, low, high): a line from low
    to high with a dot at the rate, all on one axis from 0, the numbers written beside each row."""
    label_width, value_width, row_height = 170, 150, 22
    plot = width - label_width - value_width
    top = max((high for *_, high in rows), default=0.0) or 1.0
    height = row_height * len(rows) + 18
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{label_width}" y="{height - 2}" class="value">0</text>',
        f'<text x="{label_width + plot}" y="{height - 2}" text-anchor="end" class="value">'
        f"{escape(number_text(top))}</text>",
    ]
    for index, (label, rate, low, high) in enumerate(rows):
        y = 4 + index * row_height + row_height / 2
        x_low, x_rate, x_high = (label_width + plot * value / top for value in (low, rate, high))
        text = f"{number_text(rate)} [{number_text(low)}, {number_text(high)}]"
        mid, above, below, text_y = f"{y:.1f}", f"{y - 5:.1f}", f"{y + 5:.1f}", f"{y + 4:.1f}"
        low_x, rate_x, high_x = f"{x_low:.1f}", f"{x_rate:.1f}", f"{x_high:.1f}"
        parts += [
            f'<text x="{label_width - 6}" y="{text_y}" text-anchor="end" class="label">'
            f"{escape(label)}</text>",
            f'<line x1="{low_x}" y1="{mid}" x2="{high_x}" y2="{mid}" stroke="{INK}" stroke-width="2"/>',
            f'<line x1="{low_x}" y1="{above}" x2="{low_x}" y2="{below}" stroke="{INK}"/>',
            f'<line x1="{high_x}" y1="{above}" x2="{high_x}" y2="{below}" stroke="{INK}"/>',
            f'<circle cx="{rate_x}" cy="{mid}" r="4" fill="{INK}"><title>{escape(text)}</title></circle>',
            f'<text x="{label_width + plot + 6}" y="{text_y}" class="value">{escape(text)}</text>',
        ]
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text inside went through escape())
