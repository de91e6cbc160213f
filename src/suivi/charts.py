"""Server-side charts as inline SVG strings, shared by the web pages and the PDF reports.

Every function is pure: plain data in (dates, floats, dicts, GeoJSON geometries), a
``markupsafe.Markup`` SVG string out, ready to drop into a Jinja2 template. Each chart is an
accessible image: ``role="img"`` with a ``<title>`` and a ``<desc>`` that say in words what
the picture shows (screen readers, PDF/A alternative text, text extraction).

Public API:

* ``trajectory_chart(...)`` — one indicator: baseline, expected trajectory through the
  targets, measurements, forecast line to the final target date, ``as_of`` marker;
* ``actual_series(spec, measurements, as_of)`` — the points to plot for an indicator
  (running totals for cumulative indicators), from ``suivi.progress`` rules;
* ``status_bar(counts, ...)`` — one stacked horizontal bar of status counts;
* ``bar_chart(items, ...)`` — horizontal bars (e.g. mean progress per priority);
* ``qpv_map(areas, ...)`` — the QPV contours projected from lon/lat, some highlighted;
* ``as_img(svg)`` — the same chart as an ``<img>`` data URI with ``alt`` (PDF reports).

Colours follow the tones of ``suivi.labels.STATUS_TONE``.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup
from markupsafe import escape

from suivi.formatting import format_date
from suivi.formatting import format_number
from suivi.formatting import format_percent
from suivi.labels import PERFORMANCE_LABELS
from suivi.labels import tone
from suivi.progress import IndicatorSpec

__all__ = [
    "TONE_COLOURS",
    "MapArea",
    "actual_series",
    "as_img",
    "bar_chart",
    "qpv_map",
    "status_bar",
    "trajectory_chart",
]

TONE_COLOURS = {
    "danger": "#b3261e",
    "warning": "#c77700",
    "success": "#2e7d32",
    "info": "#1f5fa8",
    "neutral": "#8a8f98",
}
INK = "#1d2330"
MUTED = "#5d6470"
GRID = "#d9dde3"
ACCENT = "#1f5fa8"
FONT = 'font-family="DejaVu Sans, sans-serif"'


def _num(value: float) -> str:
    """Short, locale-free coordinate (SVG syntax needs dots)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _svg(parts: list[str]) -> Markup:
    # Every text and attribute value inside went through escape() or is a number.
    return Markup("".join(parts))  # noqa: S704


def _open(width: float, height: float, title: str, desc: str, css_class: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css_class}" role="img" '
        f'width="{_num(width)}" height="{_num(height)}" '
        f'viewBox="0 0 {_num(width)} {_num(height)}" {FONT}>'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>"
    )


def _dots(centres: Iterable[tuple[float, float]], radius: float, colour: str) -> str:
    """One element drawing a disc at each centre: zero-length segments with round caps
    (cheaper for renderers than arcs)."""
    moves = "".join(f"M{_num(cx)},{_num(cy)}h0" for cx, cy in centres)
    return (
        f'<path d="{moves}" stroke="{colour}" stroke-width="{_num(2 * radius)}" '
        f'stroke-linecap="round" fill="none"/>'
    )


def as_img(svg: Markup, alt: str | None = None) -> Markup:
    """The same chart as an ``<img>`` with a ``data:`` URI and an ``alt`` text (the SVG's
    description by default). PDF reports use this: WeasyPrint then handles the SVG as an
    image instead of cascading the document's CSS over every SVG node, several times faster
    for reports with hundreds of charts; the alternative text becomes the PDF figure's."""
    if alt is None:
        start, end = svg.find("<desc>"), svg.find("</desc>")
        alt = html.unescape(str(svg[start + 6 : end])) if start >= 0 else ""
    width = svg[svg.find('width="') + 7 :].split('"', 1)[0]
    height = svg[svg.find('height="') + 8 :].split('"', 1)[0]
    data = base64.b64encode(str(svg).encode("utf-8")).decode("ascii")
    return _svg(
        [
            f'<img src="data:image/svg+xml;base64,{data}" alt="{escape(alt)}" '
            f'width="{width}" height="{height}">'
        ]
    )


# -- trajectory -------------------------------------------------------------------------------


def actual_series(
    spec: IndicatorSpec, measurements: Iterable[tuple[date, float]], as_of: date
) -> list[tuple[date, float]]:
    """The actual value after each counted measurement (same counting rules as
    ``suivi.progress.evaluate``): the level itself, or the running total from the baseline
    for a cumulative indicator. Several measurements on one day give one point."""
    counted = sorted(
        (day, value) for day, value in measurements if spec.baseline_date <= day <= as_of
    )
    points: list[tuple[date, float]] = []
    total = spec.baseline_value
    for day, value in counted:
        if spec.cumulative:
            if day > spec.baseline_date:
                total += value
            current = total
        else:
            current = value
        if points and points[-1][0] == day:
            points[-1] = (day, current)
        else:
            points.append((day, current))
    return points


