"""Building a view (a dataclass or a pydantic model) from a record with the same attribute names.

Pages, reports, emails and the API read frozen views built from ORM rows. Copying them field by
field (`code=indicator.code, name=indicator.name, …`) repeated the class's field list at every
place that builds one, and had to be kept in step with it by hand. `view_of` copies every field
the record has under the same name; the caller gives only what differs or is computed.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any
from typing import TypeVar

T = TypeVar("T")

_MISSING = object()


@functools.cache
def field_names(cls: type) -> tuple[str, ...]:
    """The fields of a dataclass or of a pydantic model, in declaration order (read once per
    class: `view_of` runs on every request's principal and for every indicator judged)."""
    if dataclasses.is_dataclass(cls):
        return tuple(field.name for field in dataclasses.fields(cls) if field.init)
    model_fields = getattr(cls, "model_fields", None)
    if model_fields is None:
        raise TypeError(f"{cls.__name__} is neither a dataclass nor a pydantic model")
    return tuple(model_fields)


def view_of(cls: type[T], record: object, **given: Any) -> T:
    """`cls` with each field taken from `given`, else from `record`'s attribute of the same
    name; a field the record lacks keeps the class's default (or is reported missing by `cls`)."""
    values = dict(given)
    for name in field_names(cls):
        if name not in values:
            value = getattr(record, name, _MISSING)
            if value is not _MISSING:
                values[name] = value
    return cls(**values)
