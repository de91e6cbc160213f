"""Partner summaries through a real SMTP server (aiosmtpd): each contact gets its partner's
commitments only, once per period, whatever outages or crashes happen in between."""

from __future__ import annotations

import html as html_lib
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from datetime import timedelta
from email import message_from_bytes
from email import policy
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import select

from suivi.commitments.models import INACTIVE_STATUSES
from suivi.commitments.models import Commitment
from suivi.commitments.models import CommitmentPartner
from suivi.contract.models import Contract
from suivi.contract.models import Partner
from suivi.contract.models import PartnerContact
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.notifications.email import message_id_for
from suivi.notifications.models import EmailDelivery
from suivi.notifications.summaries import period_bounds
from suivi.notifications.summaries import plan_summaries
from suivi.notifications.summaries import previous_summary_date
from suivi.notifications.summaries import send_partner_summaries
from suivi.notifications.summaries import summary_dedup_key
from suivi.notifications.summaries import summary_email
from suivi.notifications.summaries import summary_period
from suivi.notifications.summaries import summary_subject
from tests.support.databases import DEMO_AS_OF
from tests.support.reports import archived_report
from tests.support.smtp import SmtpServer
from tests.support.smtp import smtp_settings

MONDAY = DEMO_AS_OF + timedelta(days=1)  # 2026-11-16, ISO week 47
NO_WAIT = {"sleep": lambda _seconds: None}
CODE = re.compile(r"\bENG-\d{3}\b")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


# -- helpers -----------------------------------------------------------------------------


def contacts_of(db) -> dict[str, dict]:
    """{email: {id, partner_id, frequency}} of the demo's contacts."""
    with db.session(write=False) as session:
        return {
            c.email: {"id": c.id, "partner_id": c.partner_id, "frequency": c.frequency}
            for c in session.execute(select(PartnerContact)).scalars()
        }


def partner_codes(db) -> tuple[dict[int, set[str]], set[str]]:
    """Independent statement of the rule: a partner's commitments are the active ones it
    leads or co-funds. Returns ({partner id: codes}, every code of the contract)."""
    with db.session(write=False) as session:
        commitments = session.execute(select(Commitment)).scalars().all()
        co = session.execute(select(CommitmentPartner)).scalars().all()
    codes: dict[int, set[str]] = {}
    by_id = {c.id: c for c in commitments}
    for c in commitments:
        if c.status not in INACTIVE_STATUSES:
            codes.setdefault(c.lead_partner_id, set()).add(c.code)
    for link in co:
        commitment = by_id[link.commitment_id]
        if commitment.status not in INACTIVE_STATUSES:
            codes.setdefault(link.partner_id, set()).add(commitment.code)
    return codes, {c.code for c in commitments}


def parts(message) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


def visible_text(html: str) -> str:
    """What a reader sees in the HTML part (no tags, no attributes, no <title>)."""
    body = html[html.index("<body") :]
    parser = _TextOf()
    parser.feed(body)
    return html_lib.unescape(" ".join(parser.chunks))


NUMBER = re.compile(r"\d[\d\u202f]*(?:,\d+)?")


def figures(text: str) -> set[str]:
    return set(NUMBER.findall(re.sub(r"https?://\S+", " ", text)))


def by_recipient(server: SmtpServer) -> dict[str, list]:
    result: dict[str, list] = {}
    for item in server.received:
        for recipient in item.recipients:
            result.setdefault(recipient, []).append(item.message)
    return result


def statuses(db) -> Counter:
    with db.session(write=False) as session:
        return Counter(
            session.execute(
                select(EmailDelivery.status).where(EmailDelivery.kind == "partner_summary")
            ).scalars()
        )


# -- periods (pure) ----------------------------------------------------------------------


