"""The page and API clients of tests/web and tests/api, for the input-domain tests."""

from tests.support.api_clients import api  # noqa: F401 - a fixture
from tests.support.web_clients import web  # noqa: F401 - a fixture
