"""The errors services raise, with no web framework: each carries its HTTP status as data.

Services, queries and jobs raise `ApiError` subclasses (`NotFound`, `Forbidden`, `Conflict`,
`Invalid`) with a French message for people (and the field at fault for `Invalid`). The API
turns them into `{"detail": ..., "field": ...}` with `status_code` (`suivi.api.errors`); the
pages show `detail`; the CLI prints it.
"""

from __future__ import annotations


class ApiError(Exception):
    status_code = 400

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class NotFound(ApiError):  # noqa: N818 - HTTP vocabulary
    status_code = 404


class Forbidden(ApiError):  # noqa: N818 - HTTP vocabulary
    status_code = 403


class Conflict(ApiError):  # noqa: N818 - HTTP vocabulary
    status_code = 409


class Invalid(ApiError):  # noqa: N818 - HTTP vocabulary
    """Bad input for one field (422)."""

    status_code = 422

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail, field)


def not_found(what: str = "Objet") -> NotFound:
    return NotFound(f"{what} introuvable.")


def forbidden(message: str = "Vous n'avez pas le droit de faire cette modification.") -> Forbidden:
    return Forbidden(message)


STALE_VERSION = (
    "Cet objet a été modifié entre-temps (version périmée) : rechargez-le et recommencez."
)
