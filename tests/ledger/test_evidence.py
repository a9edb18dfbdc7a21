"""Evidence bundles: built from the chain or from index records, re-checked against the node alone.

Each test registers its own items (distinct serials) and builds its history in the test: eth-tester
indexes receipts by transaction hash, so the same transaction mined on two snapshot branches would
make the receipt of one point at the other's block, which is exactly what verification checks.

Bundles hold every log a scan of the chain finds (markets named, items' events), so this module
runs on a chain of its own (`OwnChain`): on the shared chain, blocks of tests that mined from
genesis can keep answering by number after a revert and leak their logs into the scan.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from ledger import evidence
from ledger.chain import Connection, EmbeddedProvider
from ledger.client import ProvenanceClient
from ledger.deploy import Deployment
from ledger.errors import ConfigurationError, InputError
from ledger.evidence import (
    BUNDLE_FORMAT,
    EntryStatus,
    RawLog,
    build_bundle,
    bundle_json,
    export_bundle,
    load_bundle,
    verify_bundle,
    verify_bundle_file,
)
from ledger.types import ConditionGrade, ItemId, ItemStatus, ServiceKind, Verdict
from tests.conftest import DevAccounts
from tests.ledger.conftest import OwnChain
from tests.ledger.market_helpers import DAY, PRICE, deploy_market

EVIDENCE = {"report": "inspection.pdf"}
METADATA = {"brand": "Maison Test", "model": "Neverfull MM"}


@pytest.fixture
def tester_provider(own_chain: OwnChain) -> EmbeddedProvider:
    """This module's chain, back at its deployment (overrides the shared session chain)."""
    return own_chain.reverted()


@pytest.fixture
def deployment(tester_provider: EmbeddedProvider, own_chain: OwnChain) -> Deployment:
    return own_chain.deployment


@pytest.fixture
def lived_item(
    request: pytest.FixtureRequest,
    merchant_client: ProvenanceClient,
    authenticator_client: ProvenanceClient,
    owner_client: ProvenanceClient,
    accounts: DevAccounts,
) -> ItemId:
    """An item with a varied history: mint + registration + URI, inspection, service, sale,
    lost report and its clearance."""
    serial = "EV-" + request.node.name.replace("[", "-").replace("]", "")[-40:]
    item = merchant_client.register(
        brand="Maison Test",
        serial=serial,
        metadata=METADATA,
        owner=accounts.owner.address,
        metadata_uri="ipfs://bafy-evidence",
    ).item_id
    authenticator_client.authenticate(
        item_id=item, verdict=Verdict.AUTHENTIC, grade=ConditionGrade.EXCELLENT, evidence=EVIDENCE
    )
    merchant_client.record_service(item_id=item, kind=ServiceKind.REPAIR, evidence={"zip": 1})
    owner_client.flag(item_id=item, status=ItemStatus.LOST, report={"lost": "taxi"})
    owner_client.clear_flag(item_id=item, clearance={"found": True})
    owner_client.transfer(item_id=item, to=accounts.stranger.address, sale_ref={"order": serial})
    return item


def _events(bundle: dict[str, Any]) -> list[str]:
    return [entry["event"] for entry in bundle["events"]]


def _index_of(bundle: dict[str, Any], event: str) -> int:
    return _events(bundle).index(event)


# ---------------------------------------------------------------------- building


