"""The trust report: one test per verdict rule, over real on-chain histories built with the client.

Each test registers its own item (a distinct serial) so that no two tests mine the same
transaction on different snapshot branches.

Reports read whole histories from log scans (the item's, its registrant's account events), so
this module runs on a chain of its own (`OwnChain`): on the shared chain, blocks of tests that
mined from genesis can keep answering by number after a revert and leak their logs into the scan.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from ledger.chain import EmbeddedProvider
from ledger.client import ProvenanceClient
from ledger.deploy import Deployment
from ledger.errors import InputError
from ledger.history import HistoryEvent
from ledger.trust import (
    RULES,
    RULES_BY_ID,
    TrustReport,
    TrustVerdict,
    build_trust_report,
    registrant_events,
    report_for_item,
    rules_markdown,
)
from ledger.types import (
    AccountStatus,
    ConditionGrade,
    ItemId,
    ItemStatus,
    RetirementKind,
    ServiceKind,
    Verdict,
)
from tests.conftest import DevAccounts
from tests.ledger.conftest import OwnChain
from tests.ledger.market_helpers import DAY, PRICE, Market, deploy_market

EVIDENCE = {"report": "inspection.pdf"}
METADATA = {"brand": "Maison Test", "model": "Alma PM"}


@pytest.fixture
def tester_provider(own_chain: OwnChain) -> EmbeddedProvider:
    """This module's chain, back at its deployment (overrides the shared session chain)."""
    return own_chain.reverted()


@pytest.fixture
def deployment(tester_provider: EmbeddedProvider, own_chain: OwnChain) -> Deployment:
    return own_chain.deployment


def _register(client: ProvenanceClient, serial: str, owner: LocalAccount) -> ItemId:
    return client.register(
        brand="Maison Test", serial=serial, metadata=METADATA, owner=owner.address
    ).item_id


def _report(
    reader: ProvenanceClient, item: ItemId, *, now: int | None = None, **extra: Any
) -> TrustReport:
    """The report from the chain, through the pieces a caller (gateway, CLI) would gather."""
    state = reader.item(item)
    history = reader.history(item)
    timestamp = now if now is not None else max(e.timestamp for e in history) + DAY
    return build_trust_report(
        item=state,
        history=history,
        registrant_record=reader.account_record(state.registrant),
        registrant_history=registrant_events(
            w3=reader.w3, passport=reader.passport, account=state.registrant
        ),
        now=timestamp,
        **extra,
    )


def _ids(report: TrustReport) -> list[str]:
    return [reason.rule_id for reason in report.reasons]


def _lowering(report: TrustReport) -> list[str]:
    """The rules that lowered the verdict below ok."""
    return [r.rule_id for r in report.reasons if r.severity > TrustVerdict.OK]


# ---------------------------------------------------------------------- the table


def test_rule_table_has_unique_ids_and_renders_as_markdown() -> None:
    assert len(RULES_BY_ID) == len(RULES)
    for rule_id in ("R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R10"):
        assert RULES_BY_ID[rule_id].severity > TrustVerdict.OK
    assert RULES_BY_ID["R1"].severity == TrustVerdict.DO_NOT_BUY
    assert RULES_BY_ID["R4"].severity == TrustVerdict.CAUTION
    table = rules_markdown()
    assert table.count("\n") == len(RULES) + 1
    assert "| R3 |" in table and "do_not_buy" in table


# ---------------------------------------------------------------------- one test per rule


