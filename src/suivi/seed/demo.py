"""The invented, deterministic demo portfolio (commitments, indicators, figures, meetings,
demo users). Everything here is fictitious: the contract is flagged `is_demo` so that every
page, report and email made from it says « données fictives de démonstration ».

Deterministic: the same `as_of` gives the same rows (a seeded `random.Random`, no clock).
Idempotent: if the demo portfolio is already there, nothing is written.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session
from sqlmodel import func
from sqlmodel import select

from suivi.annual.demo import add_demo_conseils
from suivi.auth.models import User
from suivi.auth.models import UserContract
from suivi.auth.models import UserScope
from suivi.auth.passwords import hash_password
from suivi.commitments.models import Commitment
from suivi.commitments.models import CommitmentAmount
from suivi.commitments.models import CommitmentPartner
from suivi.commitments.models import CommitmentQuartier
from suivi.config import ContractSettings
from suivi.contract.models import Commune
from suivi.contract.models import Contract
from suivi.contract.models import Meeting
from suivi.contract.models import Partner
from suivi.contract.models import PartnerContact
from suivi.contract.models import Priority
from suivi.contract.models import Quartier
from suivi.contract.models import QuartierCommune
from suivi.contract.models import contract_quartier_ids
from suivi.finance.demo import add_demo_funding
from suivi.governance.demo import add_demo_decisions
from suivi.indicators.models import Indicator
from suivi.indicators.models import Measurement
from suivi.indicators.models import Target
from suivi.notifications.contacts import new_unsubscribe_token
from suivi.progress import IndicatorSpec
from suivi.progress import trajectory_value
from suivi.seed.reference import load_reference

SEED = 20240924
DEMO_PASSWORD = "demo"  # noqa: S105 - documented demo credential
BASELINE_DATE = date(2024, 12, 31)
FINAL_TARGET_DATE = date(2030, 12, 31)
LENS_INSEE = "62498"
MIDTERM_TARGET_DATE = date(2027, 12, 31)
# Mid-term targets sit on the straight line to 2030, so a steady pace meets both.
MIDTERM_SHARE = (MIDTERM_TARGET_DATE - BASELINE_DATE).days / (
    FINAL_TARGET_DATE - BASELINE_DATE
).days


@dataclass(frozen=True)
class IndicatorTemplate:
    name: str
    unit: str
    direction: str
    cumulative: bool
    frequency: str
    baseline: tuple[float, float]  # range of baseline values
    change: float  # relative change by 2030 (e.g. +0.4 = +40 %)
    source: str


@dataclass(frozen=True)
class Theme:
    priority_code: str
    leads: tuple[str, ...]
    titles: tuple[str, ...]
    indicators: tuple[IndicatorTemplate, ...]


def _ind(name, unit, direction, cumulative, frequency, baseline, change, source):
    return IndicatorTemplate(name, unit, direction, cumulative, frequency, baseline, change, source)


THEMES: tuple[Theme, ...] = (
    Theme(
        "O1.1",
        ("france-travail", "mission-locale", "region-hdf", "ddets-62", "call"),
        (
            "Accompagnement renforcé des demandeurs d'emploi des quartiers",
            "Parcours vers l'emploi des jeunes sans qualification",
            "Clauses d'insertion dans les marchés publics",
            "Formation aux métiers en tension du bassin minier",
            "Permanences emploi au pied des immeubles",
            "Garantie jeunes et contrat d'engagement jeune en QPV",
        ),
        (
            _ind(
                "Demandeurs d'emploi des QPV accompagnés",
                "personnes",
                "increase",
                True,
                "quarterly",
                (0, 0),
                0.0,
                "France Travail",
            ),
            _ind(
                "Taux d'accès à l'emploi à 6 mois",
                "%",
                "increase",
                False,
                "semiannual",
                (28, 36),
                0.25,
                "France Travail",
            ),
            _ind(
                "Heures d'insertion réalisées",
                "heures",
                "increase",
                True,
                "quarterly",
                (0, 0),
                0.0,
                "Facilitateur des clauses",
            ),
            _ind(
                "Jeunes en contrat d'engagement",
                "jeunes",
                "increase",
                False,
                "quarterly",
                (40, 120),
                0.5,
                "Mission locale",
            ),
        ),
    ),
    Theme(
        "O1.2",
        ("dsden-62", "caf-62", "call", "departement-62"),
        (
            "Programme de réussite éducative",
            "Cités éducatives : accompagnement à la scolarité",
            "Lutte contre le décrochage scolaire au collège",
            "Accueil du jeune enfant en quartier prioritaire",
            "Classes dédoublées et petits-déjeuners à l'école",
        ),
        (
            _ind(
                "Enfants suivis en parcours de réussite éducative",
                "enfants",
                "increase",
                False,
                "quarterly",
                (80, 220),
                0.3,
                "CALL — PRE",
            ),
            _ind(
                "Taux d'absentéisme au collège",
                "%",
                "decrease",
                False,
                "semiannual",
                (9, 14),
                -0.3,
                "DSDEN",
            ),
            _ind(
                "Places d'accueil du jeune enfant",
                "places",
                "increase",
                False,
                "annual",
                (60, 150),
                0.2,
                "CAF du Pas-de-Calais",
            ),
        ),
    ),
    Theme(
        "O1.3",
        ("ars-hdf", "caf-62", "departement-62", "call"),
        (
            "Maison France Services et accès aux droits",
            "Contrat local de santé : prévention en QPV",
            "Médiation en santé dans les quartiers",
            "Lutte contre le non-recours aux prestations",
        ),
        (
            _ind(
                "Personnes reçues en accès aux droits",
                "personnes",
                "increase",
                True,
                "quarterly",
                (0, 0),
                0.0,
                "Maison France Services",
            ),
            _ind(
                "Taux de non-recours estimé",
                "%",
                "decrease",
                False,
                "annual",
                (30, 38),
                -0.25,
                "CAF du Pas-de-Calais",
            ),
            _ind(
                "Actions de prévention santé",
                "actions",
                "increase",
                True,
                "quarterly",
                (0, 0),
                0.0,
                "ARS",
            ),
        ),
    ),
    Theme(
        "O2.1",
        ("departement-62", "caf-62", "prefecture-62", "call"),
        (
            "Repérage précoce des familles en difficulté",
            "Lutte contre les violences intrafamiliales",
            "Prévention des expulsions locatives",
            "Accompagnement des familles monoparentales",
        ),
        (
            _ind(
                "Situations repérées et accompagnées",
                "situations",
                "increase",
                True,
                "quarterly",
                (0, 0),
                0.0,
                "Département — MDS",
            ),
            _ind(
                "Délai moyen de première prise en charge",
                "jours",
                "decrease",
                False,
                "quarterly",
                (25, 45),
                -0.4,
                "Département",
            ),
            _ind(
                "Assignations pour expulsion",
                "ménages",
                "decrease",
                False,
                "annual",
                (60, 110),
                -0.3,
                "Préfecture — CCAPEX",
            ),
        ),
    ),
    Theme(
        "O2.2",
        ("maisons-et-cites", "sia-habitat", "pdc-habitat", "call", "prefecture-62"),
        (
            "Réhabilitation thermique des logements miniers",
            "Gestion urbaine et sociale de proximité",
            "Abattement de TFPB : actions de cadre de vie",
            "Tranquillité résidentielle et médiation de nuit",
            "Renouvellement urbain du quartier",
        ),
        (
            _ind(
                "Logements réhabilités",
                "logements",
                "increase",
                True,
                "quarterly",
                (0, 0),
                0.0,
                "Bailleur",
            ),
            _ind(
                "Taux de vacance du parc social",
                "%",
                "decrease",
                False,
                "annual",
                (6, 11),
                -0.35,
                "Bailleur — RPLS",
            ),
            _ind(
                "Diagnostics en marchant réalisés",
                "diagnostics",
                "increase",
                True,
                "semiannual",
                (0, 0),
                0.0,
                "CALL — GUSP",
            ),
            _ind(
                "Taux de satisfaction des locataires",
                "%",
                "maintain",
                False,
                "annual",
                (68, 74),
                0.0,
                "Enquête bailleur",
            ),
        ),
    ),
    Theme(
        "O2.3",
        ("call", "region-hdf", "maisons-et-cites", "departement-62"),
        (
            "Jardins partagés et nature en ville",
            "Lutte contre la précarité énergétique",
            "Mobilité douce vers les pôles d'emploi",
            "Réemploi et réduction des déchets dans les quartiers",
        ),
        (
            _ind(
                "Ménages accompagnés contre la précarité énergétique",
                "ménages",
                "increase",
                True,
                "quarterly",
                (0, 0),
                0.0,
                "CALL",
            ),
            _ind(
                "Surface de jardins partagés",
                "m²",
                "increase",
                False,
                "annual",
                (800, 2500),
                0.6,
                "Communes",
            ),
            _ind(
                "Consommation énergétique moyenne des logements",
                "kWh/m²/an",
                "decrease",
                False,
                "annual",
                (210, 260),
                -0.2,
                "Bailleur",
            ),
        ),
    ),
    Theme(
        "O3.1",
        ("call", "prefecture-62"),
        (
            "Conseils citoyens et Labo de la participation des habitants",
            "Fonds de participation des habitants",
            "Budget participatif des quartiers",
        ),
        (
            _ind(
                "Habitants participant aux instances",
                "habitants",
                "increase",
                False,
                "semiannual",
                (40, 120),
                0.5,
                "CALL",
            ),
            _ind(
                "Projets d'habitants financés",
                "projets",
                "increase",
                True,
                "semiannual",
                (0, 0),
                0.0,
                "CALL",
            ),
        ),
    ),
    Theme(
        "O3.2",
        ("prefecture-62", "departement-62", "region-hdf", "call", "caf-62"),
        (
            "Mobilisation du droit commun : conventions d'objectifs",
            "Renfort des services publics de proximité",
            "Postes d'adultes-relais",
            "Coordination des financeurs par quartier",
        ),
        (
            _ind(
                "Adultes-relais en poste",
                "postes",
                "maintain",
                False,
                "semiannual",
                (18, 30),
                0.0,
                "Préfecture",
            ),
            _ind(
                "Part du droit commun dans les financements",
                "%",
                "increase",
                False,
                "annual",
                (55, 65),
                0.15,
                "CALL",
            ),
        ),
    ),
    Theme(
        "O3.3",
        ("region-hdf", "call", "prefecture-62"),
        (
            "Soutien à la création d'entreprise en QPV",
            "Revitalisation des cellules commerciales",
            "Économie sociale et solidaire de proximité",
        ),
        (
            _ind(
                "Entreprises créées par des habitants des QPV",
                "entreprises",
                "increase",
                True,
                "semiannual",
                (0, 0),
                0.0,
                "BGE / CCI",
            ),
            _ind(
                "Cellules commerciales vacantes",
                "cellules",
                "decrease",
                False,
                "annual",
                (15, 40),
                -0.4,
                "CALL",
            ),
        ),
    ),
)

# How an indicator behaves over time, drawn with these weights: a believable mix.
BEHAVIOURS = (
    ("on_track", 38),
    ("at_risk", 14),
    ("off_track", 12),
    ("achieved", 5),
    ("overdue", 14),
    ("never", 6),
    ("flat", 11),
)

DEMO_USERS = (
    ("admin@example.org", "Alice Administratrice", "admin", None),
    ("chef@example.org", "Camille Chef de projet (Lens)", "chef_de_projet", None),
    ("partenaire@example.org", "Paul Partenaire (France Travail)", "partenaire", "france-travail"),
    ("copil@example.org", "Claire Comité de pilotage", "copil", None),
)


# Where each kind of meeting sits.
_VENUES = {
    "copil": "Centre culturel Évasion, Noyelles-sous-Lens",
    "cotech": "Hôtel communautaire, Lens",
}


def _meetings() -> list[dict[str, Any]]:
    """A COPIL every autumn and a COTECH every spring over the contract's term: each
    meeting's kind, date and title."""
    copil = [
        date(2024, 11, 26),
        date(2025, 11, 25),
        date(2026, 12, 8),
        date(2027, 11, 23),
        date(2028, 11, 21),
        date(2029, 11, 20),
        date(2030, 11, 26),
    ]
    cotech = [date(year, 5, 20) for year in range(2025, 2031)]
    titles = {"copil": "Comité de pilotage", "cotech": "Comité technique"}
    dated = [("copil", d) for d in copil] + [("cotech", d) for d in cotech]
    return [{"kind": kind, "held_on": d, "title": f"{titles[kind]} {d.year}"} for kind, d in dated]