def test_periods_keys_and_subjects():
    assert summary_period("monthly", date(2026, 11, 26)) == "2026-11"
    assert summary_period("weekly", date(2026, 11, 26)) == "2026-W48"
    assert summary_period("weekly", date(2027, 1, 1)) == "2026-W53"
    assert period_bounds("2026-W48") == (date(2026, 11, 23), date(2026, 11, 29))
    assert period_bounds("2026-12") == (date(2026, 12, 1), date(2026, 12, 31))
    assert summary_dedup_key(12, "2026-11") == "partner_summary:contact:12:2026-11"
    assert (
        summary_subject("monthly", date(2026, 11, 26))
        == "Suivi du contrat de ville — votre point de novembre 2026"
    )
    assert (
        summary_subject("weekly", date(2026, 11, 26))
        == "Suivi du contrat de ville — votre point de la semaine du 23 novembre 2026"
    )
    # The previous summary's date: its send day, kept inside its period and before today.
    from datetime import UTC
    from datetime import datetime
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    sent = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)  # already 3 November in Paris
    assert previous_summary_date("2026-11", sent, paris, date(2026, 12, 7)) == date(2026, 11, 3)
    assert previous_summary_date("2026-10", sent, paris, date(2026, 12, 7)) == date(2026, 10, 31)
    assert previous_summary_date("2026-11", sent, paris, date(2026, 11, 2)) == date(2026, 11, 2)


# -- content -----------------------------------------------------------------------------


def test_each_contact_gets_exactly_its_partners_commitments(demo_db, smtp_server):
    settings = smtp_settings(demo_db.settings, smtp_server.port)
    counts = send_partner_summaries(demo_db.engine, settings, as_of=MONDAY, **NO_WAIT)
    contacts = contacts_of(demo_db)
    assert counts["sent"] == len(contacts) == 5
    expected, every_code = partner_codes(demo_db)
    received = by_recipient(smtp_server)
    assert set(received) == set(contacts)
    for email, messages in received.items():
        assert len(messages) == 1
        message = messages[0]
        contact = contacts[email]
        own = expected[contact["partner_id"]]
        others = every_code - own
        text, html = parts(message)
        for part in (text, visible_text(html), html):
            named = set(CODE.findall(part))
            assert named, email
            assert named <= own, (email, named - own)
            assert not named & others
        # Read as a mail client would.
        assert message.get_content_type() == "multipart/alternative"
        period = summary_period(contact["frequency"], MONDAY)
        key = summary_dedup_key(contact["id"], period)
        assert message["Message-ID"] == message_id_for(key, settings)
        assert message["Subject"] == summary_subject(contact["frequency"], MONDAY)
        assert message["From"] == settings.smtp.sender
        assert message["Reply-To"] == settings.smtp.reply_to
        assert message["To"] == email
        assert parsedate_to_datetime(message["Date"]).tzinfo is not None
        unsubscribe = message["List-Unsubscribe"].strip()  # folded when long
        assert unsubscribe.startswith("<http://testserver/desabonnement/"), unsubscribe
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert unsubscribe.strip("<>") in text and unsubscribe.strip("<>") in html
        for part in (text, html):
            assert "Données fictives de démonstration" in part
            assert "Vous recevez ce point" in part
            assert "http://testserver/indicateurs/" in part
        assert "<img" not in html and "<link" not in html and "<script" not in html
    weekly = [e for e, c in contacts.items() if c["frequency"] == "weekly"]
    assert "semaine du 16 novembre 2026" in received[weekly[0]][0]["Subject"]


def test_text_and_html_parts_say_the_same_thing(demo_db):
    settings = demo_db.settings
    with demo_db.session(write=False) as session:
        summaries, _ = plan_summaries(session, settings, as_of=MONDAY)
    assert summaries
    for summary in summaries:
        message = summary_email(settings, summary)
        seen = visible_text(message.html)
        assert set(CODE.findall(message.text)) == set(CODE.findall(seen)), summary.contact_email
        indicator_code = re.compile(r"\bENG-\d{3}-I\d+\b")
        assert set(indicator_code.findall(message.text)) == set(indicator_code.findall(seen))
        assert figures(message.text) == figures(seen), (
            summary.contact_email,
            figures(message.text) ^ figures(seen),
        )
        # Every indicator to update has its direct link in both parts.
        for line in summary.overdue.items + summary.due_soon.items:
            assert line.url in message.text and f'href="{line.url}"' in message.html