def test_r1_stolen_item_is_do_not_buy(
    merchant_client: ProvenanceClient,
    owner_client: ProvenanceClient,
    authenticator_client: ProvenanceClient,
    reader: ProvenanceClient,
    accounts: DevAccounts,
) -> None:
    item = _register(merchant_client, "TR-R1", accounts.owner)
    authenticator_client.authenticate(
        item_id=item, verdict=Verdict.AUTHENTIC, grade=ConditionGrade.GOOD, evidence=EVIDENCE
    )
    flag_tx = owner_client.flag(item_id=item, status=ItemStatus.STOLEN, report={"police": "42"})

    report = _report(reader, item)

    assert report.verdict == TrustVerdict.DO_NOT_BUY
    assert _lowering(report) == ["R1"]
    (reason,) = report.reasons_for("R1")
    assert reason.severity == TrustVerdict.DO_NOT_BUY
    assert "stolen" in reason.message and accounts.owner.address in reason.message
    assert f"block {flag_tx.block_number}" in reason.message
    assert report.status == ItemStatus.STOLEN
    assert len(report.flags) == 1 and not report.flags[0].cleared


def test_cleared_flag_is_only_a_note(
    merchant_client: ProvenanceClient,
    owner_client: ProvenanceClient,
    brand_client: ProvenanceClient,
    reader: ProvenanceClient,
    accounts: DevAccounts,
) -> None:
    item = _register(brand_client, "TR-N1", accounts.owner)
    owner_client.flag(item_id=item, status=ItemStatus.LOST, report={"lost": "train"})
    owner_client.clear_flag(item_id=item, clearance={"found": True})

    report = _report(reader, item)

    assert report.verdict == TrustVerdict.OK
    assert "R1" not in _ids(report)
    (note,) = report.reasons_for("N1")
    assert "Reported lost" in note.message and "cleared" in note.message
    assert report.flags[0].cleared


def test_r2_retired_item_is_do_not_buy(
    merchant_client: ProvenanceClient,
    owner_client: ProvenanceClient,
    brand_client: ProvenanceClient,
    reader: ProvenanceClient,
    accounts: DevAccounts,
) -> None:
    item = _register(brand_client, "TR-R2", accounts.owner)
    retire_tx = owner_client.retire(
        item_id=item, kind=RetirementKind.REMANUFACTURED, evidence=EVIDENCE
    )
    successor = brand_client.register_successor(
        predecessor_id=item,
        brand="Maison Test",
        serial="TR-R2-NEW",
        metadata=METADATA,
        owner=accounts.owner.address,
    ).item_id

    report = _report(reader, item)

    assert report.verdict == TrustVerdict.DO_NOT_BUY
    assert _lowering(report) == ["R2"]
    (reason,) = report.reasons_for("R2")
    assert "remanufactured" in reason.message
    assert f"block {retire_tx.block_number}" in reason.message
    assert "0x" + bytes(successor).hex() in reason.message
    assert report.retirement is not None and report.retirement.kind == "remanufactured"
    assert report.successors == ("0x" + bytes(successor).hex(),)

    # The successor is fine on its own, and its report points back at the predecessor.
    successor_report = _report(reader, successor)
    assert successor_report.verdict == TrustVerdict.OK
    assert successor_report.predecessors == ("0x" + bytes(item).hex(),)
    assert successor_report.reasons_for("N5")


def test_r3_counterfeit_verdict_is_do_not_buy(
    merchant_client: ProvenanceClient,
    authenticator_client: ProvenanceClient,
    reader: ProvenanceClient,
    accounts: DevAccounts,
) -> None:
    item = _register(merchant_client, "TR-R3", accounts.owner)
    tx = authenticator_client.authenticate(
        item_id=item, verdict=Verdict.COUNTERFEIT, grade=ConditionGrade.UNGRADED, evidence=EVIDENCE
    )

    report = _report(reader, item)

    assert report.verdict == TrustVerdict.DO_NOT_BUY
    assert _lowering(report) == ["R3"]
    (reason,) = report.reasons_for("R3")
    assert accounts.authenticator.address in reason.message
    assert f"block {tx.block_number}" in reason.message
    assert report.latest_verdict == Verdict.COUNTERFEIT
    (finding,) = report.counterfeit_findings
    assert finding.source == "authentication" and finding.overturned_by is None


