"""The `api` fixture: an API client on the demo database with a token per demo role."""

from tests.support.api_clients import api  # noqa: F401 - a fixture, shared with tests/validation
