"""French formatting of numbers, percentages, amounts and dates (pages, PDF reports, emails).

One convention everywhere: the separator inside numbers (thousands) and before a unit
(« % », « € ») is the NARROW NO-BREAK SPACE U+202F, as recommended by the Imprimerie
nationale and produced by Babel/CLDR for ``fr``. It never breaks a number across lines and
every font we ship (DejaVu Sans) has the glyph::

    format_number(1234.5)    -> "1 234,5"      (U+202F between 1 and 234)
    format_percent(0.125)    -> "12,5 %"
    format_amount(1200000)   -> "1 200 000 €"
    format_date(date(2024, 9, 24)) -> "24 septembre 2024"   (and "1er janvier 2025")

``None`` formats as an em dash so that a missing value is visible but quiet.
"""

from __future__ import annotations

import math
from datetime import date
from datetime import datetime
from decimal import Decimal
from typing import Any

from babel.dates import format_date as _babel_date
from babel.numbers import format_decimal

from suivi.validation import is_safe_url

__all__ = [
    "LOCALE",
    "MISSING",
    "NNBSP",
    "format_amount",
    "format_date",
    "format_month",
    "format_number",
    "format_percent",
    "format_signed",
    "install_filters",
    "safe_url",
]

LOCALE = "fr_FR"
NNBSP = "\u202f"
MISSING = "—"

Number = int | float | Decimal
# Past this, Babel's decimal arithmetic cannot quantise (about 1e27) and digits are noise.
EXACT_LIMIT = 1e15


def _decimal_pattern(decimals: int) -> str:
    return "#,##0" if decimals <= 0 else "#,##0." + "#" * decimals


def _normalise(text: str) -> str:
    # Babel uses U+202F for grouping in fr, but U+00A0 in some patterns: keep one space.
    return text.replace("\u00a0", NNBSP)


def format_number(value: Number | None, decimals: int = 1) -> str:
    """« 1 234,5 »: up to ``decimals`` decimals, trailing zeros dropped."""
    if value is None:
        return MISSING
    if not math.isfinite(value) or abs(value) >= EXACT_LIMIT:
        return _out_of_range(value)
    return _normalise(format_decimal(value, format=_decimal_pattern(decimals), locale=LOCALE))


def _out_of_range(value: Number) -> str:
    """A stored value no writer accepts any more (|x| > 1e12) may still be in an old base:
    shown in scientific notation (« 1,7 × 10^308 »), never an error for the whole page."""
    if math.isnan(value):
        return MISSING
    if math.isinf(value):
        return "−∞" if value < 0 else "∞"
    mantissa, exponent = f"{float(value):.1e}".split("e")
    sign = "−" if mantissa.startswith("-") else ""
    return f"{sign}{mantissa.lstrip('-').replace('.', ',')}{NNBSP}×{NNBSP}10^{int(exponent)}"


def format_signed(value: Number | None, decimals: int = 1) -> str:
    """« +12,5 » / « −3 » (true minus sign), for differences."""
    if value is None:
        return MISSING
    text = format_number(abs(value), decimals)
    if value > 0:
        return "+" + text
    if value < 0:
        return "\u2212" + text
    return text


def format_percent(value: Number | None, decimals: int = 1) -> str:
    """« 12,5 % » from a ratio (0.125)."""
    if value is None:
        return MISSING
    return format_number(float(value) * 100, decimals) + NNBSP + "%"


def format_amount(value: Number | None, decimals: int = 0) -> str:
    """« 1 200 000 € » (whole euros by default)."""
    if value is None:
        return MISSING
    return format_number(value, decimals) + NNBSP + "€"


def format_euros(value: Number | None) -> str:
    """« 16 500,50 € »: money to the cent (financial lines and their roll-ups)."""
    if value is None:
        return MISSING
    if not math.isfinite(value) or abs(value) >= EXACT_LIMIT:
        return _out_of_range(value) + NNBSP + "€"
    return _normalise(format_decimal(value, format="#,##0.00", locale=LOCALE)) + NNBSP + "€"


def format_date(value: date | datetime | None) -> str:
    """« 24 septembre 2024 », « 1er janvier 2025 » (French ordinal for the first day)."""
    if value is None:
        return MISSING
    if isinstance(value, datetime):
        value = value.date()
    text = _babel_date(value, format="d MMMM y", locale=LOCALE)
    return "1er" + text[1:] if value.day == 1 else text


def format_month(value: date | None) -> str:
    """« septembre 2024 »."""
    if value is None:
        return MISSING
    return _babel_date(value, format="MMMM y", locale=LOCALE)


def safe_url(value: Any) -> str:
    """The stored link if it is an http(s) link (`suivi.validation`), else "" (no link):
    whatever an old database or a direct write holds, a `javascript:` link is never rendered
    as `href`. Templates: ``{% set link = m.evidence_url|safe_url %}{% if link %}…``."""
    return value if is_safe_url(value) else ""


def install_filters(env: Any) -> Any:
    """Register the filters on a Jinja2 environment: ``{{ x|number }}``, ``|percent``,
    ``|amount``, ``|euros``, ``|frdate``, ``|month``, ``|signed``, ``|safe_url``. Returns the
    environment."""
    env.filters.update(
        number=format_number,
        percent=format_percent,
        amount=format_amount,
        euros=format_euros,
        frdate=format_date,
        month=format_month,
        signed=format_signed,
        safe_url=safe_url,
    )
    return env