def test_r3_counterfeit_then_inconclusive_still_do_not_buy(
    merchant_client: ProvenanceClient,
    authenticator_client: ProvenanceClient,
    reader: ProvenanceClient,
    accounts: DevAccounts,
) -> None:
    item = _register(merchant_client, "TR-R3-INC", accounts.owner)
    for verdict in (Verdict.COUNTERFEIT, Verdict.INCONCLUSIVE):
        authenticator_client.authenticate(
            item_id=item, verdict=verdict, grade=ConditionGrade.UNGRADED, evidence=EVIDENCE
        )

    report = _report(reader, item)

    assert report.verdict == TrustVerdict.DO_NOT_BUY
    assert _lowering(report) == ["R3", "R7"]
    assert "no authentic verdict since" in report.reasons_for("R3")[0].message


def test_r9_counterfeit_overturned_by_authentic_is_caution(
    w3: Web3,
    deployment: Deployment,
    merchant_client: ProvenanceClient,
    authenticator_client: ProvenanceClient,
    admin_client: ProvenanceClient,
    reader: ProvenanceClient,
    accounts: DevAccounts,
) -> None:
    item = _register(merchant_client, "TR-R9", accounts.owner)
    authenticator_client.authenticate(
        item_id=item, verdict=Verdict.COUNTERFEIT, grade=ConditionGrade.UNGRADED, evidence=EVIDENCE
    )
    # A second, independent authenticator finds it genuine.
    admin_client.vet(
        account=accounts.spare.address,
        roles=authenticator_client.account_record(accounts.authenticator.address).roles,
        credentials={"dossier": "Second Opinion Lab"},
        name="Second Opinion Lab",
    )
    second = ProvenanceClient(w3=w3, deployment=deployment, account=accounts.spare)
    second.authenticate(
        item_id=item, verdict=Verdict.AUTHENTIC, grade=ConditionGrade.GOOD, evidence=EVIDENCE
    )

    report = _report(reader, item)

    assert report.verdict == TrustVerdict.CAUTION
    assert _lowering(report) == ["R9"]
    (reason,) = report.reasons_for("R9")
    assert accounts.authenticator.address in reason.message
    assert accounts.spare.address in reason.message
    (finding,) = report.counterfeit_findings
    assert finding.overturned_by is not None and finding.overturned_by.by == accounts.spare.address
    # The authentic verdict is the latest, so it is also a positive reason.
    assert report.reasons_for("P2")


def test_r5_registrant_suspended_after_registration_is_caution(
    merchant_client: ProvenanceClient,
    authenticator_client: ProvenanceClient,
    admin_client: ProvenanceClient,
    reader: ProvenanceClient,
    accounts: DevAccounts,
) -> None:
    registration = merchant_client.register(
        brand="Maison Test", serial="TR-R5", metadata=METADATA, owner=accounts.owner.address
    )
    item = registration.item_id
    authenticator_client.authenticate(
        item_id=item, verdict=Verdict.AUTHENTIC, grade=ConditionGrade.GOOD, evidence=EVIDENCE
    )
    suspension = admin_client.suspend(
        account=accounts.merchant.address, reason={"why": "fake invoices"}
    )

    report = _report(reader, item)

    assert report.verdict == TrustVerdict.CAUTION
    assert _lowering(report) == ["R5"]
    (reason,) = report.reasons_for("R5")
    assert "was active at registration" in reason.message
    assert f"block {registration.tx.block_number}" in reason.message
    assert "now suspended" in reason.message
    assert f"block {suspension.block_number}" in reason.message
    standing = report.registrant
    assert standing.active_at_registration is True
    assert standing.status_now == AccountStatus.SUSPENDED
    assert standing.status_source == "account_record"
    assert standing.name == "Second Life Luxury"
    assert [c.status for c in standing.changes_since_registration] == [AccountStatus.SUSPENDED]
    assert "P3" not in _ids(report)