def demo_loaded(session: Session, contract: Contract) -> bool:
    count = session.exec(
        select(func.count()).select_from(Commitment).where(Commitment.contract_id == contract.id)
    ).one()
    return count > 0


def load_demo(session: Session, contract_settings: ContractSettings, as_of: date) -> bool:
    """Load reference data and, if absent, the demo portfolio. Returns True if written."""
    contract = load_reference(session, contract_settings)
    session.flush()
    if demo_loaded(session, contract):
        return False
    contract.is_demo = True
    rng = random.Random(SEED)
    partners = {
        p.code: p for p in session.exec(select(Partner).where(Partner.contract_id == contract.id))
    }
    priorities = {
        p.code: p for p in session.exec(select(Priority).where(Priority.contract_id == contract.id))
    }
    quartiers = list(
        session.exec(
            select(Quartier)
            .where(Quartier.id.in_(contract_quartier_ids(contract.id, in_contract=True)))
            .order_by(Quartier.code)
        )
    )
    communes_of = _communes_by_quartier(session)

    _add_meetings(session, contract)
    _add_contacts(session, partners)
    _add_users(session, contract, partners, quartiers, communes_of)

    for number in range(1, 161):
        theme = THEMES[(number - 1) % len(THEMES)]
        scope = _pick_quartiers(rng, quartiers)
        lead = _pick_lead(rng, theme, scope, communes_of, partners)
        commitment = _add_commitment(
            session, rng, contract, theme, priorities, lead, number, scope, partners, as_of
        )
        for rank, template in enumerate(_pick_indicators(rng, theme), start=1):
            quartier = scope[0] if (scope and rng.random() < 0.5) else None
            _add_indicator(session, rng, contract, commitment, template, quartier, rank, as_of)
    session.flush()
    add_reference_sheets(session, contract)
    session.flush()
    _add_review_states(session, contract, partners, as_of)
    add_demo_funding(session, contract, as_of)  # its own random draws: the rest is unchanged
    add_demo_decisions(session, contract, as_of)  # the autumn 2025 COPIL's decisions
    # After the random portfolio, so that it stays the same.
    add_demo_conseils(session, contract, quartiers, hash_password(DEMO_PASSWORD))
    return True


