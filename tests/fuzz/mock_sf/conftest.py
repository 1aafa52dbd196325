"""mock_sf for the fuzz tests: one app per module, Ada signed in (tests/fuzz/apps.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mock_sf.models import db
from tests.fuzz.apps import MockSalesforce
from tests.fuzz.apps import mock_salesforce


@pytest.fixture(scope="module")
def sf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockSalesforce]:
    """mock_sf seeded with the demo data, IdP callouts faked, Ada signed in."""
    running = mock_salesforce(tmp_path_factory.mktemp("fuzz_sf"))
    yield running
    with running.app.app_context():
        db.engine.dispose()