@pytest.mark.browser  # chromium itself: not under libfaketime (`make test-clock` skips it)
def test_rendered_html_is_looked_at(demo_db):
    """Save one summary and a screenshot under test-artifacts/ to look at it."""
    settings = demo_db.settings
    with demo_db.session(write=False) as session:
        summaries, _ = plan_summaries(session, settings, as_of=MONDAY)
    summary = max(summaries, key=lambda s: len(s.commitments))
    message = summary_email(settings, summary)
    ARTIFACTS.mkdir(exist_ok=True)
    page = ARTIFACTS / "partner_summary.html"
    page.write_text(message.html, encoding="utf-8")
    (ARTIFACTS / "partner_summary.txt").write_text(message.text, encoding="utf-8")
    chromium = "/usr/bin/chromium"
    if not os.path.exists(chromium):
        pytest.skip("chromium absent: HTML saved without screenshot")
    shot = ARTIFACTS / "partner_summary.png"
    shot.unlink(missing_ok=True)
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=700,3800",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert shot.stat().st_size > 20_000  # a real rendering, not a blank page


def test_changes_since_the_previous_summary(demo_db, smtp_server):
    settings = smtp_settings(demo_db.settings, smtp_server.port)
    contacts = contacts_of(demo_db)
    weekly = next(e for e, c in contacts.items() if c["frequency"] == "weekly")
    send_partner_summaries(demo_db.engine, settings, as_of=MONDAY, **NO_WAIT)
    first_text, _ = parts(by_recipient(smtp_server)[weekly][0])
    assert "C'est votre premier point" in first_text
    # An at-risk indicator of this partner reaches its final target the next week.
    with demo_db.session() as session:
        summaries, _ = plan_summaries(session, settings, as_of=MONDAY + timedelta(days=7))
        summary = next(s for s in summaries if s.contact_email == weekly)
        line = summary.at_risk.items[0]
        indicator = session.get(Indicator, line.id)
        session.add(
            Measurement(
                indicator_id=indicator.id,
                # After the date the previous summary described (the end of week 47 at most).
                measured_on=MONDAY + timedelta(days=7),
                value=10 * max(abs(indicator.baseline_value), 1000.0)
                if indicator.direction == "increase"
                else 0.0,
                comment="test",
            )
        )
    send_partner_summaries(demo_db.engine, settings, as_of=MONDAY + timedelta(days=7), **NO_WAIT)
    second = by_recipient(smtp_server)[weekly]
    assert len(second) == 2
    text, html = parts(second[1])
    # The previous summary went out on the real clock's day, kept within week 47.
    assert "CE QUI A CHANGÉ DEPUIS LE POINT DU" in text
    assert re.search(rf"{line.code} — .*: À surveiller → Atteint \(amélioration\)", text), text
    assert f"{line.code} — " in visible_text(html) and "Atteint" in visible_text(html)
    assert "Indicateurs mis à jour depuis : 1" in text


# -- delivery ----------------------------------------------------------------------------


def test_a_rerun_sends_nothing(demo_db, smtp_server):
    settings = smtp_settings(demo_db.settings, smtp_server.port)
    first = send_partner_summaries(demo_db.engine, settings, as_of=MONDAY, **NO_WAIT)
    assert first["sent"] == 5
    again = send_partner_summaries(demo_db.engine, settings, as_of=MONDAY, **NO_WAIT)
    later = send_partner_summaries(
        demo_db.engine, settings, as_of=MONDAY + timedelta(days=3), **NO_WAIT
    )
    assert again["sent"] == later["sent"] == 0
    assert again["contacts"] == later["contacts"] == 0  # nothing is even rendered again
    assert len(smtp_server.received) == 5
    # A new week: only the weekly contact; a new month: everyone.
    week = send_partner_summaries(
        demo_db.engine, settings, as_of=MONDAY + timedelta(days=7), **NO_WAIT
    )
    assert week["sent"] == 1
    month = send_partner_summaries(demo_db.engine, settings, as_of=date(2026, 12, 7), **NO_WAIT)
    assert month["sent"] == 5
    assert statuses(demo_db) == Counter({"sent": 11})