# The review workflow, visible at once: Paul Partenaire validates France Travail's figures;
# a few of them wait for validation and two were returned. They are new figures, dated a few
# days before the demo day: validated figures are the demo's history, unchanged (the pending
# ones do not count yet), and the autumn 2026 COPIL has a cut-off (not locked).
DEMO_RETURN_REASONS = (
    "Le chiffre semble inclure les demandeurs hors QPV : merci de vérifier le périmètre.",
    "Valeur incohérente avec le tableau de bord de l'agence : merci de la contrôler.",
)
DEMO_CUTOFF = date(2026, 10, 31)


def _add_review_states(session: Session, contract: Contract, partners, as_of: date) -> None:
    from suivi.indicators.review import owner_partner_id  # noqa: PLC0415 - seed only

    france_travail = partners["france-travail"]
    validator = session.exec(select(User).where(User.email == "partenaire@example.org")).one()
    author = session.exec(select(User).where(User.email == "admin@example.org")).one()
    session.add(UserScope(user_id=validator.id, partner_id=france_travail.id, can_validate=True))
    day = as_of - timedelta(days=3)
    indicators = session.exec(
        select(Indicator)
        .join(Commitment, Commitment.id == Indicator.commitment_id)
        .where(
            Indicator.contract_id == contract.id,
            Commitment.lead_partner_id == france_travail.id,
            owner_partner_id() == france_travail.id,
            Indicator.baseline_date < day,
        )
        .order_by(Indicator.id)
        .limit(5)
    ).all()
    for rank, indicator in enumerate(indicators):
        returned = rank >= 3
        session.add(
            Measurement(
                indicator_id=indicator.id,
                measured_on=day,
                value=indicator.baseline_value + (rank + 1) * (2 if indicator.cumulative else 1),
                comment="Valeur fictive de démonstration, saisie pour validation",
                author_id=author.id,
                entered_at=_at_noon(day),
                status="returned" if returned else "submitted",
                return_reason=DEMO_RETURN_REASONS[rank - 3] if returned else "",
            )
        )
    meeting = session.exec(
        select(Meeting).where(
            Meeting.contract_id == contract.id,
            Meeting.kind == "copil",
            Meeting.held_on == date(2026, 12, 8),
        )
    ).one()
    meeting.data_cutoff = DEMO_CUTOFF
    session.add(meeting)