def test_bundle_holds_every_log_of_the_item_with_raw_and_decoded_forms(
    w3: Web3, deployment: Deployment, lived_item: ItemId
) -> None:
    bundle = build_bundle(w3=w3, deployment=deployment, item_id=lived_item)

    assert bundle["format"] == BUNDLE_FORMAT and bundle["version"] == 1
    assert bundle["chain_id"] == w3.eth.chain_id == deployment.chain_id
    assert bundle["item_id"] == "0x" + bytes(lived_item).hex()
    # `deploy` names a resale market in the passport: the bundle lists it.
    assert bundle["contracts"] == {"passport": deployment.passport, "markets": [deployment.market]}
    assert bundle["from_block"] == deployment.block_number
    assert bundle["to_block"] == w3.eth.block_number
    assert _events(bundle) == [
        "Transfer",  # the mint is evidence too
        "ItemRegistered",
        "MetadataUpdated",
        "ItemAuthenticated",
        "ItemServiced",
        "ItemFlagged",
        "FlagCleared",
        "Transfer",
        "SaleRecorded",
    ]
    auth = bundle["events"][_index_of(bundle, "ItemAuthenticated")]
    receipt = w3.eth.get_transaction_receipt(auth["transaction_hash"])
    assert auth["block_number"] == receipt["blockNumber"]
    assert auth["block_hash"] == receipt["blockHash"].to_0x_hex()
    assert auth["signature"] == "ItemAuthenticated(bytes32,address,uint8,uint8,bytes32)"
    assert auth["fields"]["verdict"] == int(Verdict.AUTHENTIC)
    assert auth["fields"]["itemId"] == bundle["item_id"]
    assert auth["topics"][1] == bundle["item_id"]
    assert bundle["enums"]["ItemAuthenticated.verdict"][auth["fields"]["verdict"]] == "authentic"
    mint = bundle["events"][0]
    # uint256 token ids are decimal strings: JSON readers in JavaScript lose no precision.
    assert mint["fields"]["id"] == str(int.from_bytes(lived_item, "big"))
    assert {f["name"] for f in bundle["abi"]} == set(_events(bundle))
    json.dumps(bundle)  # JSON-ready as is


def test_bundle_from_index_records_equals_bundle_from_the_chain(
    w3: Web3, deployment: Deployment, lived_item: ItemId
) -> None:
    from_chain = build_bundle(w3=w3, deployment=deployment, item_id=lived_item)
    # Rows shaped like the indexer's `raw_logs(item_id)` (extra keys are ignored)...
    rows: list[dict[str, Any]] = [
        {
            "chain_id": e["chain_id"],
            "contract": e["contract"],
            "address": e["address"],
            "block_number": e["block_number"],
            "block_hash": e["block_hash"],
            "tx_hash": e["transaction_hash"],
            "tx_index": e["transaction_index"],
            "log_index": e["log_index"],
            "timestamp": e["block_timestamp"],
            "event": e["event"],
            "actor": None,
            "args": {},
            "topics": e["topics"],
            "data": e["data"],
        }
        for e in reversed(from_chain["events"])  # order does not matter
    ]
    # ...and a leaner store: topics as a JSON array, no timestamps (fetched from the node).
    rows[0] = {
        key: (json.dumps(value) if key == "topics" else value)
        for key, value in rows[0].items()
        if key != "timestamp"
    }
    from_index = build_bundle(
        w3=w3,
        deployment=deployment,
        item_id=lived_item,
        logs=rows,
        as_of_block=from_chain["to_block"],
    )
    for bundle in (from_chain, from_index):
        bundle.pop("generated_at")
    assert from_index == from_chain


def test_index_records_about_something_else_are_refused(
    w3: Web3,
    deployment: Deployment,
    lived_item: ItemId,
    merchant_client: ProvenanceClient,
    accounts: DevAccounts,
) -> None:
    other = merchant_client.register(
        brand="Maison Test", serial="EV-OTHER", metadata=METADATA, owner=accounts.owner.address
    ).item_id
    foreign = build_bundle(w3=w3, deployment=deployment, item_id=other)["events"][1]
    with pytest.raises(InputError) as excinfo:
        build_bundle(w3=w3, deployment=deployment, item_id=lived_item, logs=[foreign])
    assert excinfo.value.field == "logs[0].topics"
    with pytest.raises(InputError) as excinfo:
        build_bundle(
            w3=w3,
            deployment=deployment,
            item_id=lived_item,
            logs=[{**foreign, "address": accounts.stranger.address}],
        )
    assert excinfo.value.field == "logs[0].address"


