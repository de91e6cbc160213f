"""Fixtures shared rather than copied: the API client of tests/api (a bearer token per demo
role) and the real SMTP server of tests/notifications."""

from tests.api.conftest import api  # noqa: F401
from tests.notifications.conftest import smtp_server  # noqa: F401