# Beyond this a value is out of the input domain (±1e12, sums of many such values aside):
# left unplotted, since scales and coordinates would overflow.
CHARTABLE = 1e15


def _unavailable(title: str, width: float, height: float) -> Markup:
    """What replaces a chart whose data are out of the input domain (an old base)."""
    message = "Graphique indisponible : données invalides (valeur hors limites)."
    return _svg(
        [
            _open(width, height, title, message, "trajectory unavailable"),
            f'<text x="{_num(width / 2)}" y="{_num(height / 2)}" font-size="11" '
            f'text-anchor="middle" fill="{MUTED}">{escape(message)}</text></svg>',
        ]
    )


def _nice_step(span: float, count: int = 4) -> float:
    raw = span / max(count, 1)
    if raw <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def trajectory_chart(
    *,
    baseline: tuple[date, float],
    targets: Sequence[tuple[date, float]],
    actual: Sequence[tuple[date, float]],
    as_of: date,
    forecast: float | None = None,
    title: str = "Trajectoire de l'indicateur",
    unit: str = "",
    status: str | None = None,
    width: float = 460,
    height: float = 170,
) -> Markup:
    """Line chart of one indicator.

    ``actual`` are the points to plot (see ``actual_series``); ``forecast`` the value the
    trend reaches at the final target date; ``status`` a performance code that colours the
    measurement points.
    """
    baseline_day, baseline_value = baseline
    targets = sorted(targets)
    plotted = [baseline_value, *(v for _, v in targets), *(v for _, v in actual)]
    if forecast is not None:
        plotted.append(forecast)
    if not all(math.isfinite(v) and abs(v) <= CHARTABLE for v in plotted):
        return _unavailable(title, width, height)
    expected_line = [baseline, *targets]
    end_day = max(
        [as_of, baseline_day, *(d for d, _ in targets), *(d for d, _ in actual)],
    )
    start_day = baseline_day
    values = [baseline_value, *(v for _, v in targets), *(v for _, v in actual)]
    if forecast is not None and targets:
        values.append(forecast)
    low, high = min(values), max(values)
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    step = _nice_step(high - low, 3)
    low = math.floor(low / step) * step
    high = math.ceil(high / step) * step
    if low < 0 <= min(values):
        low = 0.0

    left, right, top, bottom = 48.0, 10.0, 10.0, 22.0
    plot_w, plot_h = width - left - right, height - top - bottom
    span_days = max((end_day - start_day).days, 1)

    def x(day: date) -> float:
        return left + plot_w * (day - start_day).days / span_days

    def y(value: float) -> float:
        return top + plot_h * (1 - (value - low) / (high - low))

    unit_suffix = f" {unit}" if unit else ""
    parts_desc = [
        f"Situation de départ {format_number(baseline_value)}{unit_suffix} "
        f"au {format_date(baseline_day)}."
    ]
    if targets:
        parts_desc.append(
            "Cibles : "
            + " ; ".join(f"{format_number(v)}{unit_suffix} au {format_date(d)}" for d, v in targets)
            + "."
        )
    if actual:
        last_day, last_value = actual[-1]
        parts_desc.append(
            f"{len(actual)} mesure(s), la dernière {format_number(last_value)}{unit_suffix} "
            f"au {format_date(last_day)}."
        )
    else:
        parts_desc.append("Aucune mesure.")
    if forecast is not None and targets:
        parts_desc.append(
            f"Tendance projetée à l'échéance : {format_number(forecast)}{unit_suffix}."
        )
    if status:
        parts_desc.append(f"Statut : {PERFORMANCE_LABELS.get(status, status)}.")

    out = [_open(width, height, title, " ".join(parts_desc), "trajectory")]
    # Few SVG elements on purpose (one path per kind of mark): renderers pay per element.
    grid, labels_y = [], []
    tick = low
    while tick <= high + step / 2:
        ty = y(tick)
        grid.append(f"M{_num(left)},{_num(ty)}H{_num(width - right)}")
        labels_y.append(
            f'<text x="{_num(left - 4)}" y="{_num(ty + 3)}">{escape(format_number(tick))}</text>'
        )
        tick += step
    ticks, labels_x = [], []
    years = range(start_day.year + 1, end_day.year + 1)
    label_every = 1 if len(years) <= 4 else 2
    for rank, year in enumerate(years):
        tx = x(date(year, 1, 1))
        ticks.append(f"M{_num(tx)},{_num(top + plot_h)}v3")
        if rank % label_every == 0:
            labels_x.append(f'<text x="{_num(tx)}" y="{_num(height - 8)}">{year}</text>')
    out.append(f'<path d="{"".join(grid)}" stroke="{GRID}" stroke-width="0.6"/>')
    if ticks:
        out.append(f'<path d="{"".join(ticks)}" stroke="{MUTED}" stroke-width="0.6"/>')
    out.append(
        f'<g font-size="8" fill="{MUTED}" text-anchor="end">{"".join(labels_y)}</g>'
        f'<g font-size="8" fill="{MUTED}" text-anchor="middle">{"".join(labels_x)}</g>'
    )
    # As-of marker.
    out.append(
        f'<path d="M{_num(x(as_of))},{_num(top)}V{_num(top + plot_h)}" stroke="{MUTED}" '
        f'stroke-width="0.6" stroke-dasharray="2,2"/>'
    )
    # Expected trajectory, targets (squares) and baseline (dot).
    points = " ".join(f"{_num(x(d))},{_num(y(v))}" for d, v in expected_line)
    out.append(
        f'<polyline points="{points}" fill="none" stroke="{MUTED}" stroke-width="1.2" '
        f'stroke-dasharray="5,3"/>'
    )
    if targets:
        squares = "".join(f"M{_num(x(d) - 3)},{_num(y(v) - 3)}h6v6h-6z" for d, v in targets)
        out.append(f'<path d="{squares}" fill="#ffffff" stroke="{INK}" stroke-width="1"/>')
    out.append(_dots([(x(baseline_day), y(baseline_value))], 2.5, INK))
    # Forecast: from the last measurement to the final target date.
    if forecast is not None and targets and actual:
        last_day, last_value = actual[-1]
        out.append(
            f'<path d="M{_num(x(last_day))},{_num(y(last_value))}'
            f'L{_num(x(targets[-1][0]))},{_num(y(forecast))}" stroke="{ACCENT}" '
            f'stroke-width="1" stroke-dasharray="1.5,2.5"/>'
        )
    # Measurements.
    colour = TONE_COLOURS[tone(status)] if status else ACCENT
    if actual:
        line = " ".join(f"{_num(x(d))},{_num(y(v))}" for d, v in [baseline, *actual])
        out.append(f'<polyline points="{line}" fill="none" stroke="{ACCENT}" stroke-width="1.6"/>')
        out.append(_dots([(x(d), y(v)) for d, v in actual], 2.2, colour))
    out.append("</svg>")
    return _svg(out)