def _communes_by_quartier(session: Session) -> dict[int, set[str]]:
    rows = session.exec(
        select(QuartierCommune.quartier_id, Commune.insee).join(
            Commune, Commune.id == QuartierCommune.commune_id
        )
    ).all()
    result: dict[int, set[str]] = {}
    for quartier_id, insee in rows:
        result.setdefault(quartier_id, set()).add(insee)
    return result


def _add_meetings(session: Session, contract: Contract) -> None:
    for meeting in _meetings():
        venue = _VENUES[meeting["kind"]]
        session.add(Meeting(contract_id=contract.id, location=venue, **meeting))


def _add_contacts(session: Session, partners: dict[str, Partner]) -> None:
    contacts = (
        (
            "france-travail",
            "Fatima Travail",
            "contact.france-travail@example.org",
            "Directrice d'agence",
            "weekly",
        ),
        ("region-hdf", "Rémi Région", "contact.region@example.org", "Chargé de mission", "monthly"),
        (
            "departement-62",
            "Denise Département",
            "contact.departement@example.org",
            "Responsable MDS",
            "monthly",
        ),
        ("caf-62", "Cyril CAF", "contact.caf@example.org", "Conseiller territorial", "monthly"),
        (
            "maisons-et-cites",
            "Marc Bailleur",
            "contact.bailleur@example.org",
            "Responsable GUSP",
            "monthly",
        ),
    )
    for code, name, email, role, frequency in contacts:
        session.add(
            PartnerContact(
                partner_id=partners[code].id,
                name=name,
                email=email,
                role=role,
                frequency=frequency,
                # Random like any contact's: a guessable one would unsubscribe anyone.
                unsubscribe_token=new_unsubscribe_token(),
            )
        )


def _add_users(session, contract, partners, quartiers, communes_of) -> None:
    password_hash = hash_password(DEMO_PASSWORD)
    for email, name, role, partner_code in DEMO_USERS:
        user = session.exec(select(User).where(User.email == email)).first()
        if user is None:
            user = User(
                email=email,
                full_name=name,
                role=role,
                password_hash=password_hash,
                partner_id=partners[partner_code].id if partner_code else None,
            )
            session.add(user)
            session.flush()
            session.add(UserContract(user_id=user.id, contract_id=contract.id))
            if role == "chef_de_projet":
                # Project manager for the Lens quartiers.
                for quartier in quartiers:
                    if LENS_INSEE in communes_of.get(quartier.id, set()):
                        session.add(UserScope(user_id=user.id, quartier_id=quartier.id))


