"""The resale market through the gateway: listings, signed orders, sales, disputes, payments.

The module runs its own app (its own embedded chain): the dispute tests move the chain's clock
past deadlines (eth-tester's ``time_travel``), which must not age the shared app's signatures
and expiries. Each test registers its own items; amounts are asserted to the wei.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from enum import Enum
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.schemas.market import DisputeReasonName, RulingName
from api.state import Gateway
from ledger.signatures import sell_order_to_json, sign_sell_order
from ledger.types import DisputeReason, ItemId, Ruling, Wei
from tests.api.conftest import Api, Key, assert_error, make_settings
from tests.conftest import DevAccounts

DAY = 86_400
PRICE = 10**16
FEE_BPS = 250  # the `deploy` default
FEE = PRICE * FEE_BPS // 10_000


@dataclasses.dataclass
class Market:
    api: Api
    seller: Key
    seller_b: Key
    buyer: Key
    arbiter: Key

    @property
    def client(self) -> TestClient:
        return self.api.client

    @property
    def gateway(self) -> Gateway:
        gateway: Gateway = self.client.app.state.gateway  # type: ignore[attr-defined]
        return gateway

    def now(self) -> int:
        return self.gateway.reader.chain_time()

    def travel(self, seconds: int) -> None:
        """Move the chain's clock ``seconds`` past the next block's timestamp."""
        tester = self.gateway.connection.w3.provider.ethereum_tester  # type: ignore[attr-defined]
        pending = int(tester.get_block_by_number("pending")["timestamp"])
        tester.time_travel(pending + seconds)

    def item(self, owner: str | None = None) -> str:
        extra = {} if owner is None else {"owner": owner}
        return str(self.api.register(self.seller, **extra)["item_id"])

    def listed(self, *, price: int = PRICE) -> tuple[str, int]:
        item_id = self.item()
        response = self.client.post(
            "/listings",
            json={"item_id": item_id, "price_wei": str(price), "expiry": self.now() + 30 * DAY},
            headers=self.seller.headers,
        )
        assert response.status_code == 201, response.text
        return item_id, int(response.json()["listing_id"])

    def bought(self, buyer: Key | None = None) -> tuple[str, int]:
        item_id, listing_id = self.listed()
        response = self.client.post(
            f"/listings/{listing_id}/purchase", headers=(buyer or self.buyer).headers
        )
        assert response.status_code == 201, response.text
        return item_id, int(response.json()["sale_id"])

    def shipped(self, buyer: Key | None = None) -> tuple[str, int]:
        item_id, sale_id = self.bought(buyer)
        response = self.client.post(
            f"/sales/{sale_id}/ship",
            json={"shipment_ref": {"carrier": "La Poste", "tracking": uuid.uuid4().hex}},
            headers=self.seller.headers,
        )
        assert response.status_code == 200, response.text
        return item_id, sale_id

    def disputed(self, buyer: Key | None = None) -> tuple[str, int]:
        item_id, sale_id = self.shipped(buyer)
        response = self.client.post(
            "/disputes",
            json={
                "sale_id": sale_id,
                "reason": "counterfeit",
                "evidence": {"photos": ["stitching.jpg"]},
                "uri": "ipfs://claim",
            },
            headers=(buyer or self.buyer).headers,
        )
        assert response.status_code == 201, response.text
        assert response.json()["state"] == "disputed"
        return item_id, sale_id

    def credits(self, address: str) -> int:
        response = self.client.get(f"/accounts/{address}/credits")
        assert response.status_code == 200, response.text
        return int(response.json()["credits_wei"])

    def sale(self, sale_id: int) -> dict[str, Any]:
        response = self.client.get(f"/sales/{sale_id}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory, accounts: DevAccounts) -> Iterator[Market]:
    data_dir = tmp_path_factory.mktemp("market-gateway")
    with TestClient(create_app(make_settings(data_dir))) as client:
        admin_secret = (data_dir / "admin.key").read_text().strip()
        admin = Key(id="admin", secret=admin_secret, address=accounts.admin.address, role="admin")
        api = Api(client, data_dir, admin, *(None,) * 4)  # type: ignore[arg-type]
        seller = api.vetted_key("merchant")
        seller_b = api.vetted_key("merchant")
        api.merchant, api.merchant_b = seller, seller_b
        buyer = api.create_key("merchant")  # any key buys; this account is not even vetted
        arbiter = api.create_key("arbiter")
        api.vet(arbiter, roles=["arbiter"])  # the admin vets arbiters with POST /merchants
        yield Market(api, seller, seller_b, buyer, arbiter)


# ---------------------------------------------------------------------- settings


def test_market_settings_are_public(market: Market) -> None:
    response = market.client.get("/market")
    assert response.status_code == 200, response.text
    info = response.json()
    assert info["address"] == market.gateway.deployment.market
    assert info["passport"] == market.gateway.deployment.passport
    assert info["fee_bps"] == FEE_BPS
    assert info["shipping_window"] > 0 and info["delivery_window"] > 0
    assert info["ruling_window"] > 0


# ---------------------------------------------------------------------- the happy path


def test_listing_purchase_ship_confirm_credits_and_withdraw(market: Market) -> None:
    client = market.client
    treasury = client.get("/market").json()["treasury"]
    treasury_before = market.credits(treasury)
    item_id, listing_id = market.listed()

    listing = client.get(f"/listings/{listing_id}").json()
    assert listing["item_id"] == item_id and listing["seller"] == market.seller.address
    assert listing["price_wei"] == str(PRICE) and listing["status"] == "open"
    assert listing["void_reason"] == "none" and listing["buyable"] is True

    bought = client.post(f"/listings/{listing_id}/purchase", headers=market.buyer.headers)
    assert bought.status_code == 201, bought.text
    purchase = bought.json()
    assert purchase["price_wei"] == str(PRICE) and purchase["listing_id"] == listing_id
    sale_id = purchase["sale_id"]
    sale = market.sale(sale_id)
    assert sale["state"] == "paid" and sale["open"] is True
    assert (sale["seller"], sale["buyer"]) == (market.seller.address, market.buyer.address)
    assert sale["price_wei"] == str(PRICE) and sale["fee_bps"] == FEE_BPS
    assert sale["dispute_reason"] == "none" and sale["deadline"] > market.now()
    after = client.get(f"/listings/{listing_id}").json()
    assert (after["status"], after["void_reason"], after["buyable"]) == ("filled", "filled", False)
    assert client.get(f"/items/{item_id}").json()["locked"] is True

    shipped = client.post(
        f"/sales/{sale_id}/ship",
        json={"shipment_ref": "Colissimo 6A123456789"},
        headers=market.seller.headers,
    )
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["state"] == "shipped"
    # Only the buyer confirms.
    assert_error(
        client.post(f"/sales/{sale_id}/confirm", headers=market.seller.headers), 403, "not_buyer"
    )
    confirmed = client.post(f"/sales/{sale_id}/confirm", headers=market.buyer.headers)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["state"] == "completed"
    item = client.get(f"/items/{item_id}").json()
    assert item["owner"] == market.buyer.address and item["locked"] is False

    seller_credit = market.credits(market.seller.address)
    assert seller_credit == PRICE - FEE
    assert market.credits(treasury) == treasury_before + FEE

    w3 = market.gateway.connection.w3
    balance_before = w3.eth.get_balance(market.seller.address)
    withdrawn = client.post("/withdrawals", headers=market.seller.headers)
    assert withdrawn.status_code == 200, withdrawn.text
    body = withdrawn.json()
    assert body["address"] == market.seller.address and body["amount_wei"] == str(PRICE - FEE)
    receipt = w3.eth.get_transaction_receipt(body["tx_hash"])
    gas_cost = int(receipt["gasUsed"]) * int(receipt["effectiveGasPrice"])
    assert w3.eth.get_balance(market.seller.address) == balance_before + PRICE - FEE - gas_cost
    assert market.credits(market.seller.address) == 0
    assert_error(
        client.post("/withdrawals", headers=market.seller.headers), 409, "nothing_to_withdraw"
    )


def test_idempotency_key_on_purchase_does_not_buy_twice(market: Market) -> None:
    _, listing_id = market.listed()
    count = market.client.get("/market").json()["sale_count"]
    headers = {**market.buyer.headers, "Idempotency-Key": uuid.uuid4().hex}
    first = market.client.post(f"/listings/{listing_id}/purchase", headers=headers)
    second = market.client.post(f"/listings/{listing_id}/purchase", headers=headers)
    assert first.status_code == second.status_code == 201, second.text
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert market.client.get("/market").json()["sale_count"] == count + 1


def test_a_buyer_who_cannot_pay_the_price_gets_409_insufficient_funds(market: Market) -> None:
    _, listing_id = market.listed(price=10**27)  # a billion ether: more than any test account
    count = market.client.get("/market").json()["sale_count"]
    response = market.client.post(f"/listings/{listing_id}/purchase", headers=market.buyer.headers)
    assert_error(response, 409, "insufficient_funds")
    assert market.client.get("/market").json()["sale_count"] == count


# ---------------------------------------------------------------------- signed orders


def test_signed_order_check_and_purchase(market: Market, accounts: DevAccounts) -> None:
    # A non-custodial seller: a wallet the gateway holds no key for, that never pays gas.
    owner = accounts.owner
    item_id = market.item(owner=owner.address)
    reader = market.gateway.market_for(None)
    order = reader.build_order(
        item_id=ItemId(bytes.fromhex(item_id[2:])),
        price=Wei(PRICE),
        expiry=market.now() + 7 * DAY,
        seller=owner.address,
    )
    signature = "0x" + sign_sell_order(owner, domain=reader.domain(), order=order).hex()
    signed = {"order": sell_order_to_json(order), "signature": signature}
    order_hash = "0x" + reader.order_hash(order).hex()

    check = market.client.post("/orders/check", json=signed)
    assert check.status_code == 200, check.text
    assert check.json() == {
        "order_hash": order_hash,
        "status": "none",
        "void_reason": "none",
        "signer": owner.address,
        "signature_valid": True,
        "buyable": True,
    }
    # The same signature over another price is nobody's signature of that order.
    tampered = {**signed, "order": {**signed["order"], "price": str(PRICE - 1)}}
    checked = market.client.post("/orders/check", json=tampered).json()
    assert checked["signature_valid"] is False and checked["buyable"] is False
    assert checked["signer"] != owner.address
    assert_error(
        market.client.post("/orders/purchase", json=tampered, headers=market.buyer.headers),
        403,
        "invalid_order_signature",
    )

    bought = market.client.post("/orders/purchase", json=signed, headers=market.buyer.headers)
    assert bought.status_code == 201, bought.text
    purchase = bought.json()
    assert purchase["order_hash"] == order_hash and purchase["price_wei"] == str(PRICE)
    assert purchase["listing_id"] is None
    sale = market.sale(purchase["sale_id"])
    assert (sale["seller"], sale["buyer"], sale["state"]) == (
        owner.address,
        market.buyer.address,
        "paid",
    )
    after = market.client.post("/orders/check", json=signed).json()
    assert (after["status"], after["void_reason"], after["buyable"]) == ("filled", "filled", False)
    assert_error(
        market.client.post("/orders/purchase", json=signed, headers=market.seller_b.headers),
        409,
        "order_void",
    )


# ---------------------------------------------------------------------- refusals


def test_listing_refusals_come_back_with_the_contracts_codes(market: Market) -> None:
    client = market.client
    item_id, listing_id = market.listed()
    # Merchant B cannot withdraw merchant A's listing, nor list A's item.
    assert_error(
        client.delete(f"/listings/{listing_id}", headers=market.seller_b.headers),
        403,
        "not_listing_seller",
    )
    assert_error(
        client.post(
            "/listings",
            json={"item_id": item_id, "price_wei": 10**15, "expiry": market.now() + DAY},
            headers=market.seller_b.headers,
        ),
        403,
        "not_item_owner",
    )
    assert_error(
        client.post(f"/listings/{listing_id}/purchase", headers=market.seller.headers),
        422,
        "buyer_is_seller",
    )
    cancelled = client.delete(f"/listings/{listing_id}", headers=market.seller.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["listing_id"] == listing_id
    listing = client.get(f"/listings/{listing_id}").json()
    assert (listing["status"], listing["void_reason"]) == ("cancelled", "cancelled")
    assert_error(
        client.post(f"/listings/{listing_id}/purchase", headers=market.buyer.headers),
        409,
        "listing_void",
    )
    assert_error(
        client.delete(f"/listings/{listing_id}", headers=market.seller.headers),
        409,
        "listing_not_open",
    )
    assert_error(
        client.post(
            "/listings",
            json={"item_id": item_id, "price_wei": "1000", "expiry": market.now() - 1},
            headers=market.seller.headers,
        ),
        422,
        "invalid_expiry",
    )
    # An authenticator key is not a seller's key.
    assert_error(
        client.post(
            "/listings",
            json={"item_id": item_id, "price_wei": "1000", "expiry": market.now() + DAY},
            headers=market.arbiter.headers,
        ),
        403,
        "forbidden",
    )


def test_cancel_unshipped_refunds_the_buyer(market: Market) -> None:
    item_id, sale_id = market.bought()
    buyer_credit = market.credits(market.buyer.address)
    # The buyer may only cancel once the seller has missed the shipping deadline.
    assert_error(
        market.client.post(f"/sales/{sale_id}/cancel", headers=market.buyer.headers),
        409,
        "deadline_not_reached",
    )
    assert_error(
        market.client.post(f"/sales/{sale_id}/cancel", headers=market.seller_b.headers),
        403,
        "not_party",
    )
    cancelled = market.client.post(f"/sales/{sale_id}/cancel", headers=market.seller.headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "refunded"
    assert market.sale(sale_id)["open"] is False
    assert market.credits(market.buyer.address) == buyer_credit + PRICE
    item = market.client.get(f"/items/{item_id}").json()
    assert item["owner"] == market.seller.address and item["locked"] is False


# ---------------------------------------------------------------------- disputes


def test_dispute_evidence_and_counterfeit_refund_ruling(market: Market) -> None:
    client = market.client
    item_id, sale_id = market.disputed()
    buyer_credit = market.credits(market.buyer.address)
    evidence = client.post(
        f"/disputes/{sale_id}/evidence",
        json={"evidence": "Bought from the brand's boutique, receipt attached"},
        headers=market.seller.headers,
    )
    assert evidence.status_code == 201, evidence.text
    assert_error(
        client.post(
            f"/disputes/{sale_id}/evidence",
            json={"evidence": "me too"},
            headers=market.seller_b.headers,
        ),
        403,
        "not_party",
    )
    ruling = {
        "ruling": "refund",
        "counterfeit": True,
        "ruling_evidence": {"decision": "counterfeit stitching", "by": "panel 7"},
    }
    assert_error(
        client.post(f"/disputes/{sale_id}/ruling", json=ruling, headers=market.seller_b.headers),
        403,
        "forbidden",
    )
    ruled = client.post(f"/disputes/{sale_id}/ruling", json=ruling, headers=market.arbiter.headers)
    assert ruled.status_code == 200, ruled.text
    assert ruled.json()["state"] == "refunded"
    assert market.credits(market.buyer.address) == buyer_credit + PRICE

    dispute = client.get(f"/disputes/{sale_id}").json()
    assert dispute["sale"]["state"] == "refunded"
    assert dispute["sale"]["dispute_reason"] == "counterfeit"
    kinds = [event["kind"] for event in dispute["events"]]
    assert kinds == [
        "dispute_opened",
        "evidence_submitted",
        "evidence_submitted",
        "sale_settled",
        "dispute_ruled",
    ]
    opened, by_buyer, by_seller = dispute["events"][:3]
    assert opened["actor"] == market.buyer.address and opened["data"]["reason"] == "counterfeit"
    assert by_buyer["data"]["evidence_uri"] == "ipfs://claim"
    assert by_seller["actor"] == market.seller.address
    assert dispute["events"][-1]["actor"] == market.arbiter.address
    assert dispute["events"][-1]["data"]["counterfeit"] is True

    # The verdict is on the passport, for every later buyer to see.
    item = client.get(f"/items/{item_id}").json()
    assert item["owner"] == market.seller.address and item["last_verdict"] == "counterfeit"
    history = client.get(f"/items/{item_id}/history").json()["events"]
    verdicts = [e for e in history if e["kind"] == "authenticated"]
    assert verdicts[-1]["data"]["verdict"] == "counterfeit"
    assert verdicts[-1]["actor"] == market.gateway.deployment.market


def test_an_arbiter_cannot_rule_on_its_own_sale_and_a_party_takes_the_default(
    market: Market,
) -> None:
    client = market.client
    # The arbiter's own account bought the item: it is a party.
    _, sale_id = market.disputed(buyer=market.arbiter)
    ruling = {"ruling": "release", "ruling_evidence": "no fault"}
    assert_error(
        client.post(f"/disputes/{sale_id}/ruling", json=ruling, headers=market.arbiter.headers),
        403,
        "arbiter_is_party",
    )
    # An arbiter key whose account was never vetted as an arbiter.
    unvetted = market.api.create_key("arbiter")
    assert_error(
        client.post(f"/disputes/{sale_id}/ruling", json=ruling, headers=unvetted.headers),
        403,
        "account_lacks_role",
    )
    assert_error(
        client.post(f"/disputes/{sale_id}/default", headers=market.seller.headers),
        409,
        "deadline_not_reached",
    )
    credit = market.credits(market.arbiter.address)
    market.travel(market.sale(sale_id)["deadline"] - market.now() + 60)
    assert_error(
        client.post(f"/disputes/{sale_id}/evidence", json={"evidence": "late"},
                    headers=market.seller.headers),
        409,
        "deadline_passed",
    )  # fmt: skip
    assert_error(
        client.post(f"/disputes/{sale_id}/default", headers=market.seller_b.headers),
        403,
        "not_party",
    )
    settled = client.post(f"/disputes/{sale_id}/default", headers=market.arbiter.headers)
    assert settled.status_code == 200, settled.text
    assert settled.json()["state"] == "refunded"
    assert market.credits(market.arbiter.address) == credit + PRICE
    kinds = [event["kind"] for event in client.get(f"/disputes/{sale_id}").json()["events"]]
    assert kinds == ["dispute_opened", "evidence_submitted", "sale_settled"]


def test_a_sale_never_disputed_has_no_dispute(market: Market) -> None:
    _, sale_id = market.bought()
    assert_error(market.client.get(f"/disputes/{sale_id}"), 404, "dispute_not_found")
    assert_error(
        market.client.post(
            "/disputes",
            json={"sale_id": sale_id, "reason": "not_received", "evidence": "nothing came"},
            headers=market.buyer.headers,
        ),
        409,
        "wrong_sale_state",
    )


# ---------------------------------------------------------------------- malformed input


@pytest.mark.parametrize(
    "path",
    [
        "/listings/abc",
        "/listings/0",
        "/listings/-1",
        "/listings/1.5",
        f"/listings/{2**256}",
        "/sales/abc",
        "/sales/0",
        "/disputes/0x1",
        "/accounts/0x1234/credits",
        "/accounts/not-an-address/credits",
        f"/accounts/0x{'0' * 40}/credits",
    ],
)
def test_malformed_ids_in_paths_are_400(market: Market, path: str) -> None:
    response = market.client.get(path)
    assert response.status_code == 400, response.text
    assert set(response.json()["error"]) == {"code", "message", "field"}


def test_unknown_ids_are_404(market: Market) -> None:
    assert_error(market.client.get("/listings/999999"), 404, "listing_not_found")
    assert_error(market.client.get("/sales/999999"), 404, "sale_not_found")
    assert_error(market.client.get("/disputes/999999"), 404, "sale_not_found")
    assert_error(
        market.client.post("/listings/999999/purchase", headers=market.buyer.headers),
        404,
        "listing_not_found",
    )
    assert_error(
        market.client.post("/sales/999999/finalize", headers=market.buyer.headers),
        404,
        "sale_not_found",
    )


@pytest.mark.parametrize(
    ("price", "code"),
    [
        ("01", "invalid_amount"),
        ("0", "invalid_amount"),
        (0, "invalid_amount"),
        (-5, "invalid_amount"),
        (1.5, "invalid_amount"),
        (True, "invalid_amount"),
        ("1e18", "invalid_amount"),
        (2**53, "invalid_amount"),  # past what JSON numbers hold exactly: send a string
        (2**96, "invalid_amount"),
        ("9" * 29, "invalid_amount"),
    ],
)
def test_bad_prices_are_refused(market: Market, price: Any, code: str) -> None:
    body = {"item_id": "0x" + "ab" * 32, "price_wei": price, "expiry": market.now() + DAY}
    assert_error(
        market.client.post("/listings", json=body, headers=market.seller.headers),
        422,
        code,
        field="price_wei",
    )


def test_bad_dispute_and_ruling_bodies_are_422(market: Market) -> None:
    client = market.client
    assert_error(
        client.post(
            "/disputes",
            json={"sale_id": 1, "reason": "none", "evidence": "x"},
            headers=market.buyer.headers,
        ),
        422,
        "invalid_choice",
        field="reason",
    )
    assert_error(
        client.post(
            "/disputes",
            json={"sale_id": "1", "reason": "other", "evidence": "x"},
            headers=market.buyer.headers,
        ),
        422,
        "invalid_type",
        field="sale_id",
    )
    assert_error(
        client.post(
            "/disputes/1/ruling",
            json={"ruling": "refund", "buyer_share_bps": 10_000, "ruling_evidence": "x"},
            headers=market.arbiter.headers,
        ),
        422,
        "out_of_range",
        field="buyer_share_bps",
    )
    assert_error(
        client.post(
            "/orders/check",
            json={"order": {"item_id": "0x" + "ab" * 32}, "signature": "0x00"},
        ),
        422,
        "missing_field",
    )


# ---------------------------------------------------------------------- no market


def test_a_deployment_without_a_market_answers_503(market: Market) -> None:
    gateway = market.gateway
    deployment, cached = gateway.deployment, dict(gateway._markets)
    gateway.deployment = dataclasses.replace(deployment, market=None)
    gateway._markets.clear()
    try:
        assert_error(market.client.get("/market"), 503, "configuration_error")
        assert_error(market.client.get("/sales/1"), 503, "configuration_error")
        assert_error(
            market.client.post("/withdrawals", headers=market.seller.headers),
            503,
            "configuration_error",
        )
    finally:
        gateway.deployment = deployment
        gateway._markets.update(cached)


# ---------------------------------------------------------------------- more paths


@pytest.mark.parametrize(
    ("api_enum", "ledger_enum"),
    [(DisputeReasonName, DisputeReason), (RulingName, Ruling)],
)
def test_market_enum_names_mirror_the_ledgers(
    api_enum: type[Enum], ledger_enum: type[Enum]
) -> None:
    assert {m.name for m in api_enum} == {m.name for m in ledger_enum} - {"NONE"}
    assert all(m.value == m.name.lower() for m in api_enum)


def test_purchase_without_waiting_answers_202_then_the_sale(market: Market) -> None:
    _, listing_id = market.listed()
    accepted = market.client.post(
        f"/listings/{listing_id}/purchase?wait=false", headers=market.buyer.headers
    )
    assert accepted.status_code == 202, accepted.text
    url = accepted.json()["status_url"]
    deadline = time.monotonic() + 10
    while (status := market.client.get(url).json())["status"] == "pending":
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    assert status["status"] == "mined", status
    assert status["result"]["listing_id"] == listing_id
    assert market.sale(status["result"]["sale_id"])["state"] == "paid"


def test_partial_refund_ruling_splits_the_price_and_delivers_the_item(market: Market) -> None:
    item_id, sale_id = market.disputed()
    buyer_credit = market.credits(market.buyer.address)
    seller_credit = market.credits(market.seller.address)
    # The share must be consistent with the ruling (the contract's InvalidRuling).
    assert_error(
        market.client.post(
            f"/disputes/{sale_id}/ruling",
            json={"ruling": "partial_refund", "ruling_evidence": "scuffed"},
            headers=market.arbiter.headers,
        ),
        422,
        "invalid_ruling",
    )
    ruled = market.client.post(
        f"/disputes/{sale_id}/ruling",
        json={"ruling": "partial_refund", "buyer_share_bps": 2_500, "ruling_evidence": "scuffed"},
        headers=market.arbiter.headers,
    )
    assert ruled.status_code == 200, ruled.text
    assert ruled.json()["state"] == "partially_refunded"
    refund = PRICE * 2_500 // 10_000
    to_seller = PRICE - refund
    assert market.credits(market.buyer.address) == buyer_credit + refund
    assert (
        market.credits(market.seller.address)
        == seller_credit + to_seller - to_seller * FEE_BPS // 10_000
    )
    assert market.client.get(f"/items/{item_id}").json()["owner"] == market.buyer.address


def test_anyone_finalizes_a_shipped_sale_after_the_delivery_deadline(market: Market) -> None:
    item_id, sale_id = market.shipped()
    assert_error(
        market.client.post(f"/sales/{sale_id}/finalize", headers=market.seller_b.headers),
        409,
        "deadline_not_reached",
    )
    market.travel(market.sale(sale_id)["deadline"] - market.now() + 60)
    assert_error(
        market.client.post(
            "/disputes",
            json={"sale_id": sale_id, "reason": "not_received", "evidence": "too late"},
            headers=market.buyer.headers,
        ),
        409,
        "deadline_passed",
    )
    # A third party with a key (a keeper) settles it; it was neither buyer nor seller.
    finalized = market.client.post(f"/sales/{sale_id}/finalize", headers=market.seller_b.headers)
    assert finalized.status_code == 200, finalized.text
    assert finalized.json()["state"] == "completed"
    assert market.client.get(f"/items/{item_id}").json()["owner"] == market.buyer.address
