"""The annual report procedure: brouillon → en_consultation → avis_recus → approuve → publie.

Décret n° 2015-1118: the conseils municipaux of the communes holding a QPV and the conseils
citoyens are consulted on the draft; they have `[annual_report] deadline_days` (at least a
month) to answer, and silence counts as a favourable opinion (`deem_silent_bodies`, run by
the daily check). The conseil communautaire then approves the report (deliberation date and
reference, responses to the observations) and it is published with the opinions annexed.

Services never commit; every change writes an audit row. Refusals are `suivi.errors` with a
French message.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session

from suivi import scoping
from suivi.annual.models import AnnualReport
from suivi.annual.models import AnnualReportOpinion
from suivi.annual.models import ConseilCitoyen
from suivi.annual.models import ConseilCitoyenContact
from suivi.annual.models import ConseilCitoyenMember
from suivi.annual.models import ConseilCitoyenQuartier
from suivi.audit.service import record
from suivi.audit.service import record_change
from suivi.audit.service import snapshot
from suivi.auth.principal import Principal
from suivi.codes import VERDICTS
from suivi.contract.models import Commune
from suivi.contract.models import ContractQuartier
from suivi.contract.models import Partner
from suivi.contract.models import QuartierCommune
from suivi.db import utcnow
from suivi.errors import Conflict
from suivi.errors import Forbidden
from suivi.errors import Invalid
from suivi.errors import NotFound
from suivi.formatting import format_date
from suivi.notifications.contacts import normalise_email
from suivi.validation import InputError
from suivi.validation import clean_text

DEEMED_TEXT = "Avis réputé favorable (absence de réponse)"
MANAGER_ROLES = frozenset({"admin", "chef_de_projet"})
PDF_MAGIC = b"%PDF-"
# Opinion attachments live under the reports folder, named after their SHA-256.
ATTACHMENTS_SUBDIR = "avis"
MAX_OPINION_TEXT = 10_000


# -- who may do what ----------------------------------------------------------------------


def is_manager(principal: Principal, contract_id: int) -> bool:
    """The project team (admin, chef de projet) runs the procedure and enters opinions on
    behalf of any body."""
    return principal.role in MANAGER_ROLES and scoping.in_contracts(principal, contract_id)


def _require_manager(principal: Principal, contract_id: int) -> None:
    if not is_manager(principal, contract_id):
        raise Forbidden(
            "Seule l'équipe projet (administrateur, chef de projet) conduit la procédure."
        )


def member_conseil_id(session: Session, principal: Principal) -> int | None:
    """The conseil citoyen a ``conseil_citoyen`` account speaks for."""
    if principal.role != "conseil_citoyen":
        return None
    return session.execute(
        select(ConseilCitoyenMember.conseil_citoyen_id).where(
            ConseilCitoyenMember.user_id == principal.user_id
        )
    ).scalar_one_or_none()


def _speaks_for(session: Session, principal: Principal, opinion: AnnualReportOpinion) -> bool:
    """The body's own account: a member of the conseil citoyen, or the account of the
    commune's partner for its conseil municipal."""
    if opinion.conseil_citoyen_id is not None:
        return member_conseil_id(session, principal) == opinion.conseil_citoyen_id
    if principal.role == "partenaire" and principal.partner_id is not None:
        partner = session.get(Partner, principal.partner_id)
        return (
            partner is not None
            and partner.kind == "commune"
            and partner.commune_id == opinion.commune_id
        )
    return False


# -- reading ------------------------------------------------------------------------------


def get_report(session: Session, principal: Principal, report_id: int) -> AnnualReport:
    report = session.get(AnnualReport, report_id)
    if report is None or not scoping.in_contracts(principal, report.contract_id):
        raise NotFound("Rapport annuel introuvable.")
    return report


def list_reports(session: Session, principal: Principal) -> list[AnnualReport]:
    query = select(AnnualReport).where(
        scoping.contract_condition(AnnualReport.contract_id, principal)
    )
    return list(session.execute(query.order_by(AnnualReport.year.desc())).scalars())