def test_smtp_down_then_up_delivers_everything_once(demo_db):
    server = SmtpServer()  # its port is chosen but nothing listens yet
    settings = smtp_settings(demo_db.settings, server.port)
    down = send_partner_summaries(demo_db.engine, settings, as_of=MONDAY, **NO_WAIT)
    assert down["pending"] == 5 and down["sent"] == 0
    assert statuses(demo_db) == Counter({"pending": 5})
    with demo_db.session(write=False) as session:
        errors = session.execute(select(EmailDelivery.last_error)).scalars().all()
    assert all("Connection" in error or "refused" in error.lower() for error in errors), errors
    server.start()
    try:
        # A scheduled run respects each message's backoff: nothing yet.
        waiting = send_partner_summaries(demo_db.engine, settings, as_of=MONDAY, **NO_WAIT)
        assert waiting["sent"] == 0 and waiting["skipped"] == 5
        # Once the backoff has elapsed (a manual run does not wait), everything goes once.
        up = send_partner_summaries(
            demo_db.engine, settings, as_of=MONDAY, respect_backoff=False, **NO_WAIT
        )
        assert up["sent"] == 5
        again = send_partner_summaries(
            demo_db.engine, settings, as_of=MONDAY, respect_backoff=False, **NO_WAIT
        )
        assert again["sent"] == 0
        received = by_recipient(server)
        assert sorted(len(m) for m in received.values()) == [1] * 5
        assert set(received) == set(contacts_of(demo_db))
    finally:
        server.stop()
    assert statuses(demo_db) == Counter({"sent": 5})


def test_a_5xx_answer_is_recorded_as_failed(demo_db, smtp_server):
    settings = smtp_settings(demo_db.settings, smtp_server.port)
    refused = "contact.caf@example.org"
    smtp_server.handler.refuse[refused] = "550 5.1.1 Boîte aux lettres inconnue"
    counts = send_partner_summaries(demo_db.engine, settings, as_of=MONDAY, **NO_WAIT)
    assert counts["failed"] == 1 and counts["sent"] == 4
    with demo_db.session(write=False) as session:
        row = session.execute(
            select(EmailDelivery).where(EmailDelivery.recipient == refused)
        ).scalar_one()
    assert row.status == "failed"
    assert "550" in row.last_error and "inconnue" in row.last_error
    assert row.attempts == 1
    # A failed message is not retried by later runs of the same period.
    smtp_server.handler.refuse.clear()
    again = send_partner_summaries(
        demo_db.engine, settings, as_of=MONDAY, respect_backoff=False, **NO_WAIT
    )
    assert again["sent"] == 0
    assert refused not in by_recipient(smtp_server)


KILLED_RUN = """
import sys
from datetime import date
from pathlib import Path
from suivi.db import make_engine
from suivi.notifications.summaries import send_partner_summaries
from tests.support.databases import make_settings
from tests.support.smtp import smtp_settings

url, work_dir, port, as_of = sys.argv[1:]
settings = smtp_settings(make_settings(url, Path(work_dir)), int(port))
send_partner_summaries(make_engine(url), settings, as_of=date.fromisoformat(as_of))
print("finished", flush=True)
"""


