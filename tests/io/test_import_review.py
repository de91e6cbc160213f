"""Imported figures follow the review (issue #18): submitted, or validated on import by a
validator of the owning partner (audited); a row dated on or before a locked cut-off refuses
the whole file."""

from __future__ import annotations

from datetime import date

from openpyxl import Workbook
from sqlalchemy import select

from suivi.auth.models import User
from suivi.auth.principal import load_principal
from suivi.contract.models import Meeting
from suivi.indicators import review
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from tests.support.io import database_digest
from tests.support.io import import_from
from tests.support.review import audit_rows
from tests.support.review import autumn_copil
from tests.support.review import france_travail_indicators

DEMO_DAY = date(2026, 11, 15)


def _codes(db, ids):
    with db.session(write=False) as session:
        return [session.get(Indicator, i).code for i in ids]


def _workbook(path, rows):
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Mesures"
    sheet.append(["Code indicateur", "Date", "Valeur", "Commentaire"])
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    return path


def _principal(db, role):
    with db.session(write=False) as session:
        user = session.execute(select(User).where(User.role == role)).scalar_one()
        return load_principal(session, user)


def _current(db, indicator_id, day):
    with db.session(write=False) as session:
        return session.execute(
            select(Measurement).where(
                Measurement.indicator_id == indicator_id,
                Measurement.measured_on == day,
                Measurement.superseded_by_id.is_(None),
            )
        ).scalar_one()


def test_a_row_up_to_a_locked_cutoff_refuses_the_whole_import(demo_db, tmp_path):
    first, second = france_travail_indicators(demo_db)[:2]
    codes = _codes(demo_db, [first, second])
    meeting = autumn_copil(demo_db)
    with demo_db.session() as session:
        review.lock_meeting(
            session,
            _principal(demo_db, "admin"),
            session.get(Meeting, meeting.id),
            data_cutoff=date(2026, 10, 31),
        )
    path = _workbook(
        tmp_path / "mesures.xlsx",
        [(codes[0], date(2026, 11, 6), 10.0, "après"), (codes[1], date(2026, 10, 20), 5.0, "")],
    )
    before = database_digest(demo_db)
    report = import_from(demo_db, path, principal=_principal(demo_db, "admin"), today=DEMO_DAY)
    assert not report.ok
    messages = [problem.message for problem in report.problems]
    assert len(messages) == 1
    assert "Comité de pilotage 2026" in messages[0] and "31 octobre 2026" in messages[0]
    assert report.problems[0].row == 3
    assert database_digest(demo_db) == before


def test_validated_on_import_by_the_owning_partners_validator(demo_db, tmp_path):
    first, second = france_travail_indicators(demo_db)[:2]
    codes = _codes(demo_db, [first, second])
    partner = _principal(demo_db, "partenaire")
    path = _workbook(tmp_path / "a.xlsx", [(codes[0], date(2026, 11, 6), 10.0, "")])
    report = import_from(
        demo_db, path, principal=partner, actor_id=partner.user_id, today=DEMO_DAY, validate=True
    )
    assert report.ok, report.problems
    figure = _current(demo_db, first, date(2026, 11, 6))
    assert figure.status == "validated" and figure.validated_by_id == partner.user_id
    audit = [row.after for row in audit_rows(demo_db, "measurement", figure.id)]
    assert any(a.get("validated_on_import") for a in audit)

    # Without the option: submitted, like any entry.
    path = _workbook(tmp_path / "b.xlsx", [(codes[1], date(2026, 11, 6), 11.0, "")])
    report = import_from(demo_db, path, principal=partner, actor_id=partner.user_id, today=DEMO_DAY)
    assert report.ok, report.problems
    assert _current(demo_db, second, date(2026, 11, 6)).status == "submitted"


def test_validate_on_import_by_someone_else_is_refused(demo_db, tmp_path):
    first = france_travail_indicators(demo_db)[0]
    code = _codes(demo_db, [first])[0]
    admin = _principal(demo_db, "admin")
    path = _workbook(tmp_path / "c.xlsx", [(code, date(2026, 11, 6), 10.0, "")])
    before = database_digest(demo_db)
    report = import_from(
        demo_db, path, principal=admin, actor_id=admin.user_id, today=DEMO_DAY, validate=True
    )
    assert not report.ok
    assert "valideur du partenaire" in report.problems[0].message
    assert database_digest(demo_db) == before
