"""The API client of tests/api (a bearer token per demo role), reused for the committee cycle."""

from tests.api.conftest import api  # noqa: F401 - the fixture, shared rather than copied
