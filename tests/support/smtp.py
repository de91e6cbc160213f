"""A real SMTP server for the email tests: aiosmtpd `Controller` on a free loopback port, and
the settings that send through it."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from dataclasses import field
from email import message_from_bytes
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from tests.support.ports import free_port


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class RecordingHandler:
    """Keeps every accepted message; answers `refuse[rcpt]` (e.g. "550 ...") for some
    recipients, and waits `delay` seconds before accepting (to kill a sender mid-batch)."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [item.message["Message-ID"] for item in self.received]


class SmtpServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.handler = RecordingHandler()
        self.controller: Controller | None = None

    def start(self) -> SmtpServer:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received


def smtp_settings(settings, port: int):
    """The test database's settings, sending through 127.0.0.1:`port` without STARTTLS."""
    settings.smtp.host = "127.0.0.1"
    settings.smtp.port = port
    settings.smtp.starttls = False
    settings.smtp.timeout_seconds = 5
    return settings


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free loopback port, for the test's duration."""
    server = SmtpServer().start()
    yield server
    server.stop()
