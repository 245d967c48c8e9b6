from __future__ import annotations

import pytest

from mlagents_fast.run.stats import StatsRegistry


@pytest.fixture
def registry() -> StatsRegistry:
    """A private registry, so tests never see each other's writers or pending values."""
    return StatsRegistry()
