"""Index-served item reads equal the chain's: `IndexReader.item_state` is `ProvenanceClient.item`
plus `current_metadata_hash`, and `IndexReader.item_history` is `ProvenanceClient.history`, for
items whose histories hold every kind of event (registration, metadata, attestation, service,
flags by owner and admin, transfers, permits, retirement and succession, market sales, escrow
and a ruled dispute).

`build_histories` is also the scenario of the gateway's test (tests/api/test_index_served_reads).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.types import Wei

from ledger.client import ProvenanceClient
from ledger.deploy import Deployment
from ledger.hashing import item_id as label_item_id
from ledger.history import HistoryEvent
from ledger.index_store import IndexReader
from ledger.indexer import Indexer, contracts_of
from ledger.market import MarketClient
from ledger.types import (
    AccountStatus,
    ConditionGrade,
    DisputeReason,
    Hash32,
    Item,
    ItemId,
    ItemStatus,
    RetirementKind,
    Role,
    Ruling,
    ServiceKind,
    Verdict,
)
from tests.conftest import DevAccounts
from tests.ledger.conftest import METADATA, OwnChain

PRICE = Wei(10**17)
DAY = 86_400
ITEM_NAMES = ("rich", "successor", "held", "permitted", "sold", "disputed", "escrowed", "plain")
"""The names `build_histories` gives its items."""


def _vetted(
    admin: ProvenanceClient, account: LocalAccount, roles: Role, name: str
) -> ProvenanceClient:
    if admin.account_record(account.address).status != AccountStatus.ACTIVE:
        admin.vet(account=account.address, roles=roles, credentials={"name": name}, name=name)
    return ProvenanceClient(w3=admin.w3, deployment=admin.deployment, account=account)


def build_histories(
    w3: Web3, deployment: Deployment, accounts: DevAccounts, *, tag: str = ""
) -> dict[str, ItemId]:
    """Items with rich histories on ``deployment`` (which must have a market), by name.

    Vets the named accounts it needs if they are not active yet. ``tag`` keeps serials unique
    when called twice on one chain.
    """
    admin = ProvenanceClient(w3=w3, deployment=deployment, account=accounts.admin)
    merchant = _vetted(admin, accounts.merchant, Role.MERCHANT, "Second Life Luxury")
    brand = _vetted(admin, accounts.brand, Role.BRAND, "Maison Test")
    lab = _vetted(admin, accounts.authenticator, Role.AUTHENTICATOR, "Authentic Lab")
    _vetted(admin, accounts.arbiter, Role.ARBITER, "Fair Resolutions")
    owner = ProvenanceClient(w3=w3, deployment=deployment, account=accounts.owner)
    seller = MarketClient.from_client(merchant)
    buyer = MarketClient(w3=w3, deployment=deployment, account=accounts.stranger)
    judge = MarketClient(w3=w3, deployment=deployment, account=accounts.arbiter)

    def register(client: ProvenanceClient, serial: str, **extra: object) -> ItemId:
        return client.register(
            brand="Maison Test", serial=f"IDX-{tag}{serial}", metadata=METADATA, **extra
        ).item_id  # type: ignore[arg-type]

    items: dict[str, ItemId] = {}

    # Everything the passport records, ending in retirement and a successor passport.
    rich = items["rich"] = register(merchant, "RICH", metadata_uri="ipfs://rich-v1")
    merchant.update_metadata(
        item_id=rich, metadata={**METADATA, "strap": "new"}, metadata_uri="ipfs://rich-v2"
    )
    lab.authenticate(
        item_id=rich, verdict=Verdict.AUTHENTIC, grade=ConditionGrade.LIKE_NEW, evidence={"r": 1}
    )
    merchant.record_service(item_id=rich, kind=ServiceKind.REPAIR, evidence={"invoice": 7})
    merchant.transfer(item_id=rich, to=accounts.owner.address, sale_ref={"order": "A-1"})
    owner.flag(item_id=rich, status=ItemStatus.STOLEN, report={"police": "P-1"})
    owner.clear_flag(item_id=rich, clearance={"found": True})
    admin.flag(item_id=rich, status=ItemStatus.LOST, report={"desk": "L-1"})
    admin.clear_flag(item_id=rich, clearance={"desk": "L-1 closed"})
    owner.transfer(item_id=rich, to=accounts.merchant.address)
    merchant.retire(item_id=rich, kind=RetirementKind.DESTROYED, evidence={"photo": 1})
    items["successor"] = merchant.register_successor(
        predecessor_id=rich,
        brand="Maison Test",
        serial=f"IDX-{tag}SUCC",
        metadata=METADATA,
        owner=accounts.owner.address,
    ).item_id  # type: ignore[assignment]

    # Brand-certified, flagged by the admin and left flagged.
    held = items["held"] = register(brand, "HELD", owner=accounts.owner.address)
    admin.flag(item_id=held, status=ItemStatus.STOLEN, report={"desk": "S-1"})

    # A permit: the nonce moves on with no Transfer, only an Approval.
    permitted = items["permitted"] = register(merchant, "PERMIT", owner=accounts.owner.address)
    permit = owner.build_permit(
        item_id=permitted, spender=accounts.spare.address, deadline=owner.chain_time() + DAY
    )
    owner.permit(permit=permit, signature=owner.sign_permit(permit))

    # A market sale, delivered.
    sold = items["sold"] = register(merchant, "SOLD")
    listing = seller.list_item(item_id=sold, price=PRICE, expiry=seller.chain_time() + DAY)
    sale = buyer.buy(listing_id=listing.listing_id)
    seller.mark_shipped(sale_id=sale.sale_id, shipment_ref="UPS 1")
    buyer.confirm_delivery(sale_id=sale.sale_id)

    # A disputed sale ruled a counterfeit: refunded, the item back with the seller.
    disputed = items["disputed"] = register(merchant, "DISPUTED")
    listing = seller.list_item(item_id=disputed, price=PRICE, expiry=seller.chain_time() + DAY)
    sale = buyer.buy(listing_id=listing.listing_id)
    seller.mark_shipped(sale_id=sale.sale_id, shipment_ref="UPS 2")
    buyer.open_dispute(
        sale_id=sale.sale_id,
        reason=DisputeReason.NOT_AS_DESCRIBED,
        evidence={"photos": 3},
        uri="ipfs://claim",
    )
    seller.submit_evidence(sale_id=sale.sale_id, evidence={"receipt": 1}, uri="ipfs://receipt")
    judge.rule(
        sale_id=sale.sale_id, ruling=Ruling.REFUND, ruling_evidence={"why": 1}, counterfeit=True
    )

    # In escrow: bought, not shipped, so locked.
    escrowed = items["escrowed"] = register(merchant, "ESCROW")
    listing = seller.list_item(item_id=escrowed, price=PRICE, expiry=seller.chain_time() + DAY)
    buyer.buy(listing_id=listing.listing_id)

    # Registered and nothing else.
    items["plain"] = register(merchant, "PLAIN")
    return items


@pytest.fixture(scope="module")
def world(
    accounts: DevAccounts, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[OwnChain, dict[str, ItemId], IndexReader]]:
    chain = OwnChain.start(accounts)
    items = build_histories(chain.w3, chain.deployment, accounts)
    path: Path = tmp_path_factory.mktemp("index-reads") / "index.db"
    with Indexer(
        w3=chain.w3,
        contracts=contracts_of(chain.deployment),
        db_path=path,
        start_block=int(chain.deployment.block_number),
        chain_id=int(chain.deployment.chain_id),
    ) as indexer:
        indexer.poll_once()
        with IndexReader(path) as reader:
            yield chain, items, reader


@dataclass(frozen=True)
class ChainRead:
    item: Item
    metadata_hash: Hash32 | None
    history: list[HistoryEvent]


@pytest.fixture(scope="module")
def chain_reads(
    world: tuple[OwnChain, dict[str, ItemId], IndexReader],
) -> dict[str, ChainRead]:
    """What the chain says of each item (read once: a history costs seconds on eth-tester)."""
    chain, items, _ = world
    client = chain.client()
    return {
        name: ChainRead(client.item(item), client.current_metadata_hash(item), client.history(item))
        for name, item in items.items()
    }


def test_the_scenario_covers_every_history_kind(chain_reads: dict[str, ChainRead]) -> None:
    kinds = {event.kind for read in chain_reads.values() for event in read.history}
    assert kinds >= {
        "registered", "metadata_updated", "authenticated", "serviced", "transferred",
        "sale_recorded", "flagged", "flag_cleared", "retired", "succeeded", "locked", "unlocked",
        "listed", "purchased", "shipped", "dispute_opened", "evidence_submitted",
        "dispute_ruled", "sale_settled",
    }  # fmt: skip
    assert chain_reads["held"].item.flagged_by_admin and chain_reads["held"].item.brand_certified
    assert chain_reads["escrowed"].item.locked
    assert chain_reads["disputed"].item.last_verdict == Verdict.COUNTERFEIT
    assert chain_reads["permitted"].item.transfer_nonce == 1
    assert chain_reads["rich"].item.status == ItemStatus.RETIRED


@pytest.mark.parametrize("name", ITEM_NAMES)
def test_an_indexed_item_reads_as_the_chain_reads_it(
    world: tuple[OwnChain, dict[str, ItemId], IndexReader],
    chain_reads: dict[str, ChainRead],
    name: str,
) -> None:
    chain, items, reader = world
    item, expected = items[name], chain_reads[name]
    state = reader.item_state(item, nonce_of=chain.client().item_nonce)
    assert state == (expected.item, expected.metadata_hash)
    assert reader.item_history(item) == expected.history
    assert reader.item_history("0x" + item.hex()) == expected.history


def test_a_permitted_item_needs_the_chain_for_its_nonce(
    world: tuple[OwnChain, dict[str, ItemId], IndexReader],
) -> None:
    _, items, reader = world
    # A plain approve emits the same Approval as a permit, so the index cannot count permits.
    assert reader.item_state(items["permitted"]) is None
    state = reader.item_state(items["sold"])
    assert state is not None and state[0].transfer_nonce == 1  # bought: one transfer


def test_an_unknown_item_is_none_in_the_index(
    world: tuple[OwnChain, dict[str, ItemId], IndexReader],
) -> None:
    _, _, reader = world
    unknown = label_item_id(brand="Maison Test", serial="NEVER-REGISTERED")
    assert reader.item_state(unknown) is None
    assert reader.item_history(unknown) is None