def test_r5_without_account_history_still_reads_the_record(
    merchant_client: ProvenanceClient,
    authenticator_client: ProvenanceClient,
    admin_client: ProvenanceClient,
    reader: ProvenanceClient,
    accounts: DevAccounts,
) -> None:
    item = _register(merchant_client, "TR-R5-REV", accounts.owner)
    authenticator_client.authenticate(
        item_id=item, verdict=Verdict.AUTHENTIC, grade=ConditionGrade.GOOD, evidence=EVIDENCE
    )
    admin_client.revoke(account=accounts.merchant.address, reason={"why": "counterfeits"})
    state = reader.item(item)
    history = reader.history(item)

    report = build_trust_report(
        item=state,
        history=history,
        registrant_record=reader.account_record(state.registrant),
        registrant_history=None,
        now=history[-1].timestamp,
    )
    assert _lowering(report) == ["R5"]
    assert "now revoked" in report.reasons_for("R5")[0].message

    # Without the account record the current standing is unknown, and nothing is assumed.
    unchecked = build_trust_report(
        item=state,
        history=history,
        registrant_record=None,
        registrant_history=None,
        now=history[-1].timestamp,
    )
    assert unchecked.verdict == TrustVerdict.OK
    assert unchecked.registrant.status_now is None
    assert "not checked" in unchecked.registrant.summary


def test_r6_never_authenticated_and_not_certified_is_caution(
    merchant_client: ProvenanceClient, reader: ProvenanceClient, accounts: DevAccounts
) -> None:
    item = _register(merchant_client, "TR-R6", accounts.owner)

    report = _report(reader, item)

    assert report.verdict == TrustVerdict.CAUTION
    assert _lowering(report) == ["R6"]
    assert report.latest_authentication is None
    # The registrant's standing is still cited as a positive reason.
    (positive,) = report.reasons_for("P3")
    assert "was active at registration" in positive.message and "still active" in positive.message


def test_r7_inconclusive_latest_verdict_is_caution(
    merchant_client: ProvenanceClient,
    authenticator_client: ProvenanceClient,
    reader: ProvenanceClient,
    accounts: DevAccounts,
) -> None:
    item = _register(merchant_client, "TR-R7", accounts.owner)
    authenticator_client.authenticate(
        item_id=item, verdict=Verdict.AUTHENTIC, grade=ConditionGrade.GOOD, evidence=EVIDENCE
    )
    authenticator_client.authenticate(
        item_id=item, verdict=Verdict.INCONCLUSIVE, grade=ConditionGrade.FAIR, evidence=EVIDENCE
    )

    report = _report(reader, item)

    assert report.verdict == TrustVerdict.CAUTION
    assert _lowering(report) == ["R7"]
    assert report.latest_authentication is not None
    assert report.latest_authentication.verdict == Verdict.INCONCLUSIVE
    assert accounts.authenticator.address in report.reasons_for("R7")[0].message
    assert "P2" not in _ids(report)


def test_brand_certified_and_authentic_is_ok(
    brand_client: ProvenanceClient,
    authenticator_client: ProvenanceClient,
    merchant_client: ProvenanceClient,
    reader: ProvenanceClient,
    accounts: DevAccounts,
) -> None:
    registration = brand_client.register(
        brand="Maison Test", serial="TR-OK", metadata=METADATA, owner=accounts.owner.address
    )
    item = registration.item_id
    auth = authenticator_client.authenticate(
        item_id=item, verdict=Verdict.AUTHENTIC, grade=ConditionGrade.LIKE_NEW, evidence=EVIDENCE
    )
    merchant_client.record_service(
        item_id=item, kind=ServiceKind.REPAIR, evidence={"repair": "strap"}
    )

    report = _report(reader, item)

    assert report.verdict == TrustVerdict.OK
    assert _lowering(report) == []
    assert {"P1", "P2", "P3", "N3", "N4"} <= set(_ids(report))
    p1 = report.reasons_for("P1")[0].message
    assert "Maison Test" in p1 and f"block {registration.tx.block_number}" in p1
    p2 = report.reasons_for("P2")[0].message
    assert accounts.authenticator.address in p2 and f"block {auth.block_number}" in p2
    assert "condition like new" in p2
    assert report.registrant.role_at_registration == "brand"
    assert [s.kind for s in report.services] == ["repair"]
    assert all(r.severity == TrustVerdict.OK for r in report.reasons)
    rendered = report.to_json()
    assert rendered["verdict"] == "ok"
    assert rendered["reasons"][0]["severity"] == "ok"
    assert rendered["item_id"] == "0x" + bytes(item).hex()