# -- status bars ------------------------------------------------------------------------------


def status_bar(
    counts: Mapping[str, int],
    *,
    labels: Mapping[str, str],
    title: str,
    width: float = 460,
    height: float = 14,
) -> Markup:
    """One horizontal bar split by status (in the order of ``labels``), tone colours."""
    total = sum(counts.get(code, 0) for code in labels)
    described = [
        f"{labels[code]} : {counts.get(code, 0)}" for code in labels if counts.get(code, 0)
    ]
    desc = (" ; ".join(described) + f" (total {total}).") if total else "Aucun indicateur."
    out = [_open(width, height, title, desc, "status-bar")]
    if total == 0:
        out.append(
            f'<rect x="0" y="0" width="{_num(width)}" height="{_num(height)}" fill="{GRID}"/>'
        )
    else:
        cursor = 0.0
        for code in labels:
            count = counts.get(code, 0)
            if not count:
                continue
            segment = width * count / total
            out.append(
                f'<rect x="{_num(cursor)}" y="0" width="{_num(segment)}" '
                f'height="{_num(height)}" fill="{TONE_COLOURS[tone(code)]}" '
                f'stroke="#ffffff" stroke-width="0.8"/>'
            )
            if segment >= 14:
                out.append(
                    f'<text x="{_num(cursor + segment / 2)}" y="{_num(height / 2 + 3)}" '
                    f'font-size="8" text-anchor="middle" fill="#ffffff">{count}</text>'
                )
            cursor += segment
    out.append("</svg>")
    return _svg(out)