def _pick_quartiers(rng: random.Random, quartiers: list[Quartier]) -> list[Quartier]:
    draw = rng.random()
    if draw < 0.2:
        return []  # the whole contract
    count = 1 if draw < 0.75 else rng.randint(2, 3)
    return rng.sample(quartiers, count)


def _pick_lead(rng, theme, scope, communes_of, partners) -> Partner:
    # A third of local commitments are led by a commune of their first quartier.
    if scope and rng.random() < 0.33:
        for insee in sorted(communes_of.get(scope[0].id, ())):
            commune = partners.get(f"commune-{insee}")
            if commune is not None:
                return commune
    return partners[rng.choice(theme.leads)]


def _add_commitment(
    session, rng, contract, theme, priorities, lead, number, scope, partners, as_of
) -> Commitment:
    title = rng.choice(theme.titles)
    if scope:
        title = f"{title} — {scope[0].name}"
    status = rng.choices(
        ("en_cours", "prevu", "realise", "suspendu", "abandonne"), (72, 8, 8, 6, 6)
    )[0]
    funding = rng.choices(
        ("droit_commun", "credits_specifiques", "investissement", "tfpb", "europe", "autre"),
        (48, 26, 10, 9, 4, 3),
    )[0]
    start = date(2025, rng.choice((1, 1, 4, 9)), 1)
    end = FINAL_TARGET_DATE if rng.random() < 0.7 else date(rng.choice((2026, 2027, 2028)), 12, 31)
    commitment = Commitment(
        contract_id=contract.id,
        code=f"ENG-{number:03d}",
        title=title[:300],
        description=(
            f"Engagement fictif de démonstration porté par {lead.name}. "
            "Les montants, indicateurs et valeurs sont inventés."
        ),
        lead_partner_id=lead.id,
        priority_id=priorities[theme.priority_code].id,
        start_date=start,
        end_date=end,
        status=status,
        funding_type=funding,
    )
    session.add(commitment)
    session.flush()
    for quartier in scope:
        session.add(CommitmentQuartier(commitment_id=commitment.id, quartier_id=quartier.id))
    if rng.random() < 0.3:
        others = sorted(set(theme.leads) - {lead.code}) or ["call"]
        co = partners[rng.choice(others)]
        if co.id != lead.id:
            share = Decimal(rng.choice(("0.2000", "0.2500", "0.3000", "0.4000", "0.5000")))
            session.add(
                CommitmentPartner(commitment_id=commitment.id, partner_id=co.id, share=share)
            )
    yearly = rng.choice((15_000, 25_000, 40_000, 60_000, 90_000, 150_000, 250_000, 400_000))
    for year in range(start.year, end.year + 1):
        amount = Decimal(yearly) * Decimal(rng.choice(("0.9", "1", "1", "1.1", "1.2")))
        session.add(
            CommitmentAmount(
                commitment_id=commitment.id, year=year, amount=amount.quantize(Decimal("1"))
            )
        )
    return commitment


def _pick_indicators(rng: random.Random, theme: Theme) -> list[IndicatorTemplate]:
    count = rng.choices((1, 2, 3), (35, 45, 20))[0]
    return rng.sample(list(theme.indicators), min(count, len(theme.indicators)))


PERIOD_MONTHS = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}