def test_owners_and_time_on_record(
    w3: Web3,
    deployment: Deployment,
    brand_client: ProvenanceClient,
    owner_client: ProvenanceClient,
    stranger_client: ProvenanceClient,
    reader: ProvenanceClient,
    accounts: DevAccounts,
) -> None:
    registration = brand_client.register(
        brand="Maison Test", serial="TR-OWN", metadata=METADATA, owner=accounts.owner.address
    )
    item = registration.item_id
    spare = ProvenanceClient(w3=w3, deployment=deployment, account=accounts.spare)
    owner_client.transfer(item_id=item, to=accounts.stranger.address, sale_ref={"order": 1})
    stranger_client.transfer(item_id=item, to=accounts.spare.address)
    spare.transfer(item_id=item, to=accounts.owner.address)  # back to a previous owner
    registered_at = int(w3.eth.get_block(registration.tx.block_number)["timestamp"])

    report = _report(reader, item, now=registered_at + 10 * DAY + 5)

    assert report.owners == (
        accounts.owner.address,
        accounts.stranger.address,
        accounts.spare.address,
    )
    assert report.distinct_owners == 3
    assert report.transfers == 3
    assert report.registered_at == registered_at
    assert report.time_on_record == 10 * DAY + 5
    (note,) = report.reasons_for("N4")
    assert "3 distinct owners, 3 transfers, on record for 10 days" in note.message


def test_never_moved_item_has_one_owner(
    brand_client: ProvenanceClient, reader: ProvenanceClient, accounts: DevAccounts
) -> None:
    item = _register(brand_client, "TR-ONE", accounts.owner)
    report = _report(reader, item)
    assert report.owners == (accounts.owner.address,)
    assert report.transfers == 0
    assert report.reasons_for("N4")[0].message.startswith("1 distinct owner, 0 transfers")


# ---------------------------------------------------------------------- market rules (R4, R8)


@pytest.fixture
def resale_market(w3: Web3, deployment: Deployment, accounts: DevAccounts) -> Market:
    return deploy_market(w3, deployment, accounts)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _market_history(
    w3: Web3, market: Contract, item: ItemId, timestamps: dict[int, int]
) -> list[HistoryEvent]:
    """The market's events about ``item`` as history records, the way an index would serve
    them: kinds in snake_case, fields in snake_case, enums as ordinals."""
    names = ("DisputeOpened", "DisputeRuled", "SaleSettled", "Purchased", "Shipped", "Listed")
    records: list[HistoryEvent] = []
    for name in names:
        for log in market.events[name]().get_logs(
            from_block=0, argument_filters={"itemId": bytes(item)}
        ):
            block = int(log["blockNumber"])
            if block not in timestamps:
                timestamps[block] = int(w3.eth.get_block(block)["timestamp"])
            args = dict(log["args"])
            actor = args.get("arbiter") or args.get("buyer") or args.get("by") or args.get("seller")
            records.append(
                HistoryEvent(
                    kind=_snake(name),
                    item_id=item,
                    actor=actor,
                    block_number=block,
                    block_hash=log["blockHash"].to_0x_hex(),
                    tx_hash=log["transactionHash"].to_0x_hex(),
                    log_index=int(log["logIndex"]),
                    timestamp=timestamps[block],
                    data={
                        _snake(k): ("0x" + v.hex() if isinstance(v, bytes) else v)
                        for k, v in args.items()
                        if k != "itemId"
                    },
                )
            )
    return records


