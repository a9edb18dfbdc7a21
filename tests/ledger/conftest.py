"""Fixtures for library tests, on top of the shared deployment (see tests/conftest.py).

Each fixture sends its transactions in the test that asks for it, on top of the reverted
``deployment`` snapshot, so tests only pay for the items they use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from web3 import Web3

from ledger.client import ProvenanceClient, Registration
from tests.conftest import DevAccounts

METADATA: dict[str, Any] = {
    "brand": "Maison Test",
    "model": "Weekender 45",
    "colour": "cognac",
    "condition": "very good",
}


@pytest.fixture
def registered(merchant_client: ProvenanceClient, accounts: DevAccounts) -> Registration:
    """An item registered by merchant, owned by owner, with a metadata URI."""
    return merchant_client.register(
        brand="Maison Test",
        serial="WK45-0001",
        metadata=METADATA,
        owner=accounts.owner.address,
        metadata_uri="ipfs://bafy-weekender-0001",
    )


@pytest.fixture
def nonce_of(w3: Web3) -> Callable[[str], int]:
    """The confirmed transaction count of an address."""

    def nonce(address: str) -> int:
        return int(w3.eth.get_transaction_count(address))  # type: ignore[arg-type]

    return nonce
