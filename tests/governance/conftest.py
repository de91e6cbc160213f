"""Fixtures shared rather than copied: the API client of tests/api (a bearer token per demo
role) and the real SMTP server of tests/notifications."""

from tests.support.api_clients import api  # noqa: F401
from tests.support.smtp import smtp_server  # noqa: F401
