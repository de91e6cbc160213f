"""The `smtp_server` fixture: a real SMTP server (aiosmtpd) on a free loopback port."""

from tests.support.smtp import smtp_server  # noqa: F401 - the fixture