def test_a_job_killed_mid_batch_then_rerun_serves_everyone_once(demo_db, smtp_server, tmp_path):
    settings = smtp_settings(demo_db.settings, smtp_server.port)
    # The server takes a moment to accept each message, so the kill lands mid-batch.
    smtp_server.handler.delay = 0.5
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            KILLED_RUN,
            demo_db.url,
            str(demo_db.work_dir),
            str(smtp_server.port),
            MONDAY.isoformat(),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not smtp_server.received and child.poll() is None:
            assert time.monotonic() < deadline, "no message arrived"
            time.sleep(0.05)
        assert child.poll() is None, child.stderr.read().decode()
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
    before = len(smtp_server.received)
    assert before < 5  # it really died mid-batch
    smtp_server.handler.delay = 0
    time.sleep(0.6)  # let the server finish the message it was accepting when the child died
    counts = send_partner_summaries(demo_db.engine, settings, as_of=MONDAY, **NO_WAIT)
    assert counts["failed"] == counts["pending"] == 0
    received = by_recipient(smtp_server)
    assert set(received) == set(contacts_of(demo_db))  # every contact served
    ids = Counter(smtp_server.handler.message_ids())
    duplicates = sum(n - 1 for n in ids.values())
    assert duplicates <= 1, ids  # at most the one in flight, with the same Message-ID
    assert len(ids) == 5
    assert statuses(demo_db) == Counter({"sent": 5})
    assert send_partner_summaries(demo_db.engine, settings, as_of=MONDAY, **NO_WAIT)["sent"] == 0


def test_an_exception_after_two_sends_then_rerun(demo_db, smtp_server):
    """The same guarantee with the crash injected in-process through the transport."""
    from suivi.notifications.email import SmtpTransport

    settings = smtp_settings(demo_db.settings, smtp_server.port)

    class Crash(BaseException):
        pass

    class CrashingTransport(SmtpTransport):
        sends = 0

        def send(self, message, recipient):
            super().send(message, recipient)
            CrashingTransport.sends += 1
            if CrashingTransport.sends == 2:
                raise Crash  # the process "dies" after handing over message 2

    with pytest.raises(Crash):
        send_partner_summaries(
            demo_db.engine, settings, as_of=MONDAY, transport=CrashingTransport(settings)
        )
    assert statuses(demo_db) == Counter({"sent": 1, "sending": 1})
    counts = send_partner_summaries(demo_db.engine, settings, as_of=MONDAY, **NO_WAIT)
    assert counts["sent"] == 4  # message 2 again (same Message-ID) + the 3 never sent
    ids = Counter(smtp_server.handler.message_ids())
    assert len(ids) == 5 and sorted(ids.values()) == [1, 1, 1, 1, 2]


def test_unsubscribed_and_none_contacts_get_nothing(demo_db, smtp_server):
    settings = smtp_settings(demo_db.settings, smtp_server.port)
    with demo_db.session() as session:
        caf = session.execute(
            select(PartnerContact).where(PartnerContact.email == "contact.caf@example.org")
        ).scalar_one()
        caf.frequency = "none"
        region = session.execute(
            select(PartnerContact).where(PartnerContact.email == "contact.region@example.org")
        ).scalar_one()
        region.unsubscribed_at = region.created_at
    counts = send_partner_summaries(demo_db.engine, settings, as_of=MONDAY, **NO_WAIT)
    assert counts["sent"] == 3
    assert {"contact.caf@example.org", "contact.region@example.org"}.isdisjoint(
        by_recipient(smtp_server)
    )


def test_a_partner_without_commitments_is_not_written_to(demo_db, smtp_server):
    settings = smtp_settings(demo_db.settings, smtp_server.port)
    with demo_db.session() as session:
        contract_id = session.execute(select(Contract.id)).scalar_one()
        idle = Partner(
            contract_id=contract_id,
            code="idle",
            name="Partenaire sans engagement",
            kind="operateur",
        )
        session.add(idle)
        session.flush()
        session.add(
            PartnerContact(
                partner_id=idle.id,
                name="Idle",
                email="idle@example.org",
                frequency="monthly",
                unsubscribe_token="idle-token",
            )
        )
    counts = send_partner_summaries(demo_db.engine, settings, as_of=MONDAY, **NO_WAIT)
    assert counts["without_commitments"] == 1 and counts["sent"] == 5
    assert "idle@example.org" not in by_recipient(smtp_server)


