"""Shared test helpers: the one place a test module imports helpers from.

A test module (``test_*.py``) or a ``conftest.py`` imports helpers only from
``tests.support.*`` — never from another test module or another package's conftest.
``tests/foundation/test_test_layout.py`` checks it. Each module is named by what it serves:

- ``databases``: real databases on every backend (``DatabaseFactory``, demo templates,
  ``DEMO_AS_OF``, ``make_settings``);
- ``api_clients``: the ``api`` fixture (bearer token per demo role), ``login``, ``ROLES``,
  ``scope_objects``, ``client_for``;
- ``web_clients``: the ``web`` fixture (logged-in page clients), ``login``, ``AS_OF``,
  ``EMAILS``, ``scope_ids``;
- ``forms``: the login form as a browser fills it (CSRF token first);
- ``browser``: chromium through Playwright against ``served(app)`` (uvicorn in a thread);
- ``smtp``: a real SMTP server (aiosmtpd) and the settings that send through it;
  ``ports``: a free loopback port;
- ``notifications``: an outgoing email, the demo's Monday, reminder recipients;
- ``scheduler``: job runs and catch-up settings on Paris time;
- ``reports``: report contexts rendered to PDF and read back with pdftotext;
- ``backup``: instance settings, rows and files of an instance, damaged files;
- ``io``: workbook export/import on a test database, a digest of every row;
- ``cli``: the ``suivi`` CLI on a test database;
- ``indicators``: measurements read back, a counter of SQL statements;
- ``progress``: Hypothesis strategies of indicator specs and measurements.

Fixtures used by one package stay in that package's ``conftest.py``; a fixture shared by
several packages lives here and each package's ``conftest.py`` imports it.
"""
