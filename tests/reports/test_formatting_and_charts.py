"""French formatting and the SVG charts (pure functions)."""

from __future__ import annotations

import base64
from datetime import date
from xml.etree import ElementTree

import jinja2

from suivi import charts
from suivi.formatting import NNBSP
from suivi.formatting import format_amount
from suivi.formatting import format_date
from suivi.formatting import format_number
from suivi.formatting import format_percent
from suivi.formatting import format_signed
from suivi.formatting import install_filters
from tests.support.progress import rising

SVG = "{http://www.w3.org/2000/svg}"


def _xml(text: str) -> ElementTree.Element:
    return ElementTree.fromstring(text)  # noqa: S314 - our own output, not untrusted input


def test_french_formats_use_one_narrow_no_break_space():
    assert format_number(1234.5) == f"1{NNBSP}234,5"
    assert format_number(1234.0) == f"1{NNBSP}234"
    assert format_number(None) == "—"
    assert format_percent(0.125) == f"12,5{NNBSP}%"
    assert format_percent(0.5, 0) == f"50{NNBSP}%"
    assert format_amount(1_200_000) == f"1{NNBSP}200{NNBSP}000{NNBSP}€"
    assert format_signed(-3) == "\u22123" and format_signed(2.5) == "+2,5"
    assert format_date(date(2024, 9, 24)) == "24 septembre 2024"
    assert format_date(date(2025, 1, 1)) == "1er janvier 2025"
    assert "\u00a0" not in format_amount(1234567.89, 2) + format_percent(0.5)
    env = install_filters(jinja2.Environment(autoescape=True))
    assert (
        env.from_string("{{ x|percent }} {{ d|frdate }}").render(x=0.125, d=date(2024, 9, 24))
        == f"12,5{NNBSP}% 24 septembre 2024"
    )


def test_actual_series_follows_the_engine_counting_rules():
    spec = rising((date(2024, 12, 31), 10.0), (date(2030, 12, 31), 100.0), cumulative=True)
    readings = [(date(2024, 6, 30), 99.0), (date(2025, 3, 31), 5.0), (date(2025, 6, 30), 7.0),
                (date(2027, 1, 1), 50.0)]  # fmt: skip
    assert charts.actual_series(spec, readings, date(2026, 1, 1)) == [
        (date(2025, 3, 31), 15.0),
        (date(2025, 6, 30), 22.0),
    ]


def test_charts_are_well_formed_accessible_svg():
    svg = charts.trajectory_chart(
        baseline=(date(2024, 12, 31), 100.0),
        targets=[(date(2027, 12, 31), 160.0), (date(2030, 12, 31), 220.0)],
        actual=[(date(2025, 6, 30), 110.0), (date(2026, 6, 30), 125.0)],
        as_of=date(2026, 9, 15),
        forecast=190.0,
        title="Trajectoire <test> & co",
        unit="%",
        status="at_risk",
    )
    root = _xml(str(svg))
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Trajectoire <test> & co"
    desc = root.find(f"{SVG}desc").text
    assert "Situation de départ 100 % au 31 décembre 2024" in desc.replace("\u202f", " ")
    assert "À surveiller" in desc
    img = charts.as_img(svg)
    encoded = str(img).split("base64,")[1].split('"')[0]
    assert base64.b64decode(encoded).decode() == str(svg)
    assert 'alt="Situation de départ' in str(img)

    bar = charts.status_bar({"on_track": 3, "off_track": 1}, labels={"on_track": "A",
                            "off_track": "B"}, title="t")  # fmt: skip
    assert _xml(str(bar)).find(f"{SVG}desc").text == "A : 3 ; B : 1 (total 4)."
    square = {"type": "Polygon", "coordinates": [[[2.8, 50.4], [2.81, 50.4], [2.81, 50.41],
                                                  [2.8, 50.4]]]}  # fmt: skip
    area_map = charts.qpv_map(
        [charts.MapArea("QN1", "Un", square), charts.MapArea("QN2", "Deux", None)],
        highlight=["QN1"],
    )
    root = _xml(str(area_map))
    assert len(root.findall(f"{SVG}path")) == 1
    assert "Un (QN1)" in root.find(f"{SVG}desc").text
    assert _xml(str(charts.qpv_map([], title="vide")))