def test_attached_pdf_report(demo_db, smtp_server):
    settings = smtp_settings(demo_db.settings, smtp_server.port)
    settings.summaries.attach_pdf = True
    with demo_db.session() as session:
        for contact in session.execute(select(PartnerContact)).scalars():
            if contact.email != "contact.france-travail@example.org":
                contact.frequency = "none"
    counts = send_partner_summaries(demo_db.engine, settings, as_of=MONDAY, **NO_WAIT)
    assert counts["sent"] == 1
    message = smtp_server.received[0].message
    attachments = list(message.iter_attachments())
    assert len(attachments) == 1
    pdf = attachments[0]
    assert pdf.get_content_type() == "application/pdf"
    data = pdf.get_content()
    assert data.startswith(b"%PDF")
    import io

    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert "France Travail" in text
    # Still readable as text + HTML alternatives.
    text_part, html_part = parts(message_from_bytes(message.as_bytes(), policy=policy.default))
    assert "France Travail" in text_part and "France Travail" in html_part


def test_links_to_the_partners_own_latest_reports(demo_db):
    settings = demo_db.settings
    with demo_db.session() as session:
        contract_id = session.execute(select(Contract.id)).scalar_one()
        partners = {p.code: p.id for p in session.execute(select(Partner)).scalars()}
        rows = [
            archived_report(
                contract_id=contract_id,
                kind="partner",
                scope=str(partners[code]),
                as_of=as_of,
                path=f"{code}-{as_of}.pdf",
                pages=4,
            )
            for code, as_of in (
                ("caf-62", date(2026, 10, 1)),
                ("caf-62", date(2026, 11, 2)),
                ("region-hdf", date(2026, 11, 2)),
            )
        ]
        rows.append(
            archived_report(
                contract_id=contract_id,
                kind="copil",
                as_of=date(2026, 11, 2),
                path="copil.pdf",
                pages=30,
            )
        )
        session.add_all(rows)
        session.flush()
        ids = {(r.kind, r.scope, r.as_of): r.id for r in rows}
        summaries, _ = plan_summaries(session, settings, as_of=MONDAY)
    caf = next(s for s in summaries if s.partner_id == partners["caf-62"])
    expected = [
        f"http://testserver/rapports/{ids[('partner', str(partners['caf-62']), day)]}/telecharger"
        for day in (date(2026, 11, 2), date(2026, 10, 1))
    ]
    assert [report.url for report in caf.reports] == expected  # newest first, its own only
    message = summary_email(settings, caf)
    for url in expected:
        assert url in message.text and f'href="{url}"' in message.html
    assert "Rapport partenaire au 2 novembre 2026" in message.text
    other = ids[("partner", str(partners["region-hdf"]), date(2026, 11, 2))]
    copil = ids[("copil", "", date(2026, 11, 2))]
    for report_id in (other, copil):
        assert f"/rapports/{report_id}/" not in message.text + message.html


def test_the_job_is_registered_and_runs(demo_db, smtp_server):
    from suivi.jobs import JobContext
    from suivi.jobs import registered_jobs

    jobs = registered_jobs()
    assert "send_partner_summaries" in jobs
    settings = smtp_settings(demo_db.settings, smtp_server.port)
    result = jobs["send_partner_summaries"](
        JobContext(demo_db.engine, settings, as_of=MONDAY, trigger="manual")
    )
    assert result.counts["sent"] == 5 and result.counts["contacts"] == 5
    assert result.outcome == "success"


def test_outbox_mode_without_smtp_host(demo_db):
    settings = demo_db.settings
    assert not settings.smtp.host
    counts = send_partner_summaries(demo_db.engine, settings, as_of=MONDAY, **NO_WAIT)
    assert counts["sent"] == 5
    files = sorted(Path(settings.outbox.dir).glob("*.eml"))
    assert len(files) == 5
    message = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert message["Subject"].startswith("Suivi du contrat de ville — votre point de")
    assert message.get_body(preferencelist=("html",)) is not None
