"""The input domain of Suivi: one definition of an acceptable link, text and number, used by
every writer (API schemas, services, web forms, spreadsheet import, CLI).

Each function returns the cleaned value or raises `InputError` with a French message that
every entry point shows as is (422 `{"detail": …}` in the API, the field's error in a form, a
row's problem in an import report). No web framework here: services and the importer use it.

- a link (`clean_url`): http(s) only, a host, no credentials, at most 500 characters (the
  column). Anything else (`javascript:`, `data:`…) could run in the reader's browser.
- a text (`clean_text`): no control characters other than line break and tab (a
  spreadsheet or a PDF cannot hold them), line breaks normalised to \\n, bounded length.
- a number (`clean_number`): finite and at most 1e12 in absolute value, so that sums, charts
  and French formatting of any stored value stay exact and never overflow.
"""

from __future__ import annotations

import math
import re
from urllib.parse import urlsplit

MAX_ABS_NUMBER = 1e12
MAX_URL_LENGTH = 500
URL_SCHEMES = ("http", "https")

# C0 controls and DEL, except tab and line feed (carriage returns are normalised away).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class InputError(ValueError):
    """A value outside Suivi's input domain; the message is French, for people."""


def clean_number(value: float | int, what: str = "La valeur") -> float:
    """A finite number within ±1e12, as a float."""
    if isinstance(value, bool):
        raise InputError(f"{what} doit être un nombre.")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{what} doit être un nombre.") from None
    if not math.isfinite(number) or abs(number) > MAX_ABS_NUMBER:
        raise InputError(
            f"{what} doit être un nombre fini compris entre −1e12 et 1e12 (1 000 milliards)."
        )
    return number


def clean_text(value: str, max_length: int, what: str = "Le texte") -> str:
    """The text with line breaks normalised and outer spaces kept; refused when it holds a
    control character (other than line break and tab) or is longer than `max_length`."""
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    if _CONTROL.search(text):
        raise InputError(
            f"{what} contient un caractère de contrôle interdit (seuls les retours à la ligne "
            "et les tabulations sont acceptés)."
        )
    if len(text) > max_length:
        raise InputError(f"{what} est trop long ({max_length} caractères au plus).")
    return text


def clean_url(value: str, max_length: int = MAX_URL_LENGTH) -> str:
    """An http(s) link with a host and no credentials, stripped; "" stays "" (no link)."""
    url = clean_text(value, max_length, "Le lien").strip()
    if not url:
        return ""
    if any(character.isspace() for character in url):
        raise InputError("Le lien ne doit pas contenir d'espace.")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise InputError("Le lien n'est pas une adresse web valide.") from None
    if parts.scheme.lower() not in URL_SCHEMES:
        raise InputError("Le lien doit commencer par http:// ou https://.")
    if not hostname:
        raise InputError("Le lien doit indiquer un site (http://site.fr/…).")
    if parts.username is not None or parts.password is not None:
        raise InputError("Le lien ne doit pas contenir d'identifiant ni de mot de passe.")
    return url


def luhn_valid(digits: str) -> bool:
    """The Luhn key of a SIREN or SIRET (INSEE): every second digit from the right doubled."""
    total = 0
    for index, character in enumerate(reversed(digits)):
        value = int(character) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


LA_POSTE_SIREN = "356000000"


def siret_valid(value: str) -> bool:
    """14 digits whose Luhn key is right; La Poste's offices share one SIREN and follow their
    own key (digits summing to a multiple of 5)."""
    if not (len(value) == 14 and value.isdigit()):
        return False
    return luhn_valid(value) or (value.startswith(LA_POSTE_SIREN) and sum(map(int, value)) % 5 == 0)


def is_safe_url(value: object) -> bool:
    """Whether a stored value may be rendered as a link (whatever an old database holds)."""
    if not isinstance(value, str) or not value:
        return False
    try:
        return clean_url(value) == value
    except InputError:
        return False