def _period_ends(frequency: str, after: date, until: date) -> list[date]:
    step = PERIOD_MONTHS[frequency]
    ends = []
    month = step
    year = after.year + 1
    while True:
        next_month_start = date(year + (month // 12), month % 12 + 1, 1)
        end = next_month_start - timedelta(days=1)
        if end > until:
            return ends
        ends.append(end)
        month += step
        if month > 12:
            month -= 12
            year += 1


def _add_indicator(session, rng, contract, commitment, template, quartier, rank, as_of) -> None:
    behaviour = rng.choices([b for b, _ in BEHAVIOURS], [w for _, w in BEHAVIOURS])[0]
    if template.cumulative:
        baseline = 0.0
        per_period = rng.choice((5, 8, 12, 20, 30, 50, 80))
        periods_total = len(_period_ends(template.frequency, BASELINE_DATE, FINAL_TARGET_DATE))
        final = float(per_period * periods_total)
        midterm = round(final * MIDTERM_SHARE)
    else:
        low, high = template.baseline
        baseline = round(rng.uniform(low, high), 1 if template.unit == "%" else 0)
        if template.direction == "maintain":
            final = baseline
            midterm = baseline
        else:
            final = round(baseline * (1 + template.change), 1 if template.unit == "%" else 0)
            if final == baseline:
                final = baseline + (1 if template.direction == "increase" else -1)
            midterm = round(baseline + (final - baseline) * MIDTERM_SHARE, 1)
    indicator = Indicator(
        contract_id=contract.id,
        commitment_id=commitment.id,
        quartier_id=quartier.id if quartier else None,
        code=f"{commitment.code}-I{rank}",
        name=template.name,
        unit=template.unit,
        source=template.source,
        direction=template.direction,
        cumulative=template.cumulative,
        frequency=template.frequency,
        tolerance=0.10,
        grace_days=30,
        baseline_value=baseline,
        baseline_date=BASELINE_DATE,
    )
    session.add(indicator)
    session.flush()
    session.add(Target(indicator_id=indicator.id, target_date=MIDTERM_TARGET_DATE, value=midterm))
    session.add(Target(indicator_id=indicator.id, target_date=FINAL_TARGET_DATE, value=final))
    if behaviour == "never":
        return
    # Report every period whose due date has passed, except the last ones for late reporters.
    ends = [
        e
        for e in _period_ends(template.frequency, BASELINE_DATE, as_of)
        if e + timedelta(days=rng.choice((5, 12, 20, 28))) <= as_of
    ]
    if behaviour == "overdue":
        ends = ends[: max(1, len(ends) - rng.randint(1, 2))]
    factor = {
        "on_track": 1.02,
        "at_risk": 0.85,
        "off_track": 0.55,
        "achieved": 1.0,
        "overdue": 0.97,
        "flat": 0.96,
    }[behaviour]
    # The figures follow the very trajectory the progress engine judges them against.
    spec = IndicatorSpec(
        direction=template.direction,
        baseline_value=baseline,
        baseline_date=BASELINE_DATE,
        targets=((MIDTERM_TARGET_DATE, midterm), (FINAL_TARGET_DATE, final)),
    )
    previous_expected = baseline
    for end in ends:
        expected = trajectory_value(spec, end)
        if behaviour == "achieved":
            expected = final
        if template.cumulative:
            increment = (expected - previous_expected) * factor * rng.uniform(0.9, 1.1)
            if behaviour == "achieved":
                increment = final / max(1, len(ends))
            previous_expected = expected
            value = round(max(0.0, increment))
        elif template.direction == "maintain":
            drift = {"off_track": 0.75, "at_risk": 0.86}.get(behaviour, 1.0)
            value = round(baseline * drift * rng.uniform(0.98, 1.02), 1)
        else:
            value = baseline + (expected - baseline) * factor * rng.uniform(0.95, 1.05)
            value = round(value, 1 if template.unit == "%" else 0)
        entered = end + timedelta(days=rng.randint(3, 25))
        session.add(
            Measurement(
                indicator_id=indicator.id,
                measured_on=end,
                value=float(value),
                comment="Valeur fictive de démonstration" if rng.random() < 0.2 else "",
                entered_at=_at_noon(min(entered, as_of)),
            )
        )


def _at_noon(day: date):
    from datetime import UTC
    from datetime import datetime
    from datetime import time

    return datetime.combine(day, time(11, 0), tzinfo=UTC)


# -- Reference sheets (fiches indicateurs) -----------------------------------------------------
#
# Applied after the figures, by indicator name, drawing nothing from the seeded generator: the
# demo's data stay exactly what they were; only each indicator's precision (margin) and
# comparability change how it is judged. Margins: half a point for most rates, a few units
# for counts, 0 where the count is exact. Non-comparable statistics get no forecast.


def _sheet(
    definition: str,
    formula: str,
    producer: str,
    lag: int,
    aggregation: str,
    margin: float,
    why: str,
    *,
    rate: tuple[str, str] | None = None,
    weight: str = "",
    breakdown: str = "none",
    comparable: bool = True,
    owner: str | None = None,
) -> dict:
    numerator, denominator = rate or ("", "")
    return {
        "definition": definition,
        "formula": formula,
        "is_rate": rate is not None,
        "numerator": numerator,
        "denominator": denominator,
        "producer": producer,
        "publication_lag_days": lag,
        "breakdown": breakdown,
        "aggregation": aggregation,
        "aggregation_weight": weight,
        "comparability": "comparable" if comparable else "statistique_non_comparable",
        "forecast": comparable,
        "margin": margin,
        "margin_justification": why,
        "owner": owner,
    }


DEMO_SHEETS: dict[str, dict] = {
    "Demandeurs d'emploi des QPV accompagnés": _sheet(
        "Demandeurs d'emploi résidant en QPV entrés en accompagnement renforcé sur la période.",
        "Nombre d'entrées en accompagnement sur la période",
        "France Travail",
        45,
        "sum",
        2,
        "Doublons possibles entre dispositifs, dédoublonnés a posteriori (±2 personnes).",
        breakdown="sex_age_band",
        owner="france-travail",
    ),
    "Taux d'accès à l'emploi à 6 mois": _sheet(
        "Part des demandeurs d'emploi accompagnés en emploi six mois après leur entrée.",
        "Sortants en emploi à 6 mois / entrés en accompagnement × 100",
        "France Travail",
        180,
        "weighted_mean",
        0.5,
        "Taux publié arrondi au demi-point.",
        rate=("Personnes en emploi à 6 mois", "Personnes entrées en accompagnement"),
        weight="personnes entrées en accompagnement",
        breakdown="sex",
        owner="france-travail",
    ),
    "Heures d'insertion réalisées": _sheet(
        "Heures de travail réalisées par des publics en insertion au titre des clauses.",
        "Somme des heures déclarées par les entreprises attributaires",
        "Facilitateur des clauses",
        60,
        "sum",
        7,
        "Heures déclarées par les entreprises à la journée près (7 heures).",
    ),
    "Jeunes en contrat d'engagement": _sheet(
        "Jeunes de 16 à 25 ans résidant en QPV en contrat d'engagement jeune à la date.",
        "Nombre de contrats en cours au dernier jour de la période",
        "Mission locale",
        30,
        "sum",
        2,
        "Contrats signés en fin de période saisis avec quelques jours de décalage.",
        breakdown="sex",
    ),
    "Enfants suivis en parcours de réussite éducative": _sheet(
        "Enfants ayant un parcours individualisé ouvert dans le programme de réussite éducative.",
        "Nombre de parcours ouverts à la date",
        "CALL — PRE",
        30,
        "sum",
        2,
        "Parcours ouverts ou clos en fin de période saisis avec retard.",
        breakdown="age_band",
    ),
    "Taux d'absentéisme au collège": _sheet(
        "Part des demi-journées d'absence non justifiée des collégiens résidant en QPV.",
        "Demi-journées d'absence non justifiée / demi-journées de cours × 100",
        "DSDEN du Pas-de-Calais",
        120,
        "weighted_mean",
        0.5,
        "Taux transmis arrondi au demi-point par la DSDEN.",
        rate=("Demi-journées d'absence non justifiée", "Demi-journées de cours"),
        weight="collégiens résidant dans le quartier",
    ),
    "Places d'accueil du jeune enfant": _sheet(
        "Places d'accueil collectif et familial agréées pour les enfants de moins de 3 ans.",
        "Nombre de places agréées au 31 décembre",
        "CAF du Pas-de-Calais",
        150,
        "sum",
        1,
        "Écart possible d'une place entre agrément et ouverture effective.",
        owner="caf-62",
    ),
    "Personnes reçues en accès aux droits": _sheet(
        "Personnes reçues en rendez-vous ou en accueil pour un accès aux droits.",
        "Nombre de personnes reçues sur la période",
        "Maison France Services",
        30,
        "sum",
        3,
        "Accueils sans rendez-vous comptés à la main (±3 personnes).",
    ),
    "Taux de non-recours estimé": _sheet(
        "Part estimée des ménages éligibles qui ne perçoivent pas les prestations.",
        "Ménages éligibles non allocataires (estimés) / ménages éligibles (estimés) × 100",
        "CAF du Pas-de-Calais (estimation)",
        365,
        "weighted_mean",
        0.5,
        "Estimation modélisée publiée au demi-point.",
        rate=("Ménages éligibles non allocataires", "Ménages éligibles"),
        weight="ménages éligibles estimés",
        comparable=False,
        owner="caf-62",
    ),
    "Actions de prévention santé": _sheet(
        "Actions collectives de prévention santé menées dans les quartiers.",
        "Nombre d'actions réalisées sur la période",
        "ARS",
        60,
        "sum",
        1,
        "Actions en plusieurs séances parfois comptées deux fois.",
    ),
    "Situations repérées et accompagnées": _sheet(
        "Situations familiales repérées puis accompagnées par les maisons du Département.",
        "Nombre de situations ouvertes sur la période",
        "Département — MDS",
        45,
        "sum",
        2,
        "Situations réorientées entre MDS comptées dans chacune (±2).",
        owner="departement-62",
    ),
    "Délai moyen de première prise en charge": _sheet(
        "Délai moyen entre le repérage d'une situation et le premier rendez-vous.",
        "Somme des délais en jours / nombre de situations prises en charge",
        "Département",
        45,
        "weighted_mean",
        1,
        "Moyenne de délais comptés en jours entiers.",
        weight="situations prises en charge",
        owner="departement-62",
    ),
    "Assignations pour expulsion": _sheet(
        "Ménages du quartier assignés en vue d'une expulsion locative dans l'année.",
        "Nombre d'assignations enregistrées par la CCAPEX",
        "Préfecture — CCAPEX",
        120,
        "sum",
        2,
        "Adresses rattachées au quartier à deux ménages près (géocodage).",
    ),
    "Logements réhabilités": _sheet(
        "Logements livrés après réhabilitation thermique.",
        "Nombre de logements livrés sur la période",
        "Bailleur",
        30,
        "sum",
        0,
        "Comptage exact des livraisons.",
        owner="maisons-et-cites",
    ),
    "Taux de vacance du parc social": _sheet(
        "Part des logements sociaux proposés à la location et vacants au 1er janvier.",
        "Logements vacants / logements proposés à la location × 100",
        "Bailleur — RPLS",
        270,
        "weighted_mean",
        0.5,
        "Taux RPLS publié au demi-point près à l'échelle du quartier.",
        rate=("Logements vacants", "Logements proposés à la location"),
        weight="logements proposés à la location",
        owner="maisons-et-cites",
    ),
    "Diagnostics en marchant réalisés": _sheet(
        "Diagnostics en marchant réalisés avec les habitants.",
        "Nombre de diagnostics réalisés sur la période",
        "CALL — GUSP",
        30,
        "sum",
        0,
        "Comptage exact.",
    ),
    "Taux de satisfaction des locataires": _sheet(
        "Part des locataires interrogés se déclarant satisfaits de leur logement.",
        "Locataires satisfaits / locataires répondants × 100",
        "Enquête bailleur",
        120,
        "weighted_mean",
        3,
        "Enquête par sondage (environ 300 répondants par quartier) : marge d'erreur ±3 points.",
        rate=("Locataires satisfaits", "Locataires répondants"),
        weight="locataires répondants",
        comparable=False,
        owner="maisons-et-cites",
    ),
    "Ménages accompagnés contre la précarité énergétique": _sheet(
        "Ménages ayant bénéficié d'une visite et d'un accompagnement contre la précarité.",
        "Nombre de ménages accompagnés sur la période",
        "CALL",
        45,
        "sum",
        2,
        "Ménages suivis par deux opérateurs comptés deux fois (±2).",
    ),
    "Surface de jardins partagés": _sheet(
        "Surface cultivable des jardins partagés ouverts aux habitants.",
        "Somme des surfaces des parcelles au 31 décembre",
        "Communes",
        90,
        "sum",
        25,
        "Surfaces relevées sur plan, à 25 m² près.",
    ),
    "Consommation énergétique moyenne des logements": _sheet(
        "Consommation conventionnelle moyenne d'énergie primaire des logements sociaux.",
        "Somme des consommations / surface habitable totale",
        "Bailleur",
        180,
        "weighted_mean",
        5,
        "Calcul conventionnel (DPE) : ±5 kWh/m²/an selon le logiciel et les relevés.",
        weight="surface habitable",
        owner="maisons-et-cites",
    ),
    "Habitants participant aux instances": _sheet(
        "Habitants différents présents à au moins une instance participative.",
        "Nombre d'habitants distincts sur les feuilles d'émargement",
        "CALL",
        30,
        "sum",
        2,
        "Feuilles d'émargement incomplètes ou illisibles (±2 personnes).",
        breakdown="sex_age_band",
    ),
    "Projets d'habitants financés": _sheet(
        "Projets d'habitants financés par le fonds de participation.",
        "Nombre de projets financés sur la période",
        "CALL",
        30,
        "sum",
        0,
        "Comptage exact des décisions de financement.",
    ),
    "Adultes-relais en poste": _sheet(
        "Postes d'adultes-relais pourvus à la date.",
        "Nombre de postes pourvus au dernier jour de la période",
        "Préfecture",
        30,
        "sum",
        1,
        "Un poste peut être vacant quelques semaines entre deux contrats.",
    ),
    "Part du droit commun dans les financements": _sheet(
        "Part des crédits de droit commun dans les financements de la politique de la ville.",
        "Crédits de droit commun / financements totaux × 100",
        "CALL",
        180,
        "weighted_mean",
        1,
        "Montants déclarés par chaque financeur, arrondis et de périmètre variable d'un "
        "exercice à l'autre : ±1 point.",
        rate=("Crédits de droit commun", "Financements totaux"),
        weight="financements totaux",
        owner="region-hdf",
    ),
    "Entreprises créées par des habitants des QPV": _sheet(
        "Entreprises immatriculées par des habitants des QPV accompagnés.",
        "Nombre d'immatriculations sur la période",
        "BGE / CCI",
        90,
        "sum",
        1,
        "Immatriculations de fin de période connues avec retard.",
        owner="region-hdf",
    ),
    "Cellules commerciales vacantes": _sheet(
        "Cellules commerciales des quartiers sans activité au jour du relevé.",
        "Nombre de cellules vacantes au relevé annuel",
        "CALL",
        30,
        "sum",
        1,
        "Relevé de terrain : une cellule en travaux peut être comptée vacante.",
    ),
}


def add_reference_sheets(session: Session, contract: Contract) -> None:
    """Fill the demo indicators' reference sheets (no random draw: the figures are kept)."""
    owners = {
        code: contact_id
        for code, contact_id in session.execute(
            select(Partner.code, func.min(PartnerContact.id))
            .join(PartnerContact, PartnerContact.partner_id == Partner.id)
            .where(Partner.contract_id == contract.id)
            .group_by(Partner.code)
        )
    }
    for indicator in session.exec(select(Indicator).where(Indicator.contract_id == contract.id)):
        sheet = DEMO_SHEETS.get(indicator.name)
        if sheet is None:
            continue
        for key, value in sheet.items():
            if key != "owner":
                setattr(indicator, key, value)
        indicator.data_owner_contact_id = owners.get(sheet["owner"])
    session.flush()