def bar_chart(
    items: Sequence[tuple[str, float | None]],
    *,
    title: str,
    as_percent: bool = True,
    width: float = 460,
    row_height: float = 16,
    label_width: float = 190,
) -> Markup:
    """Horizontal bars, one per ``(label, value)``; values in [0, 1] when ``as_percent``."""
    height = row_height * max(len(items), 1) + 4
    fmt = format_percent if as_percent else format_number
    top_value = 1.0 if as_percent else max([v for _, v in items if v is not None] or [1.0])
    top_value = top_value or 1.0
    desc = " ; ".join(f"{name} : {fmt(value)}" for name, value in items) or "Aucune donnée."
    out = [_open(width, height, title, desc, "bar-chart")]
    bar_w = width - label_width - 50
    for row, (name, value) in enumerate(items):
        ty = 2 + row * row_height
        short = name if len(name) <= 34 else name[:33] + "…"
        out.append(
            f'<text x="{_num(label_width - 6)}" y="{_num(ty + row_height / 2 + 3)}" '
            f'font-size="8" text-anchor="end" fill="{INK}">{escape(short)}</text>'
            f'<rect x="{_num(label_width)}" y="{_num(ty + 3)}" width="{_num(bar_w)}" '
            f'height="{_num(row_height - 6)}" fill="{GRID}"/>'
        )
        if value is not None:
            fill = max(0.0, min(1.0, value / top_value))
            out.append(
                f'<rect x="{_num(label_width)}" y="{_num(ty + 3)}" '
                f'width="{_num(bar_w * fill)}" height="{_num(row_height - 6)}" fill="{ACCENT}"/>'
            )
        out.append(
            f'<text x="{_num(label_width + bar_w + 4)}" y="{_num(ty + row_height / 2 + 3)}" '
            f'font-size="8" fill="{INK}">{escape(fmt(value))}</text>'
        )
    out.append("</svg>")
    return _svg(out)


# -- map --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MapArea:
    """One QPV on the map: its code, name and GeoJSON geometry (Polygon or MultiPolygon)."""

    code: str
    name: str
    geometry: Mapping | None


def _rings(geometry: Mapping | None) -> list[list[tuple[float, float]]]:
    if not geometry:
        return []
    kind, coordinates = geometry.get("type"), geometry.get("coordinates") or []
    polygons = [coordinates] if kind == "Polygon" else coordinates if kind == "MultiPolygon" else []
    return [[(float(p[0]), float(p[1])) for p in ring] for polygon in polygons for ring in polygon]


def qpv_map(
    areas: Sequence[MapArea],
    *,
    highlight: Iterable[str] = (),
    title: str = "Carte des quartiers prioritaires",
    width: float = 460,
    height: float = 300,
    label_highlighted: bool = True,
) -> Markup:
    """The QPV contours in an equirectangular projection (x scaled by cos(latitude), fine at
    the scale of an agglomeration). Highlighted quartiers are filled in the accent colour;
    when ``highlight`` is empty every quartier is drawn the same."""
    marked = set(highlight)
    shapes = [(area, _rings(area.geometry)) for area in areas]
    all_points = [p for _, rings in shapes for ring in rings for p in ring]
    names = ", ".join(f"{a.name} ({a.code})" for a in areas if not marked or a.code in marked)
    desc = f"Contours de {len(areas)} quartier(s) prioritaire(s). " + (
        f"En couleur : {names}." if marked else f"Quartiers : {names}."
    )
    out = [_open(width, height, title, desc, "qpv-map")]
    if not all_points:
        out.append(
            f'<text x="{_num(width / 2)}" y="{_num(height / 2)}" font-size="10" '
            f'text-anchor="middle" fill="{MUTED}">Contours non disponibles</text></svg>'
        )
        return _svg(out)
    lons = [p[0] for p in all_points]
    lats = [p[1] for p in all_points]
    mid_lat = math.radians((min(lats) + max(lats)) / 2)
    kx = math.cos(mid_lat)
    span_x = max((max(lons) - min(lons)) * kx, 1e-6)
    span_y = max(max(lats) - min(lats), 1e-6)
    margin = 12.0
    scale = min((width - 2 * margin) / span_x, (height - 2 * margin) / span_y)
    off_x = (width - span_x * scale) / 2
    off_y = (height - span_y * scale) / 2
    min_lon, max_lat = min(lons), max(lats)

    def project(point: tuple[float, float]) -> tuple[float, float]:
        return (
            off_x + (point[0] - min_lon) * kx * scale,
            off_y + (max_lat - point[1]) * scale,
        )

    labels = []
    # Plain quartiers first, highlighted ones on top.
    for area, rings in sorted(shapes, key=lambda item: item[0].code in marked):
        if not rings:
            continue
        is_marked = area.code in marked
        fill = ACCENT if is_marked or not marked else "#c9d3e0"
        path = " ".join(
            "M" + " L".join(f"{_num(px)},{_num(py)}" for px, py in map(project, ring)) + " Z"
            for ring in rings
        )
        out.append(
            f'<path d="{path}" fill="{fill}" fill-opacity="{0.85 if is_marked else 0.6}" '
            f'stroke="#ffffff" stroke-width="0.6" fill-rule="evenodd"/>'
        )
        if is_marked and label_highlighted:
            xs = [project(p) for ring in rings for p in ring]
            cx = sum(p[0] for p in xs) / len(xs)
            cy = min(p[1] for p in xs) - 3
            labels.append(
                f'<text x="{_num(cx)}" y="{_num(max(cy, 9))}" font-size="9" '
                f'text-anchor="middle" fill="{INK}">{escape(area.name)}</text>'
            )
    out.extend(labels)
    out.append("</svg>")
    return _svg(out)
