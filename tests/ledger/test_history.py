"""An item's history, rebuilt from logs: every fact, in chain order, readable without the ABI.

Histories are log scans, so this module runs on a chain of its own (`OwnChain`): on the shared
chain, blocks of tests that mined from genesis can keep answering by number after a revert and
leak their logs into the scan.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from web3 import Web3

from ledger.chain import EmbeddedProvider
from ledger.client import ProvenanceClient, Registration
from ledger.deploy import Deployment
from ledger.hashing import hash_document, item_id
from ledger.history import EVENT_KINDS, HistoryEvent, item_history
from ledger.types import ConditionGrade, ItemStatus, RetirementKind, ServiceKind, Verdict
from tests.conftest import DevAccounts
from tests.ledger.conftest import OwnChain

EVIDENCE = {"report": "inspection.pdf"}
LIFE_METADATA = {"brand": "Maison Test", "model": "Keepall 50"}


@pytest.fixture(scope="module")
def _life(own_chain: OwnChain, accounts: DevAccounts) -> list[HistoryEvent]:
    """A whole life: registered, inspected, serviced, sold, stolen, recovered, sold, retired.

    Lived once per module, before its first test, and made the base every test starts from:
    reverting *forwards* to a snapshot taken after it, from a sibling branch, would leave the
    sibling's blocks answering some of its block numbers (see tests/ledger/conftest.py).
    """
    own_chain.reverted()
    merchant = own_chain.client(accounts.merchant)
    owner = own_chain.client(accounts.owner)
    stranger = own_chain.client(accounts.stranger)
    item = merchant.register(
        brand="Maison Test",
        serial="KP50-LIFE",
        metadata=LIFE_METADATA,
        owner=accounts.owner.address,
        metadata_uri="ipfs://bafy-keepall-life",
    ).item_id
    own_chain.client(accounts.authenticator).authenticate(
        item_id=item, verdict=Verdict.AUTHENTIC, grade=ConditionGrade.LIKE_NEW, evidence=EVIDENCE
    )
    merchant.record_service(
        item_id=item, kind=ServiceKind.PART_REPLACEMENT, evidence={"part": "zip"}
    )
    owner.transfer(item_id=item, to=accounts.stranger.address, sale_ref={"order": 1})
    stranger.flag(item_id=item, status=ItemStatus.STOLEN, report={"police": "123"})
    stranger.clear_flag(item_id=item, clearance={"recovered": True})
    stranger.transfer(item_id=item, to=accounts.owner.address)
    owner.retire(item_id=item, kind=RetirementKind.REMANUFACTURED, evidence=EVIDENCE)
    events = owner.history(item)
    own_chain.settle()
    return events


@pytest.fixture
def tester_provider(own_chain: OwnChain, _life: list[HistoryEvent]) -> EmbeddedProvider:
    """This module's chain, back at its base (the deployment and the lived item's whole life)."""
    return own_chain.reverted()


@pytest.fixture
def deployment(tester_provider: EmbeddedProvider, own_chain: OwnChain) -> Deployment:
    return own_chain.deployment


@pytest.fixture
def lived(_life: list[HistoryEvent]) -> list[HistoryEvent]:
    """The lived item's history as read right after its life (it is on chain in every test)."""
    return _life


def test_history_lists_every_fact_in_chain_order(lived: list[HistoryEvent]) -> None:
    assert [event.kind for event in lived] == [
        "registered",
        "metadata_updated",  # registration with a metadata URI publishes it
        "authenticated",
        "serviced",
        "transferred",
        "sale_recorded",
        "flagged",
        "flag_cleared",
        "transferred",
        "retired",
    ]
    positions = [(event.block_number, event.log_index) for event in lived]
    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions)
    timestamps = [event.timestamp for event in lived]
    assert timestamps == sorted(timestamps) and timestamps[0] > 0


def test_history_names_who_acted(lived: list[HistoryEvent], accounts: DevAccounts) -> None:
    actors = {event.kind: event.actor for event in lived}
    assert actors["registered"] == accounts.merchant.address
    assert actors["authenticated"] == accounts.authenticator.address
    assert actors["serviced"] == accounts.merchant.address
    assert actors["flagged"] == accounts.stranger.address
    assert actors["retired"] == accounts.owner.address
    transfers = [event for event in lived if event.kind == "transferred"]
    assert [t.actor for t in transfers] == [accounts.owner.address, accounts.stranger.address]
    assert transfers[0].data == {"from": accounts.owner.address, "to": accounts.stranger.address}


