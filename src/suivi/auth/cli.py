"""`suivi users add|list|disable|enable|unlock|set-password`: accounts from the command line."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select

from suivi.cli import app
from suivi.cli import settings_of

users_app = typer.Typer(help="Comptes utilisateurs.", no_args_is_help=True)
app.add_typer(users_app, name="users")


def _fail(message: str) -> None:
    typer.secho(message, err=True, fg="red")
    raise typer.Exit(2)


def _password(value: str | None) -> str:
    if value is None:
        value = typer.prompt("Mot de passe", hide_input=True, confirmation_prompt=True)
    if len(value) < 8:
        _fail("Mot de passe trop court (8 caractères au moins).")
    return value


@users_app.command("add")
def add(
    ctx: typer.Context,
    email: str,
    role: Annotated[str, typer.Option(help="admin, chef_de_projet, partenaire ou copil.")],
    name: Annotated[str, typer.Option("--name", help="Nom affiché.")] = "",
    partner: Annotated[
        list[str] | None, typer.Option(help="Code partenaire (rattachement ou périmètre).")
    ] = None,
    quartier: Annotated[
        list[str] | None, typer.Option(help="Code QPV du périmètre (chef de projet).")
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            help="Mot de passe (sinon demandé ; ou $SUIVI_USER_PASSWORD).",
            envvar="SUIVI_USER_PASSWORD",
        ),
    ] = None,
) -> None:
    """Crée un compte rattaché au contrat configuré."""
    from suivi.auth.accounts import create_account
    from suivi.contract.models import Contract
    from suivi.contract.models import Partner
    from suivi.contract.models import Quartier
    from suivi.contract.models import contract_quartier_ids
    from suivi.db import get_engine
    from suivi.db import session_scope
    from suivi.errors import ApiError

    settings = settings_of(ctx)
    secret = _password(password)
    with session_scope(get_engine(settings), write=True) as session:
        contract = session.execute(
            select(Contract).where(Contract.code == settings.contract.code)
        ).scalar_one_or_none()
        if contract is None:
            _fail("Contrat introuvable : lancez d'abord `suivi init`.")
        partner_ids = []
        for code in partner or []:
            found = session.execute(
                select(Partner.id).where(Partner.contract_id == contract.id, Partner.code == code)
            ).scalar_one_or_none()
            if found is None:
                _fail(f"Partenaire inconnu : {code}")
            partner_ids.append(found)
        quartier_ids = []
        for code in quartier or []:
            found = session.execute(
                select(Quartier.id).where(
                    Quartier.id.in_(contract_quartier_ids(contract.id)), Quartier.code == code
                )
            ).scalar_one_or_none()
            if found is None:
                _fail(f"Quartier inconnu : {code}")
            quartier_ids.append(found)
        # --partner is a partner account's attachment, anyone else's scope; the rules of
        # roles and scopes are the service's (the same as the API's).
        attached = role == "partenaire" and bool(partner_ids)
        try:
            create_account(
                session,
                None,
                email=email,
                password=secret,
                role=role,
                full_name=name,
                partner_id=partner_ids[0] if attached else None,
                contract_id=contract.id,
                scope_partner_ids=partner_ids[1:] if attached else partner_ids,
                scope_quartier_ids=quartier_ids,
                actor_label="cli",
            )
        except ApiError as exc:
            _fail(exc.detail)
    from suivi.auth.service import normalize_email

    typer.echo(f"Compte créé : {normalize_email(email)} ({role}).")


@users_app.command("list")
def list_users(ctx: typer.Context) -> None:
    """Liste les comptes."""
    from suivi.auth.models import User
    from suivi.db import get_engine
    from suivi.db import session_scope
    from suivi.labels import ROLE_LABELS

    with session_scope(get_engine(settings_of(ctx))) as session:
        for user in session.execute(select(User).order_by(User.email)).scalars():
            state = "actif" if user.is_active else "désactivé"
            typer.echo(f"{user.email}\t{ROLE_LABELS.get(user.role, user.role)}\t{state}")


def _set(ctx: typer.Context, email: str, change, *, revoke: bool = True) -> None:
    """Apply `change(session, user)` to the account, audited (in the account's first
    contract, so that only that contract's admins see it); `revoke`: end its sessions and
    tokens."""
    from suivi.audit.service import record_change
    from suivi.audit.service import snapshot
    from suivi.auth.models import User
    from suivi.auth.models import UserContract
    from suivi.auth.service import normalize_email
    from suivi.auth.service import revoke_all_credentials
    from suivi.db import get_engine
    from suivi.db import session_scope

    with session_scope(get_engine(settings_of(ctx)), write=True) as session:
        user = session.execute(
            select(User).where(User.email == normalize_email(email))
        ).scalar_one_or_none()
        if user is None:
            _fail(f"Compte introuvable : {email}")
        before = snapshot(user)
        change(session, user)
        if revoke:
            revoke_all_credentials(session, user.id)
        session.add(user)
        session.flush()
        contract_id = session.execute(
            select(UserContract.contract_id)
            .where(UserContract.user_id == user.id)
            .order_by(UserContract.contract_id)
        ).scalar()
        record_change(
            session, "update", "user", user, before, actor_label="cli", contract_id=contract_id
        )


@users_app.command("disable")
def disable(ctx: typer.Context, email: str) -> None:
    """Désactive un compte (ses sessions et jetons cessent de fonctionner)."""
    from suivi.auth.service import LAST_ADMIN_MESSAGE
    from suivi.auth.service import leaves_no_admin

    def change(session, user) -> None:
        if leaves_no_admin(session, user):
            _fail(LAST_ADMIN_MESSAGE)
        user.is_active = False

    _set(ctx, email, change)
    typer.echo(f"Compte désactivé : {email}")


@users_app.command("enable")
def enable(ctx: typer.Context, email: str) -> None:
    """Réactive un compte désactivé (il devra se connecter de nouveau)."""

    def change(session, user) -> None:
        user.is_active = True

    _set(ctx, email, change)
    typer.echo(f"Compte réactivé : {email}")


@users_app.command("unlock")
def unlock(ctx: typer.Context, email: str) -> None:
    """Lève les délais d'attente imposés après des échecs de connexion répétés."""
    from suivi.auth.service import unlock as clear_waits

    cleared = []

    def change(session, user) -> None:
        cleared.append(clear_waits(session, user))

    _set(ctx, email, change, revoke=False)
    typer.echo(f"Compte débloqué : {email} ({cleared[0]} adresse(s) en attente levée(s)).")


@users_app.command("set-password")
def set_password(
    ctx: typer.Context,
    email: str,
    password: Annotated[
        str | None,
        typer.Option(help="Nouveau mot de passe (sinon demandé).", envvar="SUIVI_USER_PASSWORD"),
    ] = None,
) -> None:
    """Change le mot de passe (et déverrouille le compte)."""
    from suivi.auth.passwords import hash_password

    secret = _password(password)

    def change(session, user) -> None:
        from suivi.auth.service import unlock as clear_waits

        user.password_hash = hash_password(secret)
        clear_waits(session, user)

    _set(ctx, email, change)
    typer.echo(f"Mot de passe changé : {email}")