def _full_history(reader: ProvenanceClient, market: Market, item: ItemId) -> Sequence[HistoryEvent]:
    passport_events = reader.history(item)
    stamps = {e.block_number: e.timestamp for e in passport_events}
    combined = passport_events + _market_history(reader.w3, market.contract, item, stamps)
    return sorted(combined, key=lambda e: (e.block_number, e.log_index))


def test_r8_locked_and_r4_open_dispute_then_counterfeit_ruling(
    w3: Web3,
    resale_market: Market,
    brand_client: ProvenanceClient,
    reader: ProvenanceClient,
    accounts: DevAccounts,
) -> None:
    item = _register(brand_client, "TR-MKT", accounts.owner)
    seller, buyer, arbiter = accounts.owner, accounts.stranger, accounts.arbiter
    market = resale_market.contract
    now = int(w3.eth.get_block("latest")["timestamp"])
    resale_market.send(market.functions.list(bytes(item), PRICE, now + 30 * DAY), seller)
    resale_market.send(market.functions.buy(1), buyer, value=PRICE)

    def report() -> TrustReport:
        return build_trust_report(
            item=reader.item(item),
            history=_full_history(reader, resale_market, item),
            registrant_record=reader.account_record(accounts.brand.address),
            registrant_history=None,
            now=int(w3.eth.get_block("latest")["timestamp"]),
        )

    in_escrow = report()
    assert in_escrow.verdict == TrustVerdict.CAUTION
    assert _lowering(in_escrow) == ["R8"]
    assert "open sale" in in_escrow.reasons_for("R8")[0].message
    assert in_escrow.other_events == ()  # market kinds are understood, not "other"

    resale_market.send(market.functions.markShipped(1, b"\x01" * 32), seller)
    resale_market.send(
        market.functions.openDispute(1, 3, b"\x02" * 32, "ipfs://dispute-evidence"), buyer
    )
    disputed = report()
    assert disputed.verdict == TrustVerdict.CAUTION
    assert _lowering(disputed) == ["R4", "R8"]
    (open_dispute,) = disputed.reasons_for("R4")
    assert "sale #1" in open_dispute.message and "counterfeit" in open_dispute.message
    assert disputed.disputes[0].state == "open"

    # The arbiter refunds the buyer and finds the item counterfeit: the passport records it.
    ruling = resale_market.send(market.functions.rule(1, 1, 0, True, b"\x03" * 32), arbiter)
    ruled = report()
    assert ruled.verdict == TrustVerdict.DO_NOT_BUY
    assert _lowering(ruled) == ["R3"]
    (finding,) = ruled.counterfeit_findings
    assert finding.source == "dispute_ruling" and finding.by == arbiter.address
    assert finding.sale_id == 1 and finding.block_number == ruling["blockNumber"]
    message = ruled.reasons_for("R3")[0].message
    assert "dispute ruling on sale #1" in message and arbiter.address in message
    dispute = ruled.disputes[0]
    assert (dispute.state, dispute.ruling, dispute.counterfeit) == ("ruled", "refund", True)
    assert ruled.latest_authentication is not None and ruled.latest_authentication.via_ruling


def test_report_for_item_reads_everything_from_the_chain(
    merchant_client: ProvenanceClient,
    admin_client: ProvenanceClient,
    reader: ProvenanceClient,
    accounts: DevAccounts,
) -> None:
    item = _register(merchant_client, "TR-CHAIN", accounts.owner)
    admin_client.suspend(account=accounts.merchant.address, reason={"why": "audit"})

    report = report_for_item(client=reader, item_id="0x" + bytes(item).hex(), now=2**33)

    assert report.verdict == TrustVerdict.CAUTION
    assert _lowering(report) == ["R5", "R6"]
    assert "now suspended since" in report.reasons_for("R5")[0].message


# ---------------------------------------------------------------------- robustness


