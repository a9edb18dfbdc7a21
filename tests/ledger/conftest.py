"""Fixtures for library tests, on top of the shared deployment (see tests/conftest.py).

Each fixture sends its transactions in the test that asks for it, on top of the reverted
``deployment`` snapshot, so tests only pay for the items they use.

Modules that assert on logs (histories, evidence bundles, trust reports) run on a chain of their
own instead (`OwnChain`, ~1 s per module and xdist worker): on the shared chain, a test that
mines from genesis leaves its blocks answering by number after the revert to the deployment
snapshot (see tests/conftest.py), so its logs leak into every log scan. Such a module overrides
two fixtures::

    @pytest.fixture
    def tester_provider(own_chain: OwnChain) -> EmbeddedProvider:
        return own_chain.reverted()


    @pytest.fixture
    def deployment(tester_provider: EmbeddedProvider, own_chain: OwnChain) -> Deployment:
        return own_chain.deployment
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger.chain import EmbeddedProvider
from ledger.client import ProvenanceClient, Registration
from ledger.deploy import Deployment, deploy
from tests.conftest import TEST_BASE_URI, DevAccounts, _vet_named_accounts

__all__ = ["METADATA", "OwnChain"]

METADATA: dict[str, Any] = {
    "brand": "Maison Test",
    "model": "Weekender 45",
    "colour": "cognac",
    "condition": "very good",
}


@dataclass
class OwnChain:
    """A module's own eth-tester chain with the shared fixtures' deployment and vetted accounts.

    Every test reverts to one base snapshot, always *backwards* (to an ancestor of wherever the
    last test left the chain): eth-tester's block-number index is only trustworthy then. Moving
    the base forward (`settle`) is for module set-up that runs before any test does.
    """

    provider: EmbeddedProvider
    deployment: Deployment
    snapshot: Any

    @classmethod
    def start(cls, accounts: DevAccounts) -> OwnChain:
        provider = EmbeddedProvider()
        w3 = Web3(provider)
        deployment = deploy(w3=w3, admin=accounts.admin, base_uri=TEST_BASE_URI)
        _vet_named_accounts(w3, deployment, accounts)
        return cls(provider, deployment, provider.ethereum_tester.take_snapshot())

    @property
    def w3(self) -> Web3:
        return Web3(self.provider)

    def client(self, account: LocalAccount | None = None) -> ProvenanceClient:
        return ProvenanceClient(w3=self.w3, deployment=self.deployment, account=account)

    def reverted(self) -> EmbeddedProvider:
        """The provider, back at the base snapshot."""
        self.provider.ethereum_tester.revert_to_snapshot(self.snapshot)
        return self.provider

    def settle(self) -> None:
        """Make the chain as it is now the base every later test starts from."""
        self.snapshot = self.provider.ethereum_tester.take_snapshot()


@pytest.fixture(scope="module")
def own_chain(accounts: DevAccounts) -> OwnChain:
    """A fresh chain for the requesting module (see the module doc for how to opt in)."""
    return OwnChain.start(accounts)


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
