"""The page and API clients of tests/web and tests/api, for the input-domain tests."""

from tests.api.conftest import api  # noqa: F401 - a fixture, re-exported
from tests.web.conftest import web  # noqa: F401 - a fixture, re-exported
