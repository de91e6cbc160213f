"""Configuration: the documented default file, env overrides, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from suivi.cli import app
from suivi.config import DEFAULT_SECRET
from suivi.config import PACKAGED_TEMPLATES_DIR
from suivi.config import ConfigError
from suivi.config import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_default_file_loads_and_paths_are_relative_to_it():
    settings = load_settings(ROOT / "config.toml", environ={})
    assert settings.app.timezone == "Europe/Paris"
    assert settings.database.url == f"sqlite:///{ROOT / 'var' / 'suivi.db'}"
    assert settings.reports.dir == ROOT / "var" / "reports"
    assert settings.contract.term_end.isoformat() == "2030-12-31"
    assert set(settings.scheduler.jobs) >= {"check_indicators", "send_reminders"}


def test_environment_overrides_any_key():
    settings = load_settings(
        ROOT / "config.toml",
        environ={
            "SUIVI_DATABASE_URL": "postgresql+psycopg://u@h/db",
            "SUIVI_SMTP_HOST": "mail.example.org",
            "SUIVI_SMTP_PORT": "2525",
            "SUIVI_REPORTS_DIR": "/srv/reports",
            "SUIVI_OUTBOX_DIR": "/srv/outbox",
        },
    )
    assert settings.database.url == "postgresql+psycopg://u@h/db"
    assert (settings.smtp.host, settings.smtp.port) == ("mail.example.org", 2525)
    assert settings.reports.dir == Path("/srv/reports")
    assert settings.outbox.dir == Path("/srv/outbox")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[smtp]\nport = 'abc'\n", "[smtp] port"),
        ("[smtp]\nprot = 25\n", "[smtp] prot: unknown key"),
        ("[app]\ntimezone = 'Mars/Olympus'\n", "[app] timezone"),
        ("[app]\nmode = 'prod'\n", "[app] mode"),
        ("[database\nurl = 'x'\n", "not valid TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path, content, expected):
    path = tmp_path / "config.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_settings(path, environ={})
    assert expected in str(error.value)


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("SUIVI_WEB_PORT", "huit", r"\[web\] port"),
        ("SUIVI_SMTP_MAX_ATTEMPTS", "0", r"\[smtp\] max_attempts"),
    ],
)
def test_bad_env_value_names_the_key(variable, value, named):
    with pytest.raises(ConfigError, match=named):
        load_settings(ROOT / "config.toml", environ={variable: value})


def test_cli_reports_config_errors_without_traceback(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[smtp]\nport = 'abc'\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["--config", str(path), "init"])
    assert result.exit_code == 2
    assert "Erreur de configuration" in result.output and "[smtp] port" in result.output
    assert "Traceback" not in result.output


def test_missing_explicit_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "absent.toml", environ={})


def test_production_refuses_the_default_secret(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[app]\nmode = 'production'\n", encoding="utf-8")
    settings = load_settings(path, environ={})
    assert settings.app.secret_key == DEFAULT_SECRET
    with pytest.raises(ConfigError, match="secret_key"):
        settings.check_secret()
    ok = load_settings(
        path,
        environ={
            "SUIVI_APP_SECRET_KEY": "a-long-random-secret-value",
            "SUIVI_APP_BASE_URL": "https://suivi.example.org",
        },
    )
    ok.check_secret()
    assert load_settings(ROOT / "config.toml", environ={}).is_demo


@pytest.mark.parametrize(
    ("variable", "section", "key", "value"),
    [
        ("SUIVI_SMTP_MAX_ATTEMPTS", "smtp", "max_attempts", 7),
        (
            "SUIVI_LOGIN_ATTEMPTS_PER_MINUTE_PER_ADDRESS",
            "login",
            "attempts_per_minute_per_address",
            3,
        ),
        ("SUIVI_DATABASE_BUSY_TIMEOUT_MS", "database", "busy_timeout_ms", 250),
    ],
)
def test_keys_with_underscores_are_split_after_the_section(variable, section, key, value):
    # SUIVI_TEST_POSTGRES_URL names no section: ignored.
    environ = {variable: str(value), "SUIVI_TEST_POSTGRES_URL": "postgresql+psycopg://ignored"}
    settings = load_settings(ROOT / "config.toml", environ=environ)
    assert getattr(getattr(settings, section), key) == value


def test_templates_default_to_the_packaged_ones(tmp_path, monkeypatch):
    """A copy of the documented config.toml used away from a checkout (an installed wheel)
    finds the templates shipped inside the package; empty means the same."""
    copied = tmp_path / "config.toml"
    copied.write_text((ROOT / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    assert load_settings(copied, environ={}).reports.templates_dir == PACKAGED_TEMPLATES_DIR
    assert (PACKAGED_TEMPLATES_DIR / "copil.html").is_file()
    assert (PACKAGED_TEMPLATES_DIR / "email" / "reminder.txt.j2").is_file()
    empty = load_settings(copied, environ={"SUIVI_REPORTS_TEMPLATES_DIR": ""})
    assert empty.reports.templates_dir == PACKAGED_TEMPLATES_DIR
    elsewhere = tmp_path / "ailleurs"  # no config.toml here: the defaults
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert load_settings(environ={}).reports.templates_dir == PACKAGED_TEMPLATES_DIR


def test_templates_dir_points_to_a_users_copy(tmp_path):
    own = tmp_path / "mes-modeles"
    own.mkdir()
    settings = load_settings(
        ROOT / "config.toml", environ={"SUIVI_REPORTS_TEMPLATES_DIR": str(own)}
    )
    assert settings.reports.templates_dir == own
    # In a checkout, the documented value is the top-level folder, edited in place.
    checkout = load_settings(ROOT / "config.toml", environ={})
    assert checkout.reports.templates_dir == ROOT / "reports" / "templates"
    with pytest.raises(ConfigError, match=r"\[reports\] templates_dir: .*mes-modeles-absents"):
        load_settings(
            ROOT / "config.toml",
            environ={"SUIVI_REPORTS_TEMPLATES_DIR": str(tmp_path / "mes-modeles-absents")},
        )
