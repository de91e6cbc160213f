"""The `web` fixture: page clients on the demo database, one logged-in client per demo role."""

from tests.support.web_clients import web  # noqa: F401 - a fixture, shared with tests/validation
