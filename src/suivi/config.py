"""Settings: `config.toml` (or `--config PATH` / `$SUIVI_CONFIG`) + `SUIVI_<SECTION>_<KEY>` env.

One TOML file with sections; every scalar key can be overridden by an environment variable
named after its section and key, e.g. `SUIVI_DATABASE_URL`, `SUIVI_SMTP_HOST`,
`SUIVI_REPORTS_DIR`. Relative paths are resolved against the config file's folder, so the
same file works whatever the current directory is.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any
from typing import Literal
from zoneinfo import ZoneInfo
from zoneinfo import ZoneInfoNotFoundError

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import ValidationError
from pydantic import field_validator
from pydantic import model_validator
from pydantic_settings import EnvSettingsSource
from pydantic_settings import SettingsError

DEFAULT_SECRET = "change-me-demo-secret"  # noqa: S105 - the known default we refuse in production
ENV_PREFIX = "SUIVI_"


class ConfigError(Exception):
    """A configuration problem, with a message meant for the administrator."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AppSettings(_Section):
    mode: Literal["demo", "dev", "production"] = "demo"
    secret_key: str = DEFAULT_SECRET
    base_url: str = "http://127.0.0.1:8000"
    timezone: str = "Europe/Paris"
    log_level: str = "INFO"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class DatabaseSettings(_Section):
    url: str = "sqlite:///var/suivi.db"
    echo: bool = False
    busy_timeout_ms: int = Field(default=10_000, ge=0)


