"""Fixtures the notifier's tests share."""

from __future__ import annotations

import pytest

from fcm_standin import FcmStandIn


@pytest.fixture
async def fcm() -> FcmStandIn:
    """A running FCM stand-in (see ``fcm_standin``)."""
    standin = await FcmStandIn().start()
    yield standin
    await standin.stop()