def test_history_renders_enums_as_words_and_hashes_as_hex(lived: list[HistoryEvent]) -> None:
    data = {event.kind: event.data for event in lived}
    assert data["registered"] == {
        "registrant": lived[0].actor,
        "metadata_hash": "0x" + hash_document(LIFE_METADATA).hex(),
        "brand_certified": False,
    }
    assert data["metadata_updated"]["metadata_uri"] == "ipfs://bafy-keepall-life"
    assert data["authenticated"]["verdict"] == "authentic"
    assert data["authenticated"]["grade"] == "like_new"
    assert data["authenticated"]["evidence_hash"] == "0x" + hash_document(EVIDENCE).hex()
    assert data["serviced"]["kind"] == "part_replacement"
    assert data["flagged"]["status"] == "stolen"
    assert data["flagged"]["report_hash"] == "0x" + hash_document({"police": "123"}).hex()
    assert data["flag_cleared"]["previous"] == "stolen"
    assert data["retired"]["kind"] == "remanufactured"
    assert data["sale_recorded"]["sale_ref"] == "0x" + hash_document({"order": 1}).hex()


def test_history_is_the_same_when_read_again(
    lived: list[HistoryEvent], reader: ProvenanceClient
) -> None:
    assert reader.history(lived[0].item_id) == lived


def test_history_events_serialise_to_json(lived: list[HistoryEvent]) -> None:
    text = json.dumps([event.to_json() for event in lived])
    first: dict[str, Any] = json.loads(text)[0]
    assert first["kind"] == "registered"
    assert first["item_id"] == "0x" + lived[0].item_id.hex()
    assert first["tx_hash"].startswith("0x") and len(first["tx_hash"]) == 66


def test_history_leaves_out_the_mint_transfer(
    registered: Registration, reader: ProvenanceClient
) -> None:
    assert [event.kind for event in reader.history(registered.item_id)] == [
        "registered",
        "metadata_updated",
    ]


def test_history_holds_only_the_items_own_events(
    registered: Registration, merchant_client: ProvenanceClient, reader: ProvenanceClient
) -> None:
    other = merchant_client.register(brand="Maison Test", serial="OTHER-1", metadata={})
    merchant_client.update_metadata(item_id=other.item_id, metadata={"v": 2})
    assert {event.item_id for event in reader.history(registered.item_id)} == {registered.item_id}
    assert [event.kind for event in reader.history(other.item_id)] == [
        "registered",
        "metadata_updated",
    ]


def test_history_of_an_unknown_item_is_empty(reader: ProvenanceClient) -> None:
    assert reader.history(item_id(brand="Maison Test", serial="NEVER")) == []


def test_history_from_a_block_skips_earlier_events(
    registered: Registration, merchant_client: ProvenanceClient, w3: Web3
) -> None:
    update = merchant_client.update_metadata(item_id=registered.item_id, metadata={"v": 2})
    events = item_history(
        w3=w3,
        passport=merchant_client.passport,
        item_id=registered.item_id,
        from_block=update.block_number,
    )
    assert [(event.kind, event.tx_hash) for event in events] == [
        ("metadata_updated", update.tx_hash)
    ]


def test_block_timestamps_are_fetched_once_per_block(
    registered: Registration, merchant_client: ProvenanceClient, w3: Web3
) -> None:
    cache: dict[str, int] = {}
    item_history(
        w3=w3,
        passport=merchant_client.passport,
        item_id=registered.item_id,
        block_timestamps=cache,
    )
    assert list(cache) == [registered_block_hash(w3, registered)]


def registered_block_hash(w3: Web3, registration: Registration) -> str:
    return w3.eth.get_block(registration.tx.block_number)["hash"].to_0x_hex()  # type: ignore[union-attr]


def test_every_history_kind_comes_from_a_passport_event(merchant_client: ProvenanceClient) -> None:
    declared = {e["name"] for e in merchant_client.passport.abi if e.get("type") == "event"}
    assert set(EVENT_KINDS) <= declared
    assert len(set(EVENT_KINDS.values())) == len(EVENT_KINDS)