def test_build_refuses_a_deployment_of_another_chain(
    w3: Web3, deployment: Deployment, lived_item: ItemId
) -> None:
    elsewhere = Deployment(
        chain_id=deployment.chain_id + 1,
        passport=deployment.passport,
        block_number=deployment.block_number,
        tx_hash=deployment.tx_hash,
        admin=deployment.admin,
    )
    with pytest.raises(ConfigurationError):
        build_bundle(w3=w3, deployment=elsewhere, item_id=lived_item)


def test_raw_log_accepts_rpc_and_index_shapes() -> None:
    rpc = {
        "address": "0x" + "ab" * 20,
        "topics": [bytes(32)],
        "data": b"\x01\x02",
        "blockNumber": 7,
        "blockHash": "0x" + "11" * 32,
        "transactionHash": "0x" + "22" * 32,
        "logIndex": "0x3",
        "transactionIndex": 0,
    }
    log = RawLog.from_record(rpc)
    assert (log.block_number, log.log_index, log.data) == (7, 3, "0x0102")
    with pytest.raises(InputError) as excinfo:
        RawLog.from_record({**rpc, "blockHash": "0x1234"}, field="logs[4]")
    assert excinfo.value.field == "logs[4].block_hash"


# ---------------------------------------------------------------------- verification


def test_round_trip_verifies(w3: Web3, deployment: Deployment, lived_item: ItemId) -> None:
    bundle = json.loads(bundle_json(build_bundle(w3=w3, deployment=deployment, item_id=lived_item)))

    result = verify_bundle(bundle=bundle, w3=w3, passport=deployment.passport)

    assert result.ok, result.to_json()
    assert result.chain_id_ok and result.completeness_checked
    assert [e.status for e in result.entries] == [EntryStatus.OK] * len(bundle["events"])
    assert result.omitted == () and result.problems == ()
    assert result.to_json()["ok"] is True


def _set_field(name: str) -> Callable[[dict[str, Any]], None]:
    def tamper(entry: dict[str, Any]) -> None:
        entry["fields"][name] = int(Verdict.COUNTERFEIT)

    return tamper


def _flip_hex(value: str) -> str:
    last = value[-1]
    return value[:-1] + ("0" if last != "0" else "1")


TAMPERS: dict[str, tuple[str, Callable[[dict[str, Any]], None], EntryStatus, set[str]]] = {
    "decoded field": (
        "ItemAuthenticated",
        _set_field("verdict"),
        EntryStatus.MISMATCH,
        {"fields.verdict"},
    ),
    "topic": (
        "ItemServiced",
        lambda e: e["topics"].__setitem__(2, _flip_hex(e["topics"][2])),
        EntryStatus.MISMATCH,
        {"topics"},
    ),
    "data": (
        "ItemFlagged",
        lambda e: e.__setitem__("data", _flip_hex(e["data"])),
        EntryStatus.MISMATCH,
        {"data"},
    ),
    "block hash": (
        "FlagCleared",
        lambda e: e.__setitem__("block_hash", "0x" + "42" * 32),
        EntryStatus.MISMATCH,
        {"block_hash"},
    ),
    "log index (another log)": (
        "MetadataUpdated",
        lambda e: e.__setitem__("log_index", e["log_index"] - 1),  # the ItemRegistered log
        EntryStatus.MISMATCH,
        {"topics", "data", "event", "signature", "fields"},
    ),
    "log index (no such log)": (
        "SaleRecorded",
        lambda e: e.__setitem__("log_index", 99),
        EntryStatus.MISSING,
        {"log_index"},
    ),
    "transaction hash": (
        "ItemRegistered",
        lambda e: e.__setitem__("transaction_hash", "0x" + "99" * 32),
        EntryStatus.MISSING,
        {"transaction_hash"},
    ),
}


@pytest.mark.parametrize("variant", list(TAMPERS))
def test_tampering_fails_exactly_the_tampered_entry(
    variant: str, w3: Web3, deployment: Deployment, lived_item: ItemId
) -> None:
    event, tamper, status, expected_fields = TAMPERS[variant]
    bundle = json.loads(bundle_json(build_bundle(w3=w3, deployment=deployment, item_id=lived_item)))
    target = _index_of(bundle, event)
    tamper(bundle["events"][target])

    result = verify_bundle(bundle=bundle, w3=w3)

    assert not result.ok
    (failed,) = result.failed
    assert failed.index == target
    assert failed.status == status
    assert set(failed.fields) == expected_fields, failed.to_json()
    assert all(e.ok for e in result.entries if e.index != target)
    if status == EntryStatus.MISSING or "log index" in variant:
        # The genuine log is no longer listed: the completeness check names it too.
        assert len(result.omitted) == 1