class ContractSettings(_Section):
    code: str = "CALL-2024"
    name: str = "Contrat de ville « Engagements Quartiers 2030 »"
    territory: str = "Communauté d'agglomération de Lens-Liévin"
    signed_on: date = date(2024, 9, 24)
    term_start: date = date(2024, 9, 24)
    term_end: date = date(2030, 12, 31)
    midterm_review_on: date = date(2027, 6, 30)


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    session_idle_minutes: int = Field(default=120, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    secure_cookies: bool = False
    api_token_hours: int = Field(default=24, ge=1)


class LoginSettings(_Section):
    # Login attempts (POST /connexion, POST /api/auth/token) allowed per minute from one
    # address, and for one email from all addresses; beyond: 429 with Retry-After.
    attempts_per_minute_per_address: int = Field(default=10, ge=1)
    attempts_per_minute_per_account: int = Field(default=30, ge=1)
    # After this many failures in a row for one email from one address, that address waits
    # 2^k seconds (k = failures beyond this number) before its next try, up to the cap.
    backoff_after_failures: int = Field(default=5, ge=1)
    backoff_max_seconds: int = Field(default=900, ge=1)
    # An address already refused waits this long for its 429 (an asynchronous pause: no CPU,
    # no thread, no database), so a host flooding the login slows itself down.
    refused_pause_seconds: float = Field(default=1.0, ge=0, le=10)


# The PDF and email templates shipped with Suivi: a symlink to the top-level `reports/templates`
# in a checkout, a copy of it inside an installed wheel (see pyproject.toml).
PACKAGED_TEMPLATES_DIR = Path(__file__).parent / "report_templates"
# The value written in the documented config.toml: the top-level folder of a checkout. A copy of
# that file used elsewhere (an installed wheel) falls back to the packaged templates.
CHECKOUT_TEMPLATES_DIR = Path("reports/templates")


class ReportsSettings(_Section):
    dir: Path = Path("var/reports")
    # Empty (the default): the templates shipped with Suivi.
    templates_dir: Path = PACKAGED_TEMPLATES_DIR

    @field_validator("templates_dir", mode="before")
    @classmethod
    def _empty_means_packaged(cls, value: Any) -> Any:
        return PACKAGED_TEMPLATES_DIR if value in ("", None) else value


class OutboxSettings(_Section):
    dir: Path = Path("var/outbox")


class SmtpSettings(_Section):
    host: str = ""
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    username: str = ""
    password: str = ""
    timeout_seconds: float = Field(default=15.0, gt=0)
    sender: str = "Suivi contrat de ville <suivi@example.org>"
    reply_to: str = "politique-de-la-ville@example.org"
    max_attempts: int = Field(default=5, ge=1)


class JobSettings(_Section):
    cron: str
    enabled: bool = True


class SchedulerSettings(_Section):
    timezone: str = "Europe/Paris"
    coalesce: bool = True
    misfire_grace_seconds: int = Field(default=86_400, ge=1)
    lock_wait: bool = False
    jobs: dict[str, JobSettings] = Field(default_factory=dict)


class RemindersSettings(_Section):
    escalate_after_days: int = Field(default=30, ge=1)


class ValidationSettings(_Section):
    # True: only validated figures reach statuses, alerts, reports and summaries; False: every
    # figure is validated on entry (small setups).
    required: bool = True
    # A figure waiting this long for validation heads the validators' digest.
    escalate_after_days: int = Field(default=14, ge=1)


class SummariesSettings(_Section):
    attach_pdf: bool = False


class BackupSettings(_Section):
    dir: Path = Path("var/backups")
    keep: int = Field(default=14, ge=1)
    pg_bin_dir: str = ""


class IoSettings(_Section):
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    max_uncompressed_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    max_rows: int = Field(default=200_000, ge=1)


class GovernanceSettings(_Section):
    # A target revision by avenant or mid-term review must carry out a committee decision
    # of kind `revision_cible` (a `correction` or `autre` change needs none).
    revision_requires_decision: bool = True


class AnnualReportSettings(_Section):
    # The conseils consulted have at least a month (décret n° 2015-1118).
    deadline_days: int = Field(default=30, ge=30)
    # Opinion attachments (PDF only).
    max_attachment_bytes: int = Field(default=10 * 1024 * 1024, ge=1)


class PublicSettings(_Section):
    # The pages without login (/public, /api/public/...).
    enabled: bool = True
    cache_seconds: int = Field(default=60, ge=0)


class Settings(_Section):
    app: AppSettings = Field(default_factory=AppSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    contract: ContractSettings = Field(default_factory=ContractSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    reports: ReportsSettings = Field(default_factory=ReportsSettings)
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    reminders: RemindersSettings = Field(default_factory=RemindersSettings)
    validation: ValidationSettings = Field(default_factory=ValidationSettings)
    summaries: SummariesSettings = Field(default_factory=SummariesSettings)
    backup: BackupSettings = Field(default_factory=BackupSettings)
    io: IoSettings = Field(default_factory=IoSettings)
    login: LoginSettings = Field(default_factory=LoginSettings)
    governance: GovernanceSettings = Field(default_factory=GovernanceSettings)
    annual_report: AnnualReportSettings = Field(default_factory=AnnualReportSettings)
    public: PublicSettings = Field(default_factory=PublicSettings)

    # Where the settings came from (for messages); not a config key.
    source: str = Field(default="<defaults>", exclude=True)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.app.timezone)

    @property
    def is_demo(self) -> bool:
        return self.app.mode in ("demo", "dev")

    @property
    def uses_https(self) -> bool:
        return self.app.base_url.lower().startswith("https://")

    @model_validator(mode="after")
    def _secure_cookies_behind_https(self) -> Settings:
        """Pages served over HTTPS get `Secure` cookies, whatever `[web] secure_cookies`."""
        if self.uses_https:
            self.web.secure_cookies = True
        return self

    def check_secret(self) -> None:
        """Refuse to run a production instance with the published default secret, or over
        plain HTTP (its session cookies would travel in clear)."""
        if self.is_demo:
            return
        if self.app.secret_key in ("", DEFAULT_SECRET):
            raise ConfigError(
                "[app] secret_key: the default secret cannot be used when mode = "
                '"production"; set SUIVI_APP_SECRET_KEY or secret_key in the config file'
            )
        if not self.uses_https:
            raise ConfigError(
                f"[app] base_url: {self.app.base_url!r} is not https:// while mode = "
                '"production": session cookies would be sent without Secure, in clear; '
                "serve the pages over HTTPS (e.g. behind a TLS proxy) and set "
                "SUIVI_APP_BASE_URL or base_url in the config file"
            )


_SECTION_NAMES = {
    name
    for name, field in Settings.model_fields.items()
    if isinstance(field.annotation, type) and issubclass(field.annotation, _Section)
}


def default_config_path() -> Path:
    return Path(os.environ.get("SUIVI_CONFIG", "config.toml"))


class _SectionEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source for `SUIVI_<SECTION>_<KEY>`, read from `environ`.

    Keys hold underscores too (`SUIVI_SMTP_MAX_ATTEMPTS`), so the name is split once only,
    after the section (`env_nested_max_split=1`); case does not matter.
    """

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(
            Settings,  # type: ignore[arg-type] - a plain model: the file is read by load_settings
            case_sensitive=False,
            env_prefix=ENV_PREFIX,
            env_nested_delimiter="_",
            env_nested_max_split=1,
        )

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {name.lower(): value for name, value in self._environ.items()}


def _apply_env(data: dict[str, Any], environ: Mapping[str, str]) -> None:
    """Override `[section] key` with `SUIVI_SECTION_KEY` (the environment wins over the file)."""
    for section_name, values in _SectionEnvSource(environ)().items():
        if section_name in _SECTION_NAMES and isinstance(values, dict):
            data.setdefault(section_name, {}).update(values)


def _describe(error: dict[str, Any]) -> str:
    location = [str(part) for part in error["loc"]]
    where = f"[{location[0]}] {'.'.join(location[1:])}" if len(location) > 1 else location[0]
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown key"
    return f"{where}: {error['msg']}"


def load_settings(
    path: Path | str | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Read the config file (missing file = defaults) and the environment; raise ConfigError."""
    environ = dict(os.environ) if environ is None else environ
    explicit = path is not None or "SUIVI_CONFIG" in environ
    config_path = (
        Path(path) if path is not None else Path(environ.get("SUIVI_CONFIG", "config.toml"))
    )
    data: dict[str, Any] = {}
    if config_path.exists():
        try:
            data = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{config_path}: not valid TOML: {exc}") from exc
        base_dir = config_path.resolve().parent
    elif explicit:
        raise ConfigError(f"{config_path}: configuration file not found")
    else:
        base_dir = Path.cwd()
    try:
        _apply_env(data, environ)
        settings = Settings.model_validate(data)
    except SettingsError as exc:  # a structured key (e.g. SUIVI_SCHEDULER_JOBS) is not JSON
        raise ConfigError(f"{config_path}: environment: {exc}") from None
    except ValidationError as exc:
        problems = "; ".join(_describe(err) for err in exc.errors())
        raise ConfigError(f"{config_path}: {problems}") from None
    settings.source = str(config_path)
    settings.reports.dir = _resolve(base_dir, settings.reports.dir)
    settings.reports.templates_dir = _templates_dir(config_path, base_dir, settings)
    settings.outbox.dir = _resolve(base_dir, settings.outbox.dir)
    settings.backup.dir = _resolve(base_dir, settings.backup.dir)
    settings.database.url = _resolve_sqlite_url(base_dir, settings.database.url)
    return settings


def _resolve(base_dir: Path, value: Path) -> Path:
    return value if value.is_absolute() else (base_dir / value).resolve()


def _templates_dir(config_path: Path, base_dir: Path, settings: Settings) -> Path:
    configured = settings.reports.templates_dir
    resolved = _resolve(base_dir, configured)
    if resolved.is_dir():
        return resolved
    if configured == CHECKOUT_TEMPLATES_DIR:
        return PACKAGED_TEMPLATES_DIR
    raise ConfigError(
        f"{config_path}: [reports] templates_dir: {resolved} is not a folder; leave the key "
        "empty to use the templates shipped with Suivi"
    )


def _resolve_sqlite_url(base_dir: Path, url: str) -> str:
    """`sqlite:///relative.db` is relative to the config file, like every other path."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith("sqlite:////"):
        relative = url[len(prefix) :]
        if relative and relative != ":memory:" and not relative.startswith("file:"):
            return prefix + str(_resolve(base_dir, Path(relative)))
    return url