def opinions_of(session: Session, report_id: int) -> list[AnnualReportOpinion]:
    query = select(AnnualReportOpinion).where(AnnualReportOpinion.annual_report_id == report_id)
    rows = session.execute(query).scalars()
    # Conseils municipaux first, then conseils citoyens, each by name (accents ignored).
    return sorted(rows, key=lambda o: (o.body_kind != "conseil_municipal", _sort_key(o.body_name)))


def _sort_key(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def published_reports(session: Session, contract_id: int) -> list[AnnualReport]:
    """What the public pages list: published reports only."""
    query = select(AnnualReport).where(
        AnnualReport.contract_id == contract_id, AnnualReport.status == "publie"
    )
    return list(session.execute(query.order_by(AnnualReport.year.desc())).scalars())


@dataclass(frozen=True)
class Body:
    kind: str  # conseil_municipal | conseil_citoyen
    name: str
    commune_id: int | None = None
    conseil_citoyen_id: int | None = None


def consulted_bodies(session: Session, contract_id: int) -> list[Body]:
    """The conseil municipal of each commune holding a QPV of the contract, and each
    conseil citoyen of the contract."""
    communes = session.execute(
        select(Commune)
        .where(
            Commune.id.in_(
                select(QuartierCommune.commune_id).where(
                    QuartierCommune.quartier_id.in_(
                        select(ContractQuartier.quartier_id).where(
                            ContractQuartier.contract_id == contract_id,
                            ContractQuartier.in_contract.is_(True),
                        )
                    )
                )
            )
        )
        .order_by(Commune.name)
    ).scalars()
    conseils = session.execute(
        select(ConseilCitoyen)
        .where(ConseilCitoyen.contract_id == contract_id)
        .order_by(ConseilCitoyen.name)
    ).scalars()
    return [
        Body("conseil_municipal", f"Conseil municipal de {c.name}", commune_id=c.id)
        for c in communes
    ] + [Body("conseil_citoyen", cc.name, conseil_citoyen_id=cc.id) for cc in conseils]


def recipients_of(session: Session, opinion: AnnualReportOpinion) -> list[str]:
    """Where a body's consultation email goes: the conseil municipal's address, or the
    conseil citoyen's contacts."""
    if opinion.commune_id is not None:
        commune = session.get(Commune, opinion.commune_id)
        return [commune.council_email] if commune and commune.council_email else []
    query = select(ConseilCitoyenContact.email).where(
        ConseilCitoyenContact.conseil_citoyen_id == opinion.conseil_citoyen_id
    )
    return sorted(session.execute(query).scalars())


# -- transitions --------------------------------------------------------------------------


def _audit(session, principal, report, action, before, *, entity="annual_report", row=None):
    after_row = row if row is not None else report
    record_change(
        session,
        action,
        entity,
        after_row,
        before,
        actor_id=principal.user_id if principal else None,
        actor_label="" if principal else "système",
        contract_id=report.contract_id,
    )


def create_report(
    session: Session, principal: Principal, *, contract_id: int, year: int
) -> AnnualReport:
    _require_manager(principal, contract_id)
    existing = session.execute(
        select(AnnualReport.id).where(
            AnnualReport.contract_id == contract_id, AnnualReport.year == year
        )
    ).first()
    if existing is not None:
        raise Conflict(f"Le rapport annuel {year} existe déjà.")
    report = AnnualReport(contract_id=contract_id, year=year)
    session.add(report)
    session.flush()
    _audit(session, principal, report, "create", None)
    return report


def open_consultation(
    session: Session,
    principal: Principal,
    report: AnnualReport,
    *,
    as_of: date,
    deadline_days: int,
) -> list[AnnualReportOpinion]:
    """Brouillon → en_consultation: one opinion row per consulted body, the deadline set.
    The caller sends the emails (`suivi.annual.consultation`) once this is committed."""
    _require_manager(principal, report.contract_id)
    if report.status != "brouillon":
        raise Conflict("La consultation est déjà ouverte pour ce rapport.")
    bodies = consulted_bodies(session, report.contract_id)
    if not bodies:
        raise Conflict(
            "Aucun organe à consulter : ni commune ayant un quartier prioritaire, "
            "ni conseil citoyen."
        )
    before = snapshot(report)
    report.status = "en_consultation"
    report.consultation_opened_on = as_of
    report.deadline = as_of + timedelta(days=deadline_days)
    opinions = []
    for body in bodies:
        opinion = AnnualReportOpinion(
            annual_report_id=report.id,
            body_kind=body.kind,
            commune_id=body.commune_id,
            conseil_citoyen_id=body.conseil_citoyen_id,
            body_name=body.name,
        )
        session.add(opinion)
        opinions.append(opinion)
    session.flush()
    _audit(session, principal, report, "update", before)
    return opinions


@dataclass(frozen=True)
class UploadedPdf:
    filename: str
    data: bytes


def _store_attachment(folder: Path, upload: UploadedPdf, max_bytes: int) -> tuple[str, str]:
    """Check and store a PDF attachment under its hash; returns (relative path, sha256)."""
    if len(upload.data) > max_bytes:
        raise Invalid(
            "attachment",
            f"La pièce jointe dépasse la taille maximale ({max_bytes // (1024 * 1024)} Mo).",
        )
    if not upload.data.startswith(PDF_MAGIC) or not upload.filename.lower().endswith(".pdf"):
        raise Invalid("attachment", "La pièce jointe doit être un fichier PDF.")
    sha256 = hashlib.sha256(upload.data).hexdigest()
    relative = Path(ATTACHMENTS_SUBDIR) / f"{sha256}.pdf"
    target = folder / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(target.name + ".part")
        temporary.write_bytes(upload.data)
        temporary.replace(target)
    return relative.as_posix(), sha256


def _clean_filename(name: str) -> str:
    kept = "".join(ch for ch in Path(name).name if ch.isalnum() or ch in " .-_()")
    return kept.strip()[:200] or "avis.pdf"


def submit_opinion(
    session: Session,
    principal: Principal,
    report: AnnualReport,
    opinion_id: int,
    *,
    verdict: str,
    text: str,
    given_on: date,
    attachment: UploadedPdf | None = None,
    attachments_dir: Path,
    max_attachment_bytes: int,
) -> AnnualReportOpinion:
    """Record a body's opinion, entered by its own account or by the project team. Until
    the approval, a new entry replaces the previous one (both kept in the audit log)."""
    opinion = session.get(AnnualReportOpinion, opinion_id)
    if opinion is None or opinion.annual_report_id != report.id:
        raise NotFound("Organe consulté introuvable pour ce rapport.")
    manager = is_manager(principal, report.contract_id)
    if not manager and not _speaks_for(session, principal, opinion):
        # Another body's opinion: its existence is not revealed.
        raise NotFound("Organe consulté introuvable pour ce rapport.")
    if report.status in ("approuve", "publie"):
        raise Conflict("Le rapport est déjà approuvé : il n'est plus possible de donner un avis.")
    if report.status != "en_consultation" and report.status != "avis_recus":
        raise Conflict("La consultation n'est pas ouverte pour ce rapport.")
    if verdict not in VERDICTS:
        raise Invalid("verdict", "Choisissez un avis : favorable, réservé ou défavorable.")
    try:
        text = clean_text(text, MAX_OPINION_TEXT, "Le texte de l'avis").strip()
    except InputError as exc:
        raise Invalid("text", str(exc)) from None
    if report.consultation_opened_on and given_on < report.consultation_opened_on:
        raise Invalid("given_on", "La date de l'avis précède l'ouverture de la consultation.")
    before = snapshot(opinion)
    if attachment is not None:
        path, sha256 = _store_attachment(attachments_dir, attachment, max_attachment_bytes)
        opinion.attachment_name = _clean_filename(attachment.filename)
        opinion.attachment_path = path
        opinion.attachment_sha256 = sha256
        opinion.attachment_size = len(attachment.data)
    opinion.verdict = verdict
    opinion.text = text
    opinion.given_on = given_on
    opinion.deemed = False
    opinion.entered_by_id = principal.user_id
    opinion.recorded_at = utcnow()
    session.flush()
    _audit(
        session, principal, report, "update", before, entity="annual_report_opinion", row=opinion
    )
    _all_received(session, principal, report)
    return opinion


def _all_received(session: Session, principal: Principal | None, report: AnnualReport) -> None:
    if report.status != "en_consultation":
        return
    if all(o.received for o in opinions_of(session, report.id)):
        before = snapshot(report)
        report.status = "avis_recus"
        session.flush()
        _audit(session, principal, report, "update", before)


def deem_silent_bodies(session: Session, report: AnnualReport, as_of: date) -> int:
    """After the deadline, every body that did not answer is deemed favourable (décret
    n° 2015-1118). Returns how many opinions were recorded so."""
    if report.status != "en_consultation" or report.deadline is None or as_of <= report.deadline:
        return 0
    count = 0
    for opinion in opinions_of(session, report.id):
        if opinion.received:
            continue
        before = snapshot(opinion)
        opinion.verdict = "favorable"
        opinion.deemed = True
        opinion.text = DEEMED_TEXT
        opinion.given_on = report.deadline
        opinion.recorded_at = utcnow()
        session.flush()
        _audit(session, None, report, "update", before, entity="annual_report_opinion", row=opinion)
        count += 1
    _all_received(session, None, report)
    return count


def deem_all_silent_bodies(session: Session, as_of: date) -> int:
    """The daily check, over every report in consultation."""
    reports = session.execute(
        select(AnnualReport).where(AnnualReport.status == "en_consultation")
    ).scalars()
    return sum(deem_silent_bodies(session, report, as_of) for report in list(reports))


def approve(
    session: Session,
    principal: Principal,
    report: AnnualReport,
    *,
    deliberation_on: date,
    deliberation_ref: str,
    observations_response: str,
    as_of: date,
) -> AnnualReport:
    """The conseil communautaire's approval: refused while the deadline runs and opinions
    are missing."""
    _require_manager(principal, report.contract_id)
    if report.status in ("approuve", "publie"):
        raise Conflict("Le rapport est déjà approuvé.")
    if report.status == "brouillon":
        raise Conflict(
            "La consultation n'a pas encore été ouverte : le rapport ne peut être approuvé."
        )
    deem_silent_bodies(session, report, as_of)
    missing = [o.body_name for o in opinions_of(session, report.id) if not o.received]
    if missing:
        raise Conflict(
            f"Approbation impossible avant la fin de la consultation le "
            f"{format_date(report.deadline)} : {len(missing)} avis manquant"
            f"{'s' if len(missing) > 1 else ''} ({', '.join(missing)})."
        )
    if not deliberation_ref.strip():
        raise Invalid("deliberation_ref", "Indiquez la référence de la délibération.")
    before = snapshot(report)
    report.status = "approuve"
    report.deliberation_on = deliberation_on
    report.deliberation_ref = deliberation_ref.strip()
    report.observations_response = observations_response
    report.approved_at = utcnow()
    session.flush()
    _audit(session, principal, report, "update", before)
    return report


def publish(
    session: Session, principal: Principal, report: AnnualReport, *, report_file_id: int
) -> AnnualReport:
    """Approuve → publie, with the archived final PDF (opinions annexed)."""
    _require_manager(principal, report.contract_id)
    if report.status == "publie":
        raise Conflict("Le rapport est déjà publié.")
    if report.status != "approuve":
        raise Conflict("Publication impossible : le rapport n'a pas encore été approuvé.")
    before = snapshot(report)
    report.status = "publie"
    report.report_file_id = report_file_id
    report.published_at = utcnow()
    session.flush()
    _audit(session, principal, report, "update", before)
    return report


def check_can_publish(principal: Principal, report: AnnualReport) -> None:
    """The refusals of `publish`, before the final PDF is generated."""
    _require_manager(principal, report.contract_id)
    if report.status != "approuve":
        raise Conflict("Publication impossible : le rapport n'a pas encore été approuvé.")


# -- conseils citoyens --------------------------------------------------------------------


def list_conseils(session: Session, principal: Principal) -> list[ConseilCitoyen]:
    query = select(ConseilCitoyen).where(
        scoping.contract_condition(ConseilCitoyen.contract_id, principal)
    )
    return list(session.execute(query.order_by(ConseilCitoyen.name)).scalars())


def conseil_quartier_ids(session: Session, conseil_id: int) -> list[int]:
    query = select(ConseilCitoyenQuartier.quartier_id).where(
        ConseilCitoyenQuartier.conseil_citoyen_id == conseil_id
    )
    return sorted(session.execute(query).scalars())


def conseil_contacts(session: Session, conseil_id: int) -> list[ConseilCitoyenContact]:
    query = select(ConseilCitoyenContact).where(
        ConseilCitoyenContact.conseil_citoyen_id == conseil_id
    )
    return list(session.execute(query.order_by(ConseilCitoyenContact.name)).scalars())


def create_conseil(
    session: Session,
    principal: Principal,
    *,
    contract_id: int,
    code: str,
    name: str,
    quartier_ids: list[int],
    contacts: Sequence[tuple[str, str, str]] = (),
) -> ConseilCitoyen:
    """A conseil citoyen over one or several quartiers of the contract, with its contacts
    (name, email, role)."""
    if not scoping.can_write_reference(principal, contract_id):
        raise Forbidden("Seul un administrateur peut créer un conseil citoyen.")
    listed = set(
        session.execute(
            select(ContractQuartier.quartier_id).where(ContractQuartier.contract_id == contract_id)
        ).scalars()
    )
    if not quartier_ids or not set(quartier_ids) <= listed:
        raise Invalid("quartier_ids", "Choisissez un ou plusieurs quartiers du contrat.")
    exists = session.execute(
        select(ConseilCitoyen.id).where(
            ConseilCitoyen.contract_id == contract_id, ConseilCitoyen.code == code
        )
    ).first()
    if exists is not None:
        raise Conflict(f"Un conseil citoyen porte déjà le code {code}.", field="code")
    conseil = ConseilCitoyen(contract_id=contract_id, code=code, name=name)
    session.add(conseil)
    session.flush()
    for quartier_id in sorted(set(quartier_ids)):
        session.add(ConseilCitoyenQuartier(conseil_citoyen_id=conseil.id, quartier_id=quartier_id))
    for contact_name, email, role in contacts:
        session.add(
            ConseilCitoyenContact(
                conseil_citoyen_id=conseil.id,
                name=contact_name,
                email=normalise_email(email),
                role=role,
            )
        )
    session.flush()
    record(
        session,
        action="create",
        entity="conseil_citoyen",
        entity_id=conseil.id,
        after={**snapshot(conseil), "quartier_ids": sorted(set(quartier_ids))},
        actor_id=principal.user_id,
        contract_id=contract_id,
    )
    return conseil


# -- communes: DSU flag and the conseil municipal's address -------------------------------


def update_commune(
    session: Session,
    principal: Principal,
    commune_id: int,
    *,
    receives_dsu: bool | None = None,
    council_email: str | None = None,
) -> Commune:
    """An admin of a contract listing a quartier of the commune edits its DSU flag and its
    conseil municipal's consultation address."""
    commune = session.get(Commune, commune_id)
    contract_ids = set(
        session.execute(
            select(ContractQuartier.contract_id)
            .join(QuartierCommune, QuartierCommune.quartier_id == ContractQuartier.quartier_id)
            .where(QuartierCommune.commune_id == commune_id)
        ).scalars()
    )
    mine = [c for c in contract_ids if scoping.in_contracts(principal, c)]
    if commune is None or not mine:
        raise NotFound("Commune introuvable.")
    if not any(scoping.can_write_reference(principal, c) for c in mine):
        raise Forbidden("Seul un administrateur du contrat peut modifier une commune.")
    before = snapshot(commune)
    if receives_dsu is not None:
        commune.receives_dsu = receives_dsu
    if council_email is not None:
        commune.council_email = normalise_email(council_email) if council_email.strip() else ""
    session.flush()
    record_change(
        session,
        "update",
        "commune",
        commune,
        before,
        actor_id=principal.user_id,
        contract_id=min(mine),
    )
    return commune