def test_tampered_decoded_field_reports_both_values(
    w3: Web3, deployment: Deployment, lived_item: ItemId
) -> None:
    bundle = build_bundle(w3=w3, deployment=deployment, item_id=lived_item)
    target = _index_of(bundle, "ItemAuthenticated")
    bundle["events"][target]["fields"]["verdict"] = int(Verdict.COUNTERFEIT)

    (failed,) = verify_bundle(bundle=bundle, w3=w3).failed

    (mismatch,) = failed.mismatches
    assert (mismatch.field, mismatch.bundle, mismatch.chain) == (
        "fields.verdict",
        int(Verdict.COUNTERFEIT),
        int(Verdict.AUTHENTIC),
    )


def test_bundle_for_another_chain_id_fails(
    w3: Web3, deployment: Deployment, lived_item: ItemId
) -> None:
    bundle = build_bundle(w3=w3, deployment=deployment, item_id=lived_item)
    other_chain = bundle["chain_id"] + 1
    bundle["chain_id"] = other_chain
    for entry in bundle["events"]:
        entry["chain_id"] = other_chain

    result = verify_bundle(bundle=bundle, w3=w3)

    assert not result.ok
    assert not result.chain_id_ok
    assert result.bundle_chain_id == other_chain and result.node_chain_id == w3.eth.chain_id
    assert any("chain" in problem for problem in result.problems)
    assert all(e.fields == ["chain_id"] for e in result.entries)
    assert not result.completeness_checked


def test_an_omitted_log_is_reported(w3: Web3, deployment: Deployment, lived_item: ItemId) -> None:
    bundle = build_bundle(w3=w3, deployment=deployment, item_id=lived_item)
    flagged = bundle["events"].pop(_index_of(bundle, "ItemFlagged"))  # hide the lost report

    result = verify_bundle(bundle=bundle, w3=w3)

    assert not result.ok
    assert all(e.ok for e in result.entries)
    (omitted,) = result.omitted
    assert (omitted.event, omitted.transaction_hash, omitted.log_index) == (
        "ItemFlagged",
        flagged["transaction_hash"],
        flagged["log_index"],
    )
    # A caller that only wants the listed entries checked can say so.
    assert verify_bundle(bundle=bundle, w3=w3, check_complete=False).ok


def test_a_genuine_log_of_another_item_is_caught(
    w3: Web3,
    deployment: Deployment,
    lived_item: ItemId,
    merchant_client: ProvenanceClient,
    authenticator_client: ProvenanceClient,
    accounts: DevAccounts,
) -> None:
    other = merchant_client.register(
        brand="Maison Test", serial="EV-SWAP", metadata=METADATA, owner=accounts.owner.address
    ).item_id
    authenticator_client.authenticate(
        item_id=other, verdict=Verdict.COUNTERFEIT, grade=ConditionGrade.POOR, evidence=EVIDENCE
    )
    bundle = build_bundle(w3=w3, deployment=deployment, item_id=lived_item)
    borrowed = build_bundle(w3=w3, deployment=deployment, item_id=other)["events"][-1]
    bundle["events"].append(borrowed)

    result = verify_bundle(bundle=bundle, w3=w3, check_complete=False)

    assert not result.ok
    assert result.failed[0].index == len(bundle["events"]) - 1
    assert result.failed[0].fields == ["item_id"]


