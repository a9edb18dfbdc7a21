"""`ledger.market.MarketClient` and the market part of `ledger.deploy`, on the shared test chain.

Every path a sale can take is driven through the client (see tests/ledger/market_world.py for the
world: who sells, buys and rules, and how time is moved past deadlines): the happy path, a silent
buyer finalized, a seller who never ships, each ruling, and a dispute nobody rules on. Refusals
are asserted as the contract's own error classes. Each test registers its own item (a distinct
serial), so no two tests mine the same transaction on different snapshot branches.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from ledger import errors
from ledger.client import ProvenanceClient
from ledger.deploy import (
    DEFAULT_DELIVERY_WINDOW,
    DEFAULT_FEE_BPS,
    DEFAULT_RULING_WINDOW,
    DEFAULT_SHIPPING_WINDOW,
    Deployment,
    add_market,
    deploy,
    load_deployment,
    load_or_deploy,
)
from ledger.errors import ConfigurationError, InputError
from ledger.market import MarketClient
from ledger.signatures import sell_order_from_json, sell_order_to_json
from ledger.trust import TrustVerdict, build_trust_report
from ledger.types import (
    DisputeReason,
    ListingStatus,
    Ruling,
    SaleState,
    Settlement,
    Verdict,
    VoidReason,
    Wei,
)
from tests.conftest import DevAccounts
from tests.ledger.market_world import CLAIM, DAY, DECISION, FEE, PRICE, SHIPMENT, World, world

__all__ = ["world"]  # the fixture, imported so pytest finds it

# ---------------------------------------------------------------------- types


@pytest.mark.parametrize(
    "enum", [ListingStatus, VoidReason, SaleState, DisputeReason, Ruling, Settlement]
)
def test_market_enums_mirror_market_types_sol(repo_root: Path, enum: type[IntEnum]) -> None:
    source = (repo_root / "contracts" / "types" / "MarketTypes.sol").read_text()
    match = re.search(rf"enum {enum.__name__} \{{(.*?)\}}", source, re.DOTALL)
    assert match is not None
    members = [
        re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", line.strip().rstrip(",")).upper()
        for line in match.group(1).splitlines()
        if line.strip() and not line.strip().startswith("//")
    ]
    assert members == [member.name for member in sorted(enum, key=int)]
    assert [int(member) for member in sorted(enum, key=int)] == list(range(len(members)))


# ---------------------------------------------------------------------- deployment


def test_deploy_adds_a_market_the_passport_names_with_the_default_settings(
    world: World, deployment: Deployment, accounts: DevAccounts
) -> None:
    assert world.passport.passport.functions.market().call() == deployment.market
    info = world.reader.info()
    assert info.address == deployment.market
    assert info.passport == deployment.passport
    assert info.treasury == accounts.admin.address
    assert info.fee_bps == DEFAULT_FEE_BPS == 250
    assert info.shipping_window == DEFAULT_SHIPPING_WINDOW == 7 * DAY
    assert info.delivery_window == DEFAULT_DELIVERY_WINDOW == 14 * DAY
    assert info.ruling_window == DEFAULT_RULING_WINDOW == 7 * DAY
    assert (info.listing_count, info.sale_count) == (0, 0)


def test_deploy_takes_market_settings_and_refuses_bad_ones_before_sending(
    w3: Web3, accounts: DevAccounts
) -> None:
    deployment = deploy(
        w3=w3,
        admin=accounts.stranger,
        base_uri="http://settings/",
        treasury=accounts.spare.address,
        fee_bps=100,
        shipping_window=2 * DAY,
        delivery_window=5 * DAY,
        ruling_window=3 * DAY,
    )
    info = MarketClient(w3=w3, deployment=deployment).info()
    assert (info.treasury, info.fee_bps) == (accounts.spare.address, 100)
    assert (info.shipping_window, info.delivery_window, info.ruling_window) == (
        2 * DAY,
        5 * DAY,
        3 * DAY,
    )
    before = w3.eth.get_transaction_count(accounts.stranger.address)
    with pytest.raises(InputError) as caught:
        deploy(w3=w3, admin=accounts.stranger, fee_bps=1001)
    assert caught.value.field == "fee_bps"
    with pytest.raises(InputError) as caught:
        deploy(w3=w3, admin=accounts.stranger, ruling_window=0)
    assert caught.value.field == "ruling_window"
    assert w3.eth.get_transaction_count(accounts.stranger.address) == before


def test_a_record_written_before_the_market_loads_and_load_or_deploy_adds_the_market(
    w3: Web3, accounts: DevAccounts, tmp_path: Path
) -> None:
    old = deploy(w3=w3, admin=accounts.admin, base_uri="http://old-record/", with_market=False)
    record = {k: v for k, v in old.to_json().items() if k != "market"}  # as written before
    path = tmp_path / "deployment.json"
    path.write_text(json.dumps(record))
    assert load_deployment(path=path) == old and old.market is None
    with pytest.raises(ConfigurationError, match="no resale market"):
        MarketClient(w3=w3, deployment=old)

    upgraded, fresh = load_or_deploy(w3=w3, path=path, admin=accounts.admin)

    assert not fresh  # the passport (and its items) are kept
    assert upgraded.passport == old.passport and upgraded.market is not None
    assert load_deployment(path=path) == upgraded
    passport = ProvenanceClient(w3=w3, deployment=upgraded).passport
    assert passport.functions.market().call() == upgraded.market
    again, fresh = load_or_deploy(w3=w3, path=path, admin=accounts.admin)
    assert (again, fresh) == (upgraded, False)


def test_add_market_adopts_the_market_the_passport_already_names_and_needs_the_admin(
    w3: Web3, accounts: DevAccounts
) -> None:
    bare = deploy(w3=w3, admin=accounts.admin, base_uri="http://adopt/", with_market=False)
    with pytest.raises(ConfigurationError, match="not the admin"):
        add_market(w3=w3, deployment=bare, admin=accounts.stranger)
    with_market = add_market(w3=w3, deployment=bare, admin=accounts.admin)
    assert with_market.market is not None
    # A record that lost its market (say, written by an older tool) finds the named one again.
    assert add_market(w3=w3, deployment=bare, admin=accounts.stranger) == with_market


# ---------------------------------------------------------------------- listings


def test_listing_is_read_back_and_cancelled_by_its_seller_only(world: World) -> None:
    item = world.item("MC-LIST")
    expiry = world.now() + 10 * DAY
    listing = world.seller.list_item(item_id=item, price=PRICE, expiry=expiry)

    read = world.reader.listing(listing.listing_id)
    assert (read.item_id, read.seller, read.price, read.expiry) == (
        item,
        world.accounts.merchant.address,
        PRICE,
        expiry,
    )
    assert (read.item_nonce, read.status) == (0, ListingStatus.OPEN)
    assert world.reader.listing_void_reason(listing.listing_id) == VoidReason.NONE
    with pytest.raises(errors.NotListingSeller):
        world.stranger.cancel_listing(listing_id=listing.listing_id)
    world.seller.cancel_listing(listing_id=listing.listing_id)
    assert world.reader.listing(listing.listing_id).status == ListingStatus.CANCELLED
    with pytest.raises(errors.ListingVoid) as caught:
        world.buyer.buy(listing_id=listing.listing_id)
    assert caught.value.reason == VoidReason.CANCELLED


def test_refusals_are_the_contracts_errors_and_cost_no_gas(world: World) -> None:
    item, listing_id = world.listed("MC-REFUSE")
    stranger, merchant = world.accounts.stranger, world.accounts.merchant
    before = (world.nonce(stranger), world.nonce(merchant))
    with pytest.raises(errors.NotItemOwner) as not_owner:
        world.stranger.list_item(item_id=item, price=PRICE, expiry=world.now() + DAY)
    assert (not_owner.value.itemId, not_owner.value.caller) == (item, stranger.address)
    with pytest.raises(errors.BuyerIsSeller):
        world.seller.buy(listing_id=listing_id)
    with pytest.raises(errors.InvalidExpiry):
        world.seller.list_item(item_id=item, price=PRICE, expiry=1)
    with pytest.raises(errors.NothingToWithdraw):
        world.stranger.withdraw()
    assert (world.nonce(stranger), world.nonce(merchant)) == before


def test_bad_input_is_an_input_error_naming_the_field(world: World) -> None:
    item = world.item("MC-INPUT")
    cases: list[tuple[Callable[[], Any], str]] = [
        (lambda: world.seller.list_item(item_id=item, price=Wei(0), expiry=2**32), "price"),
        (lambda: world.seller.list_item(item_id=item, price=Wei(2**96), expiry=2**32), "price"),
        (lambda: world.seller.list_item(item_id=item, price=PRICE, expiry=-1), "expiry"),
        (lambda: world.buyer.buy(listing_id=0), "listing_id"),
        (lambda: world.seller.mark_shipped(sale_id=1, shipment_ref=""), "shipment_ref"),
        (
            lambda: world.buyer.open_dispute(sale_id=1, reason="lost_in_space", evidence=CLAIM),
            "reason",
        ),
        (
            lambda: world.arbiter.rule(
                sale_id=1, ruling="refund", ruling_evidence=DECISION, buyer_share_bps=-1
            ),
            "buyer_share_bps",
        ),
        (lambda: world.admin.set_fee(fee_bps=1001), "fee_bps"),
        (lambda: world.admin.set_treasury(treasury="0x1234"), "treasury"),
    ]
    for action, field in cases:
        with pytest.raises(InputError) as caught:
            action()
        assert caught.value.field == field


def test_unknown_ids_are_not_found_and_a_read_only_client_cannot_write(world: World) -> None:
    with pytest.raises(errors.ListingNotFound) as listing:
        world.reader.listing(999)
    assert listing.value.listingId == 999
    with pytest.raises(errors.SaleNotFound):
        world.reader.sale(999)
    with pytest.raises(errors.ListingNotFound):
        world.buyer.buy(listing_id=999)
    with pytest.raises(ConfigurationError, match="read-only"):
        world.reader.withdraw()


# ---------------------------------------------------------------------- sales


def test_happy_path_list_buy_ship_confirm_withdraw(world: World, accounts: DevAccounts) -> None:
    item, listing_id = world.listed("MC-HAPPY")
    buyer_before = world.balance(accounts.owner)

    sale = world.buyer.buy(listing_id=listing_id)

    assert sale.price == PRICE
    paid_gas = (
        world.w3.eth.get_transaction_receipt(sale.tx.tx_hash)["effectiveGasPrice"]
        * sale.tx.gas_used
    )  # type: ignore[arg-type]
    assert world.balance(accounts.owner) == buyer_before - PRICE - paid_gas  # exactly the price
    opened = world.reader.sale(sale.sale_id)
    assert (opened.state, opened.buyer, opened.seller, opened.price) == (
        SaleState.PAID,
        accounts.owner.address,
        accounts.merchant.address,
        PRICE,
    )
    assert opened.fee_bps == DEFAULT_FEE_BPS
    assert world.passport.item(item).locked
    assert world.reader.listing(listing_id).status == ListingStatus.FILLED

    shipped = world.seller.mark_shipped(sale_id=sale.sale_id, shipment_ref=SHIPMENT)
    ship_time = int(world.w3.eth.get_block(shipped.block_number)["timestamp"])
    in_transit = world.reader.sale(sale.sale_id)
    assert in_transit.state == SaleState.SHIPPED
    assert in_transit.deadline == ship_time + DEFAULT_DELIVERY_WINDOW

    world.buyer.confirm_delivery(sale_id=sale.sale_id)

    assert world.reader.sale(sale.sale_id).state == SaleState.COMPLETED
    state = world.passport.item(item)
    assert (state.owner, state.locked) == (accounts.owner.address, False)
    assert world.reader.credits(accounts.merchant.address) == PRICE - FEE
    assert world.reader.credits(accounts.admin.address) == FEE  # the default treasury
    seller_before = world.balance(accounts.merchant)
    withdrawal = world.seller.withdraw()
    assert withdrawal.amount == PRICE - FEE
    receipt = world.w3.eth.get_transaction_receipt(withdrawal.tx.tx_hash)  # type: ignore[arg-type]
    gas = receipt["effectiveGasPrice"] * receipt["gasUsed"]
    assert world.balance(accounts.merchant) == seller_before + PRICE - FEE - gas
    assert world.seller.credits() == 0
    with pytest.raises(errors.NothingToWithdraw):
        world.seller.withdraw()


def test_a_silent_buyer_is_finalized_by_anyone_after_the_delivery_window(
    world: World, accounts: DevAccounts
) -> None:
    item, sale_id = world.shipped("MC-SILENT")
    with pytest.raises(errors.DeadlineNotReached):
        world.stranger.finalize(sale_id=sale_id)

    world.travel(DEFAULT_DELIVERY_WINDOW + 60)
    with pytest.raises(errors.DeadlinePassed):
        world.buyer.open_dispute(sale_id=sale_id, reason="not_received", evidence=CLAIM)
    world.stranger.finalize(sale_id=sale_id)

    assert world.reader.sale(sale_id).state == SaleState.COMPLETED
    assert world.passport.item(item).owner == accounts.owner.address
    assert world.reader.credits(accounts.merchant.address) == PRICE - FEE


def test_a_seller_who_never_ships_refunds_the_buyer_after_the_shipping_window(
    world: World, accounts: DevAccounts
) -> None:
    item, sale_id = world.paid("MC-NOSHIP")
    with pytest.raises(errors.DeadlineNotReached):
        world.buyer.cancel_unshipped(sale_id=sale_id)

    world.travel(DEFAULT_SHIPPING_WINDOW + 60)
    with pytest.raises(errors.DeadlinePassed):
        world.seller.mark_shipped(sale_id=sale_id, shipment_ref=SHIPMENT)
    world.buyer.cancel_unshipped(sale_id=sale_id)

    assert world.reader.sale(sale_id).state == SaleState.REFUNDED
    state = world.passport.item(item)
    assert (state.owner, state.locked) == (accounts.merchant.address, False)
    assert world.reader.credits(accounts.owner.address) == PRICE
    assert world.reader.credits(accounts.admin.address) == 0  # no fee on a refund
    assert world.buyer.withdraw().amount == PRICE


def test_the_seller_may_cancel_an_unshipped_sale_at_once(
    world: World, accounts: DevAccounts
) -> None:
    _, sale_id = world.paid("MC-SELLERCANCEL")
    with pytest.raises(errors.NotParty):
        world.stranger.cancel_unshipped(sale_id=sale_id)
    world.seller.cancel_unshipped(sale_id=sale_id)
    assert world.reader.sale(sale_id).state == SaleState.REFUNDED
    assert world.reader.credits(accounts.owner.address) == PRICE


@pytest.mark.parametrize(
    ("ruling", "share", "counterfeit", "state", "buyer_gets", "owner_after"),
    [
        pytest.param(Ruling.REFUND, 0, False, SaleState.REFUNDED, PRICE, "merchant", id="refund"),
        pytest.param(Ruling.RELEASE, 0, False, SaleState.COMPLETED, 0, "owner", id="release"),
        pytest.param(
            Ruling.PARTIAL_REFUND,
            2_500,
            False,
            SaleState.PARTIALLY_REFUNDED,
            PRICE // 4,
            "owner",
            id="partial",
        ),
        pytest.param(
            Ruling.REFUND, 0, True, SaleState.REFUNDED, PRICE, "merchant", id="refund-counterfeit"
        ),
    ],
)
def test_each_ruling_settles_the_escrow_and_moves_the_item_as_decided(
    world: World,
    accounts: DevAccounts,
    ruling: Ruling,
    share: int,
    counterfeit: bool,
    state: SaleState,
    buyer_gets: int,
    owner_after: str,
) -> None:
    item, sale_id = world.disputed(f"MC-RULE-{ruling.name}-{counterfeit}")
    world.seller.submit_evidence(sale_id=sale_id, evidence={"reply": "original strap"}, uri="")
    with pytest.raises(errors.NotParty):
        world.stranger.submit_evidence(sale_id=sale_id, evidence={"noise": 1})
    assert world.reader.sale(sale_id).dispute_reason == DisputeReason.NOT_AS_DESCRIBED

    world.arbiter.rule(
        sale_id=sale_id,
        ruling=ruling,
        buyer_share_bps=share,
        counterfeit=counterfeit,
        ruling_evidence=DECISION,
    )

    assert world.reader.sale(sale_id).state == state
    assert world.reader.credits(accounts.owner.address) == buyer_gets
    seller_share = PRICE - buyer_gets
    fee = seller_share * DEFAULT_FEE_BPS // 10_000 if seller_share else 0
    assert world.reader.credits(accounts.admin.address) == fee
    assert world.reader.credits(accounts.merchant.address) == seller_share - fee
    after = world.passport.item(item)
    assert after.owner == getattr(accounts, owner_after).address and not after.locked
    assert after.last_verdict == (Verdict.COUNTERFEIT if counterfeit else Verdict.NONE)


def test_inconsistent_rulings_and_parties_as_arbiters_are_refused(
    world: World, accounts: DevAccounts
) -> None:
    _, sale_id = world.disputed("MC-BADRULE")
    with pytest.raises(errors.InvalidRuling):
        world.arbiter.rule(
            sale_id=sale_id, ruling=Ruling.RELEASE, counterfeit=True, ruling_evidence=DECISION
        )
    with pytest.raises(errors.InvalidRuling):
        world.arbiter.rule(sale_id=sale_id, ruling="partial_refund", ruling_evidence=DECISION)
    with pytest.raises(errors.AccountLacksRole):
        world.stranger.rule(sale_id=sale_id, ruling="refund", ruling_evidence=DECISION)
    assert world.reader.sale(sale_id).state == SaleState.DISPUTED


def test_without_a_ruling_by_the_deadline_either_party_takes_the_default_refund(
    world: World, accounts: DevAccounts
) -> None:
    item, sale_id = world.disputed("MC-DEFAULT")
    with pytest.raises(errors.DeadlineNotReached):
        world.seller.execute_default(sale_id=sale_id)

    world.travel(DEFAULT_RULING_WINDOW + 60)
    with pytest.raises(errors.DeadlinePassed):
        world.arbiter.rule(sale_id=sale_id, ruling=Ruling.RELEASE, ruling_evidence=DECISION)
    with pytest.raises(errors.NotParty):
        world.stranger.execute_default(sale_id=sale_id)
    world.seller.execute_default(sale_id=sale_id)

    assert world.reader.sale(sale_id).state == SaleState.REFUNDED
    assert world.reader.credits(accounts.owner.address) == PRICE
    state = world.passport.item(item)
    assert (state.owner, state.locked) == (accounts.merchant.address, False)


# ---------------------------------------------------------------------- signed orders


def test_a_signed_order_is_bought_once_and_its_hash_is_the_contracts(
    world: World, accounts: DevAccounts
) -> None:
    item = world.item("MC-ORDER")
    order = world.seller.build_order(item_id=item, price=PRICE, expiry=world.now() + DAY)
    assert (order.item_nonce, order.counter, order.seller) == (0, 0, accounts.merchant.address)
    signature = world.seller.sign_order(order)
    assert (
        world.seller.order_hash(order)
        == world.reader.market.functions.hashOrder(order.as_tuple()).call()
    )
    # Through JSON and back, as a gateway would receive it.
    received = sell_order_from_json(json.loads(json.dumps(sell_order_to_json(order))))
    assert received == order

    sale = world.buyer.buy_order(order=received, signature="0x" + signature.hex())

    assert world.reader.sale(sale.sale_id).state == SaleState.PAID
    assert world.reader.order_status(order) == ListingStatus.FILLED
    assert world.reader.order_void_reason(order) == VoidReason.FILLED


def test_cancelled_orders_cannot_be_bought(world: World) -> None:
    item = world.item("MC-ORDER-CANCEL")
    first = world.seller.build_order(item_id=item, price=PRICE, expiry=world.now() + DAY)
    first_sig = world.seller.sign_order(first)
    second = dataclasses.replace(first, price=Wei(PRICE * 2))
    second_sig = world.seller.sign_order(second)
    with pytest.raises(errors.NotOrderSeller):
        world.stranger.cancel_order(order=first)

    world.seller.cancel_order(order=first)
    with pytest.raises(errors.OrderVoid) as one:
        world.buyer.buy_order(order=first, signature=first_sig)
    assert one.value.reason == VoidReason.CANCELLED

    world.seller.cancel_all_orders()
    assert world.seller.order_counter() == 1
    with pytest.raises(errors.OrderVoid) as every:
        world.buyer.buy_order(order=second, signature=second_sig)
    assert every.value.reason == VoidReason.CANCELLED


def test_the_library_will_not_sign_an_order_or_transfer_for_someone_else(
    world: World, accounts: DevAccounts
) -> None:
    item = world.item("MC-NOTYOURS")
    order = world.seller.build_order(item_id=item, price=PRICE, expiry=world.now() + DAY)
    with pytest.raises(InputError, match="is signing"):
        world.stranger.sign_order(order)
    transfer = world.passport.build_transfer(
        item_id=item, to=accounts.owner.address, deadline=world.now() + DAY
    )
    stranger = ProvenanceClient(
        w3=world.w3, deployment=world.passport.deployment, account=accounts.stranger
    )
    with pytest.raises(InputError, match="is signing"):
        stranger.sign_transfer(transfer)


# ---------------------------------------------------------------------- admin


def test_fee_changes_apply_to_later_sales_only_and_need_the_admin(
    world: World, accounts: DevAccounts
) -> None:
    _, old_sale = world.paid("MC-FEE-OLD")
    with pytest.raises(errors.NotAdmin):
        world.stranger.set_fee(fee_bps=0)
    world.admin.set_fee(fee_bps=500)
    world.admin.set_treasury(treasury=accounts.spare.address)
    _, new_sale = world.paid("MC-FEE-NEW")
    assert world.reader.sale(old_sale).fee_bps == DEFAULT_FEE_BPS
    assert world.reader.sale(new_sale).fee_bps == 500
    assert world.reader.info().treasury == accounts.spare.address
    with pytest.raises(errors.InvalidTreasury):
        world.admin.set_treasury(treasury=world.reader.market.address)


# ---------------------------------------------------------------------- history and trust


def test_history_includes_the_market_events_and_the_trust_report_reads_them(
    world: World, accounts: DevAccounts
) -> None:
    item, sale_id = world.disputed("MC-HISTORY")
    world.arbiter.rule(
        sale_id=sale_id, ruling=Ruling.REFUND, counterfeit=True, ruling_evidence=DECISION
    )
    _, listing_id = world.listed("MC-HISTORY-OTHER")  # another item's events stay out

    events = world.passport.history(item)

    kinds = [e.kind for e in events]
    assert kinds == [
        "registered",
        "listed",
        "purchased",
        "locked",
        "shipped",
        "dispute_opened",
        "evidence_submitted",
        "sale_settled",
        "dispute_ruled",
        "authenticated",
        "unlocked",
    ]
    by_kind = {e.kind: e for e in events}
    assert by_kind["listed"].actor == accounts.merchant.address
    assert by_kind["listed"].data["listing_id"] == 1 != listing_id
    assert by_kind["purchased"].actor == accounts.owner.address
    assert by_kind["purchased"].data["price"] == PRICE
    opened = by_kind["dispute_opened"]
    assert (opened.actor, opened.data["sale_id"], opened.data["reason"]) == (
        accounts.owner.address,
        sale_id,
        "not_as_described",
    )
    assert by_kind["evidence_submitted"].data["evidence_uri"] == "ipfs://c"
    ruled = by_kind["dispute_ruled"]
    assert (ruled.actor, ruled.data["ruling"], ruled.data["counterfeit"]) == (
        accounts.arbiter.address,
        "refund",
        True,
    )
    assert by_kind["sale_settled"].data["how"] == "ruled"
    assert all(json.dumps(e.to_json()) for e in events)

    report = build_trust_report(
        item=world.passport.item(item),
        history=events,
        registrant_record=world.passport.account_record(accounts.merchant.address),
        registrant_history=None,
        now=world.now(),
        markets=[world.reader.market.address],
    )
    assert report.other_events == ()  # every market kind is one the report understands
    assert report.verdict == TrustVerdict.DO_NOT_BUY
    (dispute,) = report.disputes
    assert (dispute.state, dispute.ruling, dispute.reason, dispute.sale_id) == (
        "ruled",
        "refund",
        "not_as_described",
        sale_id,
    )
    (finding,) = report.counterfeit_findings
    assert (finding.source, finding.by) == ("dispute_ruling", accounts.arbiter.address)


def test_history_of_a_deployment_without_a_market_has_only_passport_events(
    w3: Web3, accounts: DevAccounts
) -> None:
    bare = deploy(w3=w3, admin=accounts.admin, base_uri="http://bare/", with_market=False)
    admin = ProvenanceClient(w3=w3, deployment=bare, account=accounts.admin)
    admin.vet(account=accounts.merchant.address, roles=1, credentials={"d": 1}, name="M")  # type: ignore[arg-type]
    merchant = ProvenanceClient(w3=w3, deployment=bare, account=accounts.merchant)
    item = merchant.register(brand="Maison Test", serial="MC-BARE", metadata={}).item_id
    assert merchant.market is None
    assert [e.kind for e in merchant.history(item)] == ["registered"]
