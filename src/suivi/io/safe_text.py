"""Text written to spreadsheets, made safe: never run as a formula, never refused.

CSV (OWASP « CSV injection »): a text field starting with = + - @, a tab or a carriage
return is run as a formula by a spreadsheet that opens the file; `csv_text` prefixes it with a
single quote, which spreadsheets show as « this is text ». Numeric columns are not passed
through it (-3.5 stays a number). `csv_text_read` takes the quote back off on import, so
export → import gives the stored text back, whatever it is.

xlsx: `xlsx_text` drops the control characters XML cannot carry (openpyxl would refuse the
whole workbook), and `suivi.io.export` writes text cells as text (never as a formula).
"""

from __future__ import annotations

import re

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
# XML 1.0 refuses C0 controls but tab, LF and CR (openpyxl's ILLEGAL_CHARACTERS_RE).
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _quoted_on_read(text: str) -> bool:
    """A quote the import would take off: before a trigger or before another quote."""
    return text.startswith(QUOTE) and (text[1:].startswith(FORMULA_TRIGGERS + (QUOTE,)))


def csv_text(text: str) -> str:
    """`text` for a CSV text field. A text that already looks quoted is quoted again, so
    the import's `csv_text_read` gives it back unchanged."""
    if text.startswith(FORMULA_TRIGGERS) or _quoted_on_read(text):
        return QUOTE + text
    return text


def csv_text_read(text: str) -> str:
    """The inverse of `csv_text`, for a CSV text field read back."""
    return text[1:] if _quoted_on_read(text) else text


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_TRIGGERS)


def xlsx_text(text: str) -> str:
    """`text` without the characters an xlsx file cannot hold."""
    return _XML_ILLEGAL.sub("", text)