def test_incomplete_history_is_flagged_not_trusted(
    merchant_client: ProvenanceClient,
    authenticator_client: ProvenanceClient,
    reader: ProvenanceClient,
    accounts: DevAccounts,
) -> None:
    item = _register(merchant_client, "TR-R10", accounts.owner)
    authenticator_client.authenticate(
        item_id=item, verdict=Verdict.COUNTERFEIT, grade=ConditionGrade.UNGRADED, evidence=EVIDENCE
    )
    state = reader.item(item)
    stale = [e for e in reader.history(item) if e.kind != "authenticated"]  # an index behind

    report = build_trust_report(
        item=state, history=stale, registrant_record=None, registrant_history=None, now=2**33
    )

    # The chain's state still says counterfeit, so the verdict does not get better.
    assert report.verdict == TrustVerdict.DO_NOT_BUY
    assert _lowering(report) == ["R3", "R10"]
    assert (
        "latest verdict is none, the item's is counterfeit" in report.reasons_for("R10")[0].message
    )


def test_json_shaped_records_give_the_same_report(
    merchant_client: ProvenanceClient,
    authenticator_client: ProvenanceClient,
    admin_client: ProvenanceClient,
    owner_client: ProvenanceClient,
    reader: ProvenanceClient,
    accounts: DevAccounts,
) -> None:
    """The indexer's reader serves `HistoryEvent.to_json()` dicts; the report must not care."""
    item = _register(merchant_client, "TR-JSON", accounts.owner)
    authenticator_client.authenticate(
        item_id=item, verdict=Verdict.INCONCLUSIVE, grade=ConditionGrade.FAIR, evidence=EVIDENCE
    )
    owner_client.transfer(item_id=item, to=accounts.stranger.address)
    admin_client.suspend(account=accounts.merchant.address, reason={"why": "audit"})
    state = reader.item(item)
    history = reader.history(item)
    account_history = registrant_events(
        w3=reader.w3, passport=reader.passport, account=state.registrant
    )
    record = reader.account_record(state.registrant)

    def report(events: Sequence[Any], account_events: Sequence[Any]) -> TrustReport:
        return build_trust_report(
            item=state,
            history=events,
            registrant_record=record,
            registrant_history=account_events,
            now=2**33,
        )

    from_objects = report(history, account_history)
    from_json = report([e.to_json() for e in history], [e.to_json() for e in account_history])
    assert from_json == from_objects
    assert _lowering(from_json) == ["R5", "R7"]


def test_unknown_event_kinds_are_listed_and_ignored(
    brand_client: ProvenanceClient, reader: ProvenanceClient, accounts: DevAccounts
) -> None:
    item = _register(brand_client, "TR-UNK", accounts.owner)
    history = reader.history(item)
    oddity = HistoryEvent(
        kind="insurance_claimed",
        item_id=item,
        actor=None,
        block_number=history[-1].block_number,
        block_hash=history[-1].block_hash,
        tx_hash=history[-1].tx_hash,
        log_index=history[-1].log_index + 1,
        timestamp=history[-1].timestamp,
        data={"whatever": object()},
    )
    report = build_trust_report(
        item=reader.item(item),
        history=[*history, oddity],
        registrant_record=None,
        registrant_history=None,
        now=2**33,
    )
    assert report.verdict == TrustVerdict.OK
    assert report.other_events == ("insurance_claimed",)


def test_inputs_about_another_item_or_account_are_refused(
    merchant_client: ProvenanceClient,
    brand_client: ProvenanceClient,
    reader: ProvenanceClient,
    accounts: DevAccounts,
) -> None:
    first = _register(merchant_client, "TR-IN-1", accounts.owner)
    second = _register(brand_client, "TR-IN-2", accounts.owner)
    with pytest.raises(InputError) as excinfo:
        build_trust_report(
            item=reader.item(first),
            history=reader.history(second),
            registrant_record=None,
            registrant_history=None,
            now=0,
        )
    assert excinfo.value.field == "history[0].item_id"
    with pytest.raises(InputError) as excinfo:
        build_trust_report(
            item=reader.item(first),
            history=reader.history(first),
            registrant_record=reader.account_record(accounts.brand.address),
            registrant_history=None,
            now=0,
        )
    assert excinfo.value.field == "registrant_record"
