"""`suivi.records.view_of`: a view built from a record's same-named attributes."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from pydantic import BaseModel

from suivi.records import field_names
from suivi.records import view_of


@dataclass(frozen=True)
class _Row:
    code: str
    name: str
    share: float = 1.0


class _Out(BaseModel):
    code: str
    name: str
    total: int


def test_copies_same_named_attributes_and_keeps_defaults_for_absent_ones() -> None:
    record = SimpleNamespace(code="IND-1", name="Taux d'emploi", unrelated="ignored")
    assert view_of(_Row, record) == _Row(code="IND-1", name="Taux d'emploi", share=1.0)


def test_given_values_win_over_the_record() -> None:
    record = SimpleNamespace(code="IND-1", name="ancien nom", share=0.25)
    assert view_of(_Row, record, name="nouveau nom") == _Row("IND-1", "nouveau nom", 0.25)


def test_builds_pydantic_models_and_reports_a_missing_field() -> None:
    record = SimpleNamespace(code="C", name="N")
    assert view_of(_Out, record, total=3).model_dump() == {"code": "C", "name": "N", "total": 3}
    with pytest.raises(ValueError, match="total"):
        view_of(_Out, record)
    with pytest.raises(TypeError, match="name"):
        view_of(_Row, SimpleNamespace(code="C"), share=2.0)


def test_field_names_refuses_other_classes() -> None:
    assert field_names(_Row) == ("code", "name", "share")
    with pytest.raises(TypeError, match="neither"):
        field_names(dict)
