"""Fixtures for the analyzer tests: the data directory and the shipped models, loaded once."""

from __future__ import annotations

import pytest

from apps.analyzer.dataset import resolve_data_dir
from apps.analyzer.model import EmergencyModel


@pytest.fixture(scope="session")
def data_dir():
    try:
        return resolve_data_dir()
    except FileNotFoundError as error:
        pytest.skip(f"disaster-tweets data absent, quality checks need it: {error}")


@pytest.fixture(scope="session")
def shipped_models() -> dict[str, EmergencyModel]:
    return {}


@pytest.fixture
def load_shipped(shipped_models):
    def load(mode: str) -> EmergencyModel:
        if mode not in shipped_models:
            shipped_models[mode] = EmergencyModel.load(mode)
        return shipped_models[mode]

    return load
