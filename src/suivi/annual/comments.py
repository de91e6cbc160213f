"""Comments of a conseil citoyen on the commitments of its quartiers, moderated by the
project team before partners and the committee see them.

- written by a ``conseil_citoyen`` account only, on a commitment it may read (one touching
  its quartiers); any other commitment answers 404, as if it did not exist;
- ``en_attente`` until a project manager publishes (``publie``) or rejects (``rejete``) it;
- read: the project team sees every comment; the conseil citoyen its own conseil's; the
  other roles only published ones, on commitments they may read.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from suivi import scoping
from suivi.annual.models import CommitmentComment
from suivi.annual.models import ConseilCitoyen
from suivi.annual.service import is_manager
from suivi.annual.service import member_conseil_id
from suivi.audit.service import Actor
from suivi.audit.service import record_change
from suivi.audit.service import snapshot
from suivi.auth.principal import Principal
from suivi.commitments.models import Commitment
from suivi.db import utcnow
from suivi.errors import Conflict
from suivi.errors import Forbidden
from suivi.errors import Invalid
from suivi.errors import NotFound
from suivi.validation import InputError
from suivi.validation import clean_text

MAX_COMMENT = 4000
DECISIONS = ("publie", "rejete")


def _audit(session: Session, action: str, comment, before, principal: Principal, commitment):
    """The audit row of a change to `comment`, by `principal`, in its commitment's contract."""
    actor = Actor(actor_id=principal.user_id, contract_id=commitment.contract_id)
    record_change(session, action, "commitment_comment", comment, before, **actor)


def _readable_commitment(session: Session, principal: Principal, commitment_id: int) -> Commitment:
    commitment = session.get(Commitment, commitment_id)
    if commitment is None or not scoping.can_read_commitment(session, principal, commitment):
        raise NotFound("Engagement introuvable.")
    return commitment


def add_comment(
    session: Session, principal: Principal, commitment_id: int, text: str
) -> CommitmentComment:
    commitment = _readable_commitment(session, principal, commitment_id)
    conseil_id = member_conseil_id(session, principal)
    if conseil_id is None:
        raise Forbidden("Seul un compte de conseil citoyen peut commenter un engagement.")
    try:
        cleaned = clean_text(text, MAX_COMMENT, "Le commentaire").strip()
    except InputError as exc:
        raise Invalid("text", str(exc)) from None
    if not cleaned:
        raise Invalid("text", "Écrivez votre commentaire.")
    comment = CommitmentComment(
        commitment_id=commitment.id,
        conseil_citoyen_id=conseil_id,
        author_id=principal.user_id,
        text=cleaned,
    )
    session.add(comment)
    session.flush()
    _audit(session, "create", comment, None, principal, commitment)
    return comment


def moderate(
    session: Session, principal: Principal, comment_id: int, decision: str
) -> CommitmentComment:
    comment = session.get(CommitmentComment, comment_id)
    commitment = session.get(Commitment, comment.commitment_id) if comment else None
    if commitment is None or not scoping.in_contracts(principal, commitment.contract_id):
        raise NotFound("Commentaire introuvable.")
    if not is_manager(principal, commitment.contract_id):
        raise Forbidden("Seule l'équipe projet modère les commentaires des conseils citoyens.")
    if decision not in DECISIONS:
        raise Invalid("decision", "Choisissez « publie » ou « rejete ».")
    if comment.status != "en_attente":
        raise Conflict("Ce commentaire a déjà été modéré.")
    before = snapshot(comment)
    comment.status = decision
    comment.moderated_at = utcnow()
    comment.moderated_by_id = principal.user_id
    session.flush()
    _audit(session, "update", comment, before, principal, commitment)
    return comment


def comments_for(
    session: Session, principal: Principal, commitment_id: int
) -> list[tuple[CommitmentComment, str]]:
    """The comments this principal may read on a commitment, with the conseil's name."""
    commitment = _readable_commitment(session, principal, commitment_id)
    query = (
        select(CommitmentComment, ConseilCitoyen.name)
        .join(ConseilCitoyen, ConseilCitoyen.id == CommitmentComment.conseil_citoyen_id)
        .where(CommitmentComment.commitment_id == commitment.id)
    )
    if not is_manager(principal, commitment.contract_id):
        own = member_conseil_id(session, principal)
        visible = CommitmentComment.status == "publie"
        if own is not None:
            visible = visible | (CommitmentComment.conseil_citoyen_id == own)
        query = query.where(visible)
    return [tuple(row) for row in session.execute(query.order_by(CommitmentComment.id)).all()]


def pending(session: Session, principal: Principal) -> list[tuple[CommitmentComment, str, str]]:
    """The moderation queue: (comment, commitment code, conseil name)."""
    if principal.role not in ("admin", "chef_de_projet"):
        raise Forbidden("Seule l'équipe projet modère les commentaires des conseils citoyens.")
    query = (
        select(CommitmentComment, Commitment.code, ConseilCitoyen.name)
        .join(Commitment, Commitment.id == CommitmentComment.commitment_id)
        .join(ConseilCitoyen, ConseilCitoyen.id == CommitmentComment.conseil_citoyen_id)
        .where(
            CommitmentComment.status == "en_attente",
            scoping.contract_condition(Commitment.contract_id, principal),
        )
        .order_by(CommitmentComment.id)
    )
    return [tuple(row) for row in session.execute(query).all()]
