"""The one error format of the API: `{"detail": "<French message>"}`, plus `field` (and
`errors`, one per invalid field) for 422.

Services raise the errors of `suivi.errors` (`NotFound`, `Forbidden`, `Conflict`, `Invalid`,
each with its HTTP status); the handlers installed by `install_error_handlers` turn them,
FastAPI's validation errors and HTTPExceptions into that format for paths under /api. Other
paths (the pages) keep FastAPI's default handling.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from suivi.errors import ApiError

API_PREFIX = "/api"


class FieldError(BaseModel):
    field: str
    message: str


class ErrorOut(BaseModel):
    detail: str
    field: str | None = None
    errors: list[FieldError] | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Authentification requise"},
    403: {"model": ErrorOut, "description": "Action interdite"},
    404: {"model": ErrorOut, "description": "Introuvable (ou hors de votre périmètre)"},
    409: {"model": ErrorOut, "description": "Conflit (code en double, version périmée)"},
    422: {"model": ErrorOut, "description": "Donnée invalide"},
}

_MESSAGES = {
    "missing": "champ obligatoire",
    "string_too_long": "texte trop long",
    "string_too_short": "texte trop court",
    "int_parsing": "nombre entier attendu",
    "int_type": "nombre entier attendu",
    "float_parsing": "nombre attendu",
    "float_type": "nombre attendu",
    "finite_number": "nombre fini attendu",
    "date_from_datetime_parsing": "date attendue (AAAA-MM-JJ)",
    "date_parsing": "date attendue (AAAA-MM-JJ)",
    "date_type": "date attendue (AAAA-MM-JJ)",
    "bool_parsing": "booléen attendu (true/false)",
    "bool_type": "booléen attendu (true/false)",
    "literal_error": "valeur non autorisée",
    "enum": "valeur non autorisée",
    "greater_than_equal": "valeur trop petite",
    "less_than_equal": "valeur trop grande",
    "greater_than": "valeur trop petite",
    "less_than": "valeur trop grande",
    "extra_forbidden": "champ inconnu",
    "string_pattern_mismatch": "format invalide",
    "json_invalid": "JSON invalide",
    "model_attributes_type": "objet JSON attendu",
    "dict_type": "objet JSON attendu",
    "list_type": "liste attendue",
    "string_type": "texte attendu",
    "value_error": "valeur invalide",
}


def _field_of(loc: tuple | list) -> str:
    parts = [str(part) for part in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:] or parts
    return ".".join(parts) or "body"


def _message_of(error: dict) -> str:
    kind = error.get("type", "")
    base = _MESSAGES.get(kind)
    if kind == "value_error":
        # Our own validators raise ValueError with a French message.
        message = str(error.get("msg", ""))
        return message.removeprefix("Value error, ") or "valeur invalide"
    if kind in ("literal_error", "enum") and error.get("ctx", {}).get("expected"):
        return f"valeur non autorisée (attendu : {error['ctx']['expected']})"
    if kind in ("string_too_long", "string_too_short") and error.get("ctx"):
        limit = error["ctx"].get("max_length", error["ctx"].get("min_length"))
        return f"{base} (limite : {limit} caractères)"
    return base or "valeur invalide"


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def _json(status_code: int, body: ErrorOut, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(body.model_dump(exclude_none=True), status_code, headers=headers)


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return _json(exc.status_code, ErrorOut(detail=exc.detail, field=exc.field))


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    if not _is_api(request):
        return await request_validation_exception_handler(request, exc)
    errors = [
        FieldError(field=_field_of(error.get("loc", ())), message=_message_of(error))
        for error in exc.errors()
    ]
    first = errors[0] if errors else FieldError(field="body", message="requête invalide")
    detail = f"Donnée invalide pour « {first.field} » : {first.message}."
    return _json(422, ErrorOut(detail=detail, field=first.field, errors=errors))


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if not _is_api(request):
        return await http_exception_handler(request, exc)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        detail = "Ressource introuvable."
    elif exc.status_code == 405:
        detail = "Méthode non autorisée sur cette adresse."
    return _json(exc.status_code, ErrorOut(detail=detail), getattr(exc, "headers", None))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