def test_expected_passport_address_is_enforced(
    w3: Web3, deployment: Deployment, lived_item: ItemId, accounts: DevAccounts
) -> None:
    bundle = build_bundle(w3=w3, deployment=deployment, item_id=lived_item)
    result = verify_bundle(bundle=bundle, w3=w3, passport=accounts.stranger.address)
    assert not result.ok
    assert all(e.ok for e in result.entries)
    assert any("expected" in p for p in result.problems)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.pop("events"), "events"),
        (lambda b: b.__setitem__("format", "something-else"), "format"),
        (lambda b: b.__setitem__("version", 2), "version"),
        (lambda b: b.__setitem__("chain_id", "1"), "chain_id"),
        (lambda b: b["contracts"].__setitem__("passport", "nope"), "contracts.passport"),
        (lambda b: b["events"][1]["topics"].__setitem__(1, "0xzz"), "events[1].topics[1]"),
        (lambda b: b["events"][2].pop("log_index"), "events[2].log_index"),
        (lambda b: b["events"][0].__setitem__("data", "0x1"), "events[0].data"),
        (lambda b: b["events"][3].__setitem__("fields", []), "events[3].fields"),
    ],
)
def test_malformed_bundle_raises_input_error_naming_the_field(
    mutate: Callable[[dict[str, Any]], Any],
    field: str,
    w3: Web3,
    deployment: Deployment,
    lived_item: ItemId,
) -> None:
    bundle = copy.deepcopy(build_bundle(w3=w3, deployment=deployment, item_id=lived_item))
    mutate(bundle)
    with pytest.raises(InputError) as excinfo:
        verify_bundle(bundle=bundle, w3=w3)
    assert excinfo.value.field == field


# ---------------------------------------------------------------------- CLI hooks


def test_export_then_verify_bundle_file(
    w3: Web3,
    deployment: Deployment,
    lived_item: ItemId,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "bundles" / "item.json"
    bundle = export_bundle(
        w3=w3, deployment=deployment, item_id="0x" + bytes(lived_item).hex(), out=out
    )
    assert load_bundle(out) == json.loads(bundle_json(bundle))

    targets: list[str] = []

    def connect(*, target: str, data_dir: Path | None = None) -> Connection:
        targets.append(target)
        return Connection(w3=w3)

    monkeypatch.setattr("ledger.chain.connect", connect)
    result = evidence.verify_bundle_file(out, "http://127.0.0.1:8545")
    assert result.ok, result.to_json()
    assert targets == ["http://127.0.0.1:8545"]

    out.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError) as excinfo:
        verify_bundle_file(out, "http://127.0.0.1:8545")
    assert excinfo.value.field == "path"


# ---------------------------------------------------------------------- market events


def test_market_events_are_bundled_and_verified(
    w3: Web3,
    deployment: Deployment,
    brand_client: ProvenanceClient,
    accounts: DevAccounts,
) -> None:
    market = deploy_market(w3, deployment, accounts)
    address = market.address

    item = brand_client.register(
        brand="Maison Test", serial="EV-MKT", metadata=METADATA, owner=accounts.owner.address
    ).item_id
    now = int(w3.eth.get_block("latest")["timestamp"])
    market.send(market.contract.functions.list(bytes(item), PRICE, now + DAY), accounts.owner)
    market.send(market.contract.functions.buy(1), accounts.stranger, value=PRICE)

    bundle = build_bundle(w3=w3, deployment=deployment, item_id=item)

    # The deployment's own market (named at deploy), then the one named here.
    assert bundle["contracts"]["markets"] == [deployment.market, address]
    # Chain order: in the purchase, the market logs Purchased before the passport logs the lock.
    assert _events(bundle) == ["Transfer", "ItemRegistered", "Listed", "Purchased", "ItemLocked"]
    purchased = bundle["events"][_index_of(bundle, "Purchased")]
    assert purchased["contract"] == "ResaleMarket" and purchased["address"] == address
    assert purchased["fields"]["price"] == str(PRICE)
    assert verify_bundle(bundle=bundle, w3=w3).ok

    # Dropping the market from the bundle does not hide its logs.
    bundle["contracts"]["markets"] = []
    bundle["events"] = [e for e in bundle["events"] if e["contract"] != "ResaleMarket"]
    result = verify_bundle(bundle=bundle, w3=w3)
    assert not result.ok
    assert {o.event for o in result.omitted} == {"Listed", "Purchased"}
