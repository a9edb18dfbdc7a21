"""The market world for the library's market tests: clients of the named accounts, set-up helpers.

Not a conftest: test modules import the ``world`` fixture from here explicitly. It builds on the
shared ``deployment`` (tests/conftest.py), which comes with the resale market that `deploy` adds:
fee 250 bps credited to ``admin``, 7 days to ship, 14 to confirm or dispute, 7 to rule. Sellers are
``merchant``, buyers ``owner``, rulings come from ``arbiter``.

Deadlines are reached with eth-tester's ``time_travel`` (`World.travel`), which mines a block
just before the target time; tests travel a little past a deadline (the market's deadlines are
inclusive, which the contract tests pin to the second).
"""

from __future__ import annotations

import dataclasses

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger.client import ProvenanceClient
from ledger.deploy import DEFAULT_FEE_BPS, Deployment
from ledger.market import MarketClient
from ledger.types import DisputeReason, ItemId, Wei
from tests.conftest import DevAccounts

__all__ = ["CLAIM", "DAY", "DECISION", "FEE", "PRICE", "SHIPMENT", "World", "world"]

DAY = 86_400
PRICE = Wei(10**18)
FEE = PRICE * DEFAULT_FEE_BPS // 10_000
ZERO_ADDRESS = "0x" + "00" * 20
SHIPMENT = {"carrier": "DHL", "tracking": "JD0146000012345"}
CLAIM = {"statement": "the strap is not the original", "photos": ["strap.jpg"]}
DECISION = {"ruling": "reasons.pdf"}


# ---------------------------------------------------------------------- the world


@dataclasses.dataclass
class World:
    """The market clients of the named accounts, and helpers to set up sales."""

    w3: Web3
    accounts: DevAccounts
    passport: ProvenanceClient
    seller: MarketClient
    buyer: MarketClient
    arbiter: MarketClient
    stranger: MarketClient
    admin: MarketClient
    reader: MarketClient

    def item(self, serial: str) -> ItemId:
        """A new item owned by the seller (merchant)."""
        return self.passport.register(
            brand="Maison Test", serial=serial, metadata={"s": serial}
        ).item_id

    def now(self) -> int:
        return self.seller.chain_time()

    def travel(self, seconds: int) -> None:
        """Move the chain's clock ``seconds`` past the next block's timestamp."""
        tester = self.w3.provider.ethereum_tester  # type: ignore[attr-defined]
        pending = int(tester.get_block_by_number("pending")["timestamp"])
        tester.time_travel(pending + seconds)

    def listed(self, serial: str, *, price: Wei = PRICE) -> tuple[ItemId, int]:
        item = self.item(serial)
        listing = self.seller.list_item(item_id=item, price=price, expiry=self.now() + 30 * DAY)
        return item, listing.listing_id

    def paid(self, serial: str) -> tuple[ItemId, int]:
        item, listing_id = self.listed(serial)
        return item, self.buyer.buy(listing_id=listing_id).sale_id

    def shipped(self, serial: str) -> tuple[ItemId, int]:
        item, sale_id = self.paid(serial)
        self.seller.mark_shipped(sale_id=sale_id, shipment_ref=SHIPMENT)
        return item, sale_id

    def disputed(self, serial: str) -> tuple[ItemId, int]:
        item, sale_id = self.shipped(serial)
        self.buyer.open_dispute(
            sale_id=sale_id, reason=DisputeReason.NOT_AS_DESCRIBED, evidence=CLAIM, uri="ipfs://c"
        )
        return item, sale_id

    def balance(self, account: LocalAccount) -> int:
        return int(self.w3.eth.get_balance(account.address))

    def nonce(self, account: LocalAccount) -> int:
        return int(self.w3.eth.get_transaction_count(account.address))


@pytest.fixture
def world(
    w3: Web3,
    deployment: Deployment,
    accounts: DevAccounts,
    merchant_client: ProvenanceClient,
) -> World:
    assert deployment.market is not None

    def market(account: LocalAccount | None) -> MarketClient:
        return MarketClient(w3=w3, deployment=deployment, account=account)

    return World(
        w3=w3,
        accounts=accounts,
        passport=merchant_client,
        seller=MarketClient.from_client(merchant_client),
        buyer=market(accounts.owner),
        arbiter=market(accounts.arbiter),
        stranger=market(accounts.stranger),
        admin=market(accounts.admin),
        reader=market(None),
    )
