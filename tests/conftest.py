"""Plain-pytest suite of the pure layer (no Odoo).

``kobo_connector/kobo_kpi`` is imported as the top-level package ``kobo_kpi``.
It must never also be imported as ``odoo.addons.kobo_connector.kobo_kpi`` in
the same process (two sets of exception classes): the Odoo tests run in a
separate pytest process (see ``scripts/test``).
"""

import sys
from pathlib import Path

import pytest
import requests

ADDON_DIR = Path(__file__).resolve().parent.parent / "kobo_connector"
if "odoo.addons.kobo_connector" in sys.modules:  # pragma: no cover - guard
    raise RuntimeError("Run the pure tests in their own pytest process (scripts/test).")
sys.path.insert(0, str(ADDON_DIR))


@pytest.fixture
def fake_kobo():
    """A running FakeKobo (function scope); ``fake_kobo.url``, ``fake_kobo.token``."""
    from kobo_kpi.fake import FakeKobo

    with FakeKobo() as fake:
        yield fake


def token_session(token):
    s = requests.Session()
    s.headers["Authorization"] = f"Token {token}"
    return s


@pytest.fixture
def session():
    """``session(token)``: a requests session sending that KoBo token."""
    return token_session


@pytest.fixture
def api(fake_kobo):
    """A requests session with the fake's superuser token."""
    return token_session(fake_kobo.token)
