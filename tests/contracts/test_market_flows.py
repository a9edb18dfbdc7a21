"""Every way a resale-market sale can end, walked through on chain with time travel.

Starting state: ``conftest_market.py`` (merchant's item ``main`` listed at 1 ether; fee 2.5%;
shipping 3 days, delivery 14 days, ruling 7 days). Deadlines are inclusive: a step is allowed
up to and including its deadline's second and refused one second later.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_tester.exceptions import TransactionFailed
from eth_utils import event_abi_to_log_topic, keccak

from ledger.artifacts import load_artifact
from ledger.errors import (
    DeadlineNotReached,
    DeadlinePassed,
    FeeTooHigh,
    InvalidRuling,
    InvalidTreasury,
    InvalidWindow,
    ItemIsLocked,
    MissingDisputeReason,
    MissingEvidence,
    NothingToWithdraw,
    WrongPayment,
    WrongSaleState,
)
from ledger.types import ConditionGrade, Verdict
from tests.contracts.conftest_market import (
    DAY,
    DELIVERY_WINDOW,
    EVIDENCE_HASH,
    FEE_BPS,
    PRICE,
    RULING_HASH,
    RULING_WINDOW,
    SHIPMENT_HASH,
    SHIPPING_WINDOW,
    DisputeReason,
    ListingStatus,
    MarketWorld,
    Ruling,
    SaleState,
    Settlement,
    assert_error,
    decode_revert,
    market,
)

__all__ = ["market"]  # the fixture, imported so pytest finds it

FEE = PRICE * FEE_BPS // 10_000


def _settled(world: MarketWorld, receipt: Any) -> dict[str, Any]:
    return dict(world.event(receipt, "SaleSettled"))


def _assert_delivered(world: MarketWorld, sale_id: int, nonce_before: int) -> None:
    item = world.item(world.items.main)
    assert item["owner"] == world.buyer.address
    assert item["locked"] is False
    assert item["transferNonce"] == nonce_before + 1


def _assert_returned(world: MarketWorld, nonce_before: int) -> None:
    item = world.item(world.items.main)
    assert item["owner"] == world.seller.address
    assert item["locked"] is False
    assert item["transferNonce"] == nonce_before


def _assert_solvent(world: MarketWorld, open_escrow: int = 0) -> None:
    people = [world.seller, world.buyer, world.treasury, world.arbiter, world.stranger]
    credited = sum(world.credits(p) for p in people)
    assert world.balance(world.market) == open_escrow + credited


# ------------------------------------------------------------------ happy path


def test_list_buy_ship_confirm_withdraw(market: MarketWorld) -> None:
    w = market
    listing = w.listing(w.main_listing)
    assert listing["status"] == ListingStatus.OPEN
    assert listing["seller"] == w.seller.address
    nonce = w.item_nonce(w.items.main)

    bought_at = w.next_timestamp()
    receipt = w.send(w.market.functions.buy(w.main_listing), w.buyer, value=PRICE)
    purchased = w.event(receipt, "Purchased")
    sale_id = purchased["saleId"]
    assert purchased == {
        "saleId": sale_id,
        "itemId": w.items.main,
        "buyer": w.buyer.address,
        "seller": w.seller.address,
        "price": PRICE,
        "feeBps": FEE_BPS,
        "listingId": w.main_listing,
        "orderHash": b"\x00" * 32,
        "shipBy": bought_at + SHIPPING_WINDOW,
    }
    assert w.event(receipt, "ItemLocked", w.passport) == {
        "itemId": w.items.main,
        "market": w.market.address,
    }
    assert w.sale(sale_id) == {
        "itemId": w.items.main,
        "seller": w.seller.address,
        "price": PRICE,
        "buyer": w.buyer.address,
        "feeBps": FEE_BPS,
        "state": SaleState.PAID,
        "disputeReason": DisputeReason.NONE,
        "deadline": bought_at + SHIPPING_WINDOW,
    }
    assert w.item(w.items.main)["locked"] is True
    assert w.listing(w.main_listing)["status"] == ListingStatus.FILLED
    assert w.balance(w.market) == PRICE
    # Escrow holds the item: not even its owner can move, flag or retire it.
    transfer = w.passport.functions.transferFrom(
        w.seller.address, w.stranger.address, int.from_bytes(w.items.main)
    )
    w.refused(transfer, w.seller, ItemIsLocked, itemId=w.items.main)

    shipped_at = w.next_timestamp()
    receipt = w.ship(sale_id)
    assert w.event(receipt, "Shipped") == {
        "saleId": sale_id,
        "itemId": w.items.main,
        "seller": w.seller.address,
        "shipmentRefHash": SHIPMENT_HASH,
        "deliverBy": shipped_at + DELIVERY_WINDOW,
    }
    sale = w.sale(sale_id)
    assert (sale["state"], sale["deadline"]) == (SaleState.SHIPPED, shipped_at + DELIVERY_WINDOW)

    receipt = w.send(w.market.functions.confirmDelivery(sale_id), w.buyer)
    assert _settled(w, receipt) == {
        "saleId": sale_id,
        "itemId": w.items.main,
        "by": w.buyer.address,
        "how": Settlement.CONFIRMED,
        "sellerAmount": PRICE - FEE,
        "buyerAmount": 0,
        "fee": FEE,
    }
    assert w.event(receipt, "SaleRecorded", w.passport) == {
        "itemId": w.items.main,
        "from": w.seller.address,
        "to": w.buyer.address,
        "saleRef": sale_id.to_bytes(32),
    }
    assert w.event(receipt, "ItemUnlocked", w.passport)["market"] == w.market.address
    assert w.sale(sale_id)["state"] == SaleState.COMPLETED
    _assert_delivered(w, sale_id, nonce)
    assert (w.credits(w.seller), w.credits(w.treasury), w.credits(w.buyer)) == (PRICE - FEE, FEE, 0)
    _assert_solvent(w)

    for account, amount in ((w.seller, PRICE - FEE), (w.treasury, FEE)):
        before = w.balance(account)
        receipt = w.send(w.market.functions.withdraw(), account)
        assert w.event(receipt, "Withdrawn") == {"account": account.address, "amount": amount}
        gas_cost = receipt["gasUsed"] * receipt["effectiveGasPrice"]
        assert w.balance(account) == before + amount - gas_cost
        assert w.credits(account) == 0
    assert w.balance(w.market) == 0
    w.refused(w.market.functions.withdraw(), w.seller, NothingToWithdraw, account=w.seller)

    # The buyer, a private (unvetted) owner now, can resell it on the market.
    relisted = w.list(w.items.main, w.buyer, price=2 * PRICE)
    assert w.listing(relisted)["itemNonce"] == nonce + 1


def test_buyer_must_pay_the_exact_price(market: MarketWorld) -> None:
    w = market
    before = w.snapshot(items=(w.items.main,))
    for sent in (PRICE - 1, PRICE + 1, 0):
        w.refused(
            w.market.functions.buy(w.main_listing),
            w.buyer,
            WrongPayment,
            value=sent,
            expected=PRICE,
            sent=sent,
        )
    assert w.snapshot(items=(w.items.main,)) == before


def test_buyer_may_confirm_before_shipment(market: MarketWorld) -> None:
    w = market
    sale_id = w.buy()
    nonce = w.item_nonce(w.items.main)
    receipt = w.send(w.market.functions.confirmDelivery(sale_id), w.buyer)
    assert _settled(w, receipt)["how"] == Settlement.CONFIRMED
    _assert_delivered(w, sale_id, nonce)


# ------------------------------------------------------------------ expedited settlement


def test_silent_buyer_is_finalized_by_anyone_after_the_delivery_window(market: MarketWorld) -> None:
    w = market
    sale_id = w.shipped_sale()
    deadline = w.sale(sale_id)["deadline"]
    nonce = w.item_nonce(w.items.main)

    w.at(deadline)
    w.refused(
        w.market.functions.finalize(sale_id),
        w.stranger,
        DeadlineNotReached,
        saleId=sale_id,
        deadline=deadline,
    )
    # The failed transaction took the deadline's second; the buyer could still dispute in it.
    receipt = w.send(w.market.functions.finalize(sale_id), w.stranger)
    assert _settled(w, receipt) == {
        "saleId": sale_id,
        "itemId": w.items.main,
        "by": w.stranger.address,
        "how": Settlement.FINALIZED,
        "sellerAmount": PRICE - FEE,
        "buyerAmount": 0,
        "fee": FEE,
    }
    _assert_delivered(w, sale_id, nonce)
    # Too late to dispute or confirm now: the sale is over.
    dispute = w.market.functions.openDispute(sale_id, DisputeReason.NOT_RECEIVED, EVIDENCE_HASH, "")
    w.refused(dispute, w.buyer, WrongSaleState, saleId=sale_id, state=SaleState.COMPLETED)
    _assert_solvent(w)


def test_dispute_is_refused_after_the_delivery_window(market: MarketWorld) -> None:
    w = market
    sale_id = w.shipped_sale()
    deadline = w.sale(sale_id)["deadline"]
    w.at(deadline + 1)
    dispute = w.market.functions.openDispute(sale_id, DisputeReason.NOT_RECEIVED, EVIDENCE_HASH, "")
    w.refused(dispute, w.buyer, DeadlinePassed, saleId=sale_id, deadline=deadline)


def test_dispute_is_allowed_at_the_last_second(market: MarketWorld) -> None:
    w = market
    sale_id = w.shipped_sale()
    w.at(w.sale(sale_id)["deadline"])
    w.dispute(sale_id)
    assert w.sale(sale_id)["state"] == SaleState.DISPUTED


def test_seller_never_ships_then_buyer_takes_a_full_refund(market: MarketWorld) -> None:
    w = market
    sale_id = w.buy()
    deadline = w.sale(sale_id)["deadline"]
    nonce = w.item_nonce(w.items.main)

    w.at(deadline)
    cancel = w.market.functions.cancelUnshipped(sale_id)
    w.refused(cancel, w.buyer, DeadlineNotReached, saleId=sale_id, deadline=deadline)
    ship = w.market.functions.markShipped(sale_id, SHIPMENT_HASH)
    w.refused(ship, w.seller, DeadlinePassed, saleId=sale_id, deadline=deadline)

    receipt = w.send(cancel, w.buyer)
    assert _settled(w, receipt) == {
        "saleId": sale_id,
        "itemId": w.items.main,
        "by": w.buyer.address,
        "how": Settlement.CANCELLED_UNSHIPPED,
        "sellerAmount": 0,
        "buyerAmount": PRICE,
        "fee": 0,
    }
    assert w.sale(sale_id)["state"] == SaleState.REFUNDED
    _assert_returned(w, nonce)
    assert (w.credits(w.buyer), w.credits(w.seller), w.credits(w.treasury)) == (PRICE, 0, 0)
    _assert_solvent(w)
    # The filled listing stays filled; the seller lists the item again.
    assert w.listing(w.main_listing)["status"] == ListingStatus.FILLED
    w.list(w.items.main)


def test_seller_may_cancel_an_unshipped_sale_at_any_time(market: MarketWorld) -> None:
    w = market
    sale_id = w.buy()
    nonce = w.item_nonce(w.items.main)
    receipt = w.send(w.market.functions.cancelUnshipped(sale_id), w.seller)
    assert _settled(w, receipt)["buyerAmount"] == PRICE
    _assert_returned(w, nonce)


# ------------------------------------------------------------------ disputes


@pytest.mark.parametrize(
    ("ruling", "share", "counterfeit"),
    [
        (Ruling.REFUND, 0, False),
        (Ruling.REFUND, 0, True),
        (Ruling.RELEASE, 0, False),
        (Ruling.PARTIAL_REFUND, 3_000, False),
        (Ruling.PARTIAL_REFUND, 1, True),
        (Ruling.PARTIAL_REFUND, 9_999, False),
    ],
    ids=["refund", "refund-counterfeit", "release", "partial-30%", "partial-counterfeit", "99.99%"],
)
def test_each_ruling(market: MarketWorld, ruling: Ruling, share: int, counterfeit: bool) -> None:
    w = market
    sale_id = w.disputed_sale()
    nonce = w.item_nonce(w.items.main)
    fn = w.market.functions.rule(sale_id, ruling, share, counterfeit, RULING_HASH)
    receipt = w.send(fn, w.arbiter)

    refund = PRICE if ruling == Ruling.REFUND else PRICE * share // 10_000
    fee = (PRICE - refund) * FEE_BPS // 10_000
    assert _settled(w, receipt) == {
        "saleId": sale_id,
        "itemId": w.items.main,
        "by": w.arbiter.address,
        "how": Settlement.RULED,
        "sellerAmount": PRICE - refund - fee,
        "buyerAmount": refund,
        "fee": fee,
    }
    assert w.event(receipt, "DisputeRuled") == {
        "saleId": sale_id,
        "itemId": w.items.main,
        "arbiter": w.arbiter.address,
        "ruling": ruling,
        "buyerShareBps": share,
        "counterfeit": counterfeit,
        "rulingHash": RULING_HASH,
    }
    expected_state = {
        Ruling.REFUND: SaleState.REFUNDED,
        Ruling.RELEASE: SaleState.COMPLETED,
        Ruling.PARTIAL_REFUND: SaleState.PARTIALLY_REFUNDED,
    }[ruling]
    assert w.sale(sale_id)["state"] == expected_state
    if ruling == Ruling.REFUND:
        _assert_returned(w, nonce)  # "returns to the seller": it never left
    else:
        _assert_delivered(w, sale_id, nonce)
    assert w.credits(w.buyer) == refund
    assert w.credits(w.seller) == PRICE - refund - fee
    assert w.credits(w.treasury) == fee
    _assert_solvent(w)

    verdicts = w.events(receipt, "ItemAuthenticated", w.passport)
    if counterfeit:
        assert verdicts == [
            {
                "itemId": w.items.main,
                "authenticator": w.market.address,
                "verdict": Verdict.COUNTERFEIT,
                "grade": ConditionGrade.UNGRADED,
                "evidenceHash": RULING_HASH,
            }
        ]
        assert w.item(w.items.main)["lastVerdict"] == Verdict.COUNTERFEIT
    else:
        assert verdicts == []
        assert w.item(w.items.main)["lastVerdict"] == Verdict.NONE


@pytest.mark.parametrize(
    ("ruling", "share", "counterfeit"),
    [
        (Ruling.NONE, 0, False),
        (Ruling.REFUND, 1, False),
        (Ruling.RELEASE, 5_000, False),
        (Ruling.RELEASE, 0, True),
        (Ruling.PARTIAL_REFUND, 0, False),
        (Ruling.PARTIAL_REFUND, 10_000, False),
        (Ruling.PARTIAL_REFUND, 65_535, True),
    ],
)
def test_inconsistent_rulings_are_refused(
    market: MarketWorld, ruling: Ruling, share: int, counterfeit: bool
) -> None:
    w = market
    sale_id = w.disputed_sale()
    before = w.snapshot(sales=(sale_id,), items=(w.items.main,))
    fn = w.market.functions.rule(sale_id, ruling, share, counterfeit, RULING_HASH)
    w.refused(
        fn, w.arbiter, InvalidRuling, ruling=ruling, buyerShareBps=share, counterfeit=counterfeit
    )
    assert w.snapshot(sales=(sale_id,), items=(w.items.main,)) == before


def test_ruling_needs_a_reasoned_decision(market: MarketWorld) -> None:
    w = market
    sale_id = w.disputed_sale()
    fn = w.market.functions.rule(sale_id, Ruling.REFUND, 0, False, b"\x00" * 32)
    w.refused(fn, w.arbiter, MissingEvidence, saleId=sale_id)


def test_dispute_needs_a_reason_and_evidence(market: MarketWorld) -> None:
    w = market
    sale_id = w.shipped_sale()
    no_reason = w.market.functions.openDispute(sale_id, DisputeReason.NONE, EVIDENCE_HASH, "")
    w.refused(no_reason, w.buyer, MissingDisputeReason, saleId=sale_id)
    no_hash = w.market.functions.openDispute(sale_id, DisputeReason.OTHER, b"\x00" * 32, "x")
    w.refused(no_hash, w.buyer, MissingEvidence, saleId=sale_id)
    ship = w.market.functions.markShipped(sale_id, SHIPMENT_HASH)
    w.refused(ship, w.seller, WrongSaleState, saleId=sale_id, state=SaleState.SHIPPED)


def test_ruling_deadline_passes_then_either_party_takes_the_default_refund(
    market: MarketWorld,
) -> None:
    w = market
    sale_id = w.disputed_sale()
    deadline = w.sale(sale_id)["deadline"]
    nonce = w.item_nonce(w.items.main)

    w.at(deadline)
    default = w.market.functions.executeDefault(sale_id)
    w.refused(default, w.seller, DeadlineNotReached, saleId=sale_id, deadline=deadline)
    late = w.market.functions.rule(sale_id, Ruling.RELEASE, 0, False, RULING_HASH)
    w.refused(late, w.arbiter, DeadlinePassed, saleId=sale_id, deadline=deadline)
    evidence = w.market.functions.submitEvidence(sale_id, EVIDENCE_HASH, "")
    w.refused(evidence, w.seller, DeadlinePassed, saleId=sale_id, deadline=deadline)

    receipt = w.send(default, w.seller)
    assert _settled(w, receipt) == {
        "saleId": sale_id,
        "itemId": w.items.main,
        "by": w.seller.address,
        "how": Settlement.DEFAULT_REFUND,
        "sellerAmount": 0,
        "buyerAmount": PRICE,
        "fee": 0,
    }
    assert w.sale(sale_id)["state"] == SaleState.REFUNDED
    _assert_returned(w, nonce)
    assert w.credits(w.buyer) == PRICE
    w.refused(default, w.buyer, WrongSaleState, saleId=sale_id, state=SaleState.REFUNDED)
    _assert_solvent(w)


def test_buyer_can_end_a_dispute_by_confirming(market: MarketWorld) -> None:
    w = market
    sale_id = w.disputed_sale()
    nonce = w.item_nonce(w.items.main)
    receipt = w.send(w.market.functions.confirmDelivery(sale_id), w.buyer)
    assert _settled(w, receipt)["how"] == Settlement.CONFIRMED
    _assert_delivered(w, sale_id, nonce)
    late = w.market.functions.rule(sale_id, Ruling.REFUND, 0, False, RULING_HASH)
    w.refused(late, w.arbiter, WrongSaleState, saleId=sale_id, state=SaleState.COMPLETED)


def test_dispute_history_is_on_chain_and_indexed_by_item(market: MarketWorld) -> None:
    """Opened, each piece of evidence, the ruling and its arbiter: all events, all by item id."""
    w = market
    sale_id = w.shipped_sale()
    opened_at = w.next_timestamp()
    receipt = w.send(
        w.market.functions.openDispute(
            sale_id, DisputeReason.COUNTERFEIT, EVIDENCE_HASH, "ipfs://claim"
        ),
        w.buyer,
    )
    assert w.event(receipt, "DisputeOpened") == {
        "saleId": sale_id,
        "itemId": w.items.main,
        "buyer": w.buyer.address,
        "reason": DisputeReason.COUNTERFEIT,
        "ruleBy": opened_at + RULING_WINDOW,
    }
    assert w.event(receipt, "Dispute") == {
        "_arbitrator": w.market.address,
        "_disputeID": sale_id,
        "_metaEvidenceID": 0,
        "_evidenceGroupID": sale_id,
    }
    assert w.event(receipt, "Evidence") == {
        "_arbitrator": w.market.address,
        "_evidenceGroupID": sale_id,
        "_party": w.buyer.address,
        "_evidence": "ipfs://claim",
    }
    sale = w.sale(sale_id)
    assert (sale["state"], sale["disputeReason"]) == (SaleState.DISPUTED, DisputeReason.COUNTERFEIT)

    reply_hash = keccak(text="seller reply")
    receipt = w.send(w.market.functions.submitEvidence(sale_id, reply_hash, ""), w.seller)
    assert w.event(receipt, "EvidenceSubmitted") == {
        "saleId": sale_id,
        "itemId": w.items.main,
        "party": w.seller.address,
        "evidenceHash": reply_hash,
        "evidenceURI": "",
    }
    # No URI: ERC-1497 readers get the hash as 0x-hex.
    assert w.event(receipt, "Evidence")["_evidence"] == "0x" + reply_hash.hex()
    w.send(w.market.functions.submitEvidence(sale_id, EVIDENCE_HASH, "ipfs://more"), w.buyer)
    w.send(w.market.functions.rule(sale_id, Ruling.REFUND, 0, True, RULING_HASH), w.arbiter)

    # The item's whole market story, from logs filtered on the item id topic alone.
    item_topic = "0x" + w.items.main.hex()
    logs = w.w3.eth.get_logs(
        {"fromBlock": 0, "address": w.market.address, "topics": [None, None, item_topic]}
    )
    by_topic = {
        event_abi_to_log_topic(entry): entry["name"]  # type: ignore[arg-type]
        for entry in w.market.abi
        if entry["type"] == "event"
    }
    names = [by_topic[bytes(log["topics"][0])] for log in logs]
    assert names == [
        "Listed",
        "Purchased",
        "Shipped",
        "DisputeOpened",
        "EvidenceSubmitted",
        "EvidenceSubmitted",
        "EvidenceSubmitted",
        "SaleSettled",
        "DisputeRuled",
    ]


# ------------------------------------------------------------------ fees


def test_fee_is_fixed_at_purchase(market: MarketWorld) -> None:
    w = market
    sale_id = w.buy()
    w.send(w.market.functions.setFee(1_000), w.admin)
    receipt = w.send(w.market.functions.confirmDelivery(sale_id), w.buyer)
    assert _settled(w, receipt)["fee"] == PRICE * FEE_BPS // 10_000
    # A purchase after the change pays the new fee.
    later = w.list(w.items.spare)
    second = w.buy(later)
    assert w.sale(second)["feeBps"] == 1_000
    receipt = w.send(w.market.functions.confirmDelivery(second), w.buyer)
    assert _settled(w, receipt)["fee"] == PRICE // 10


def test_fee_and_treasury_bounds(market: MarketWorld) -> None:
    w = market
    fn = w.market.functions
    w.refused(fn.setFee(1_001), w.admin, FeeTooHigh, feeBps=1_001, maxFeeBps=1_000)
    zero = "0x" + "00" * 20
    w.refused(fn.setTreasury(zero), w.admin, InvalidTreasury, treasury=zero)
    w.refused(fn.setTreasury(w.market.address), w.admin, InvalidTreasury, treasury=w.market.address)
    receipt = w.send(fn.setFee(0), w.admin)
    assert w.event(receipt, "FeeChanged") == {
        "previousFeeBps": FEE_BPS,
        "feeBps": 0,
        "by": w.admin.address,
    }
    receipt = w.send(fn.setTreasury(w.stranger.address), w.admin)
    assert w.event(receipt, "TreasuryChanged") == {
        "previousTreasury": w.treasury.address,
        "treasury": w.stranger.address,
        "by": w.admin.address,
    }
    # With no fee, the seller gets everything and the treasury nothing.
    sale_id = w.buy()
    receipt = w.send(fn.confirmDelivery(sale_id), w.buyer)
    assert _settled(w, receipt)["sellerAmount"] == PRICE
    assert w.credits(w.stranger) == 0


def test_constructor_validates_its_settings(market: MarketWorld) -> None:
    w = market
    zero = "0x" + "00" * 20
    good = (w.passport.address, w.treasury.address, FEE_BPS, DAY, DAY, DAY)
    cases: list[tuple[tuple[Any, ...], Any, dict[str, Any]]] = [
        ((good[0], zero, *good[2:]), InvalidTreasury, {"treasury": zero}),
        ((*good[:2], 1_001, *good[3:]), FeeTooHigh, {"feeBps": 1_001, "maxFeeBps": 1_000}),
        ((*good[:3], 0, DAY, DAY), InvalidWindow, {"window": 0}),
        ((*good[:4], 366 * DAY, DAY), InvalidWindow, {"window": 366 * DAY}),
        ((*good[:5], 0), InvalidWindow, {"window": 0}),
    ]
    artifact = load_artifact("ResaleMarket")
    factory = w.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    for args, error, expected in cases:
        with pytest.raises(TransactionFailed) as info:
            factory.constructor(*args).estimate_gas({"from": w.admin.address})
        assert_error(decode_revert(info.value), error, **expected)
