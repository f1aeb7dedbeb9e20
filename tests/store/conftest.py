"""The store's contract tests run against the real store (tests/conftest.py starts it)."""
import pytest


@pytest.fixture(scope="module")
def store(store_factory):
    return store_factory()
