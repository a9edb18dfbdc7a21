"""Vetting through the API: vet, read, suspend, reinstate, revoke."""

from __future__ import annotations

from ledger.hashing import hash_document
from tests.api.conftest import Api, assert_error


def test_vet_then_read_publicly(api: Api) -> None:
    key = api.create_key("merchant")
    credentials = {"registry": "FR-RCS", "number": "123 456 789", "checked": ["kyc"]}
    response = api.client.post(
        "/merchants",
        json={"address": key.address, "name": "Second Life", "credentials": credentials},
        headers=api.admin.headers,
    )
    assert response.status_code == 201, response.text
    written = response.json()
    assert written["tx_hash"].startswith("0x") and written["block_number"] > 0
    record = api.client.get(f"/merchants/{key.address.lower()}").json()
    assert record == written["merchant"]
    assert record["roles"] == ["merchant"] and record["status"] == "active"
    assert record["name"] == "Second Life"
    # Only the dossier's hash is on chain.
    assert record["credential_hash"] == "0x" + hash_document(credentials).hex()


def test_vet_with_several_roles(api: Api) -> None:
    key = api.create_key("brand")
    record = api.vet(key, roles=["brand", "merchant", "brand"])["merchant"]
    assert record["roles"] == ["merchant", "brand"]


def test_vetting_an_active_account_again_conflicts(api: Api) -> None:
    response = api.client.post(
        "/merchants",
        json={"address": api.merchant.address, "name": "Again", "credentials": {"a": 1},
              "roles": ["authenticator"]},
        headers=api.admin.headers,
    )  # fmt: skip
    assert_error(response, 409, "account_already_active")


def test_suspension_bars_writes_until_reinstated(api: Api) -> None:
    key = api.vetted_key("merchant")
    suspended = api.client.post(
        f"/merchants/{key.address}/suspend", json={"reason": {"why": "late"}},
        headers=api.admin.headers,
    )  # fmt: skip
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["merchant"]["status"] == "suspended"
    refused = api.client.post("/items", json=api.new_item(), headers=key.headers)
    assert_error(refused, 403, "account_not_active")
    assert_error(
        api.client.post(f"/merchants/{key.address}/suspend", json={"reason": "again"},
                        headers=api.admin.headers),
        409,
        "invalid_status_transition",
    )  # fmt: skip
    reinstated = api.client.post(
        f"/merchants/{key.address}/reinstate", json={"reason": "fixed"}, headers=api.admin.headers
    )
    assert reinstated.json()["merchant"]["status"] == "active"
    api.register(key)
    revoked = api.client.post(
        f"/merchants/{key.address}/revoke", json={"reason": "fraud"}, headers=api.admin.headers
    )
    assert revoked.json()["merchant"]["status"] == "revoked"
    assert_error(
        api.client.post("/items", json=api.new_item(), headers=key.headers),
        403,
        "account_not_active",
    )


def test_unknown_and_malformed_accounts(api: Api) -> None:
    assert_error(api.client.get("/merchants/0x" + "34" * 20), 404, "account_not_vetted")
    assert_error(api.client.get("/merchants/0x1234"), 400, "invalid_address", "address")
    assert_error(
        api.client.post(
            "/merchants/0x" + "34" * 20 + "/suspend", json={"reason": "x"},
            headers=api.admin.headers,
        ),
        404,
        "account_not_vetted",
    )  # fmt: skip


def test_merchant_routes_need_the_admin(api: Api) -> None:
    body = {"address": api.merchant.address, "name": "X", "credentials": {"a": 1}}
    assert_error(api.client.post("/merchants", json=body), 401, "unauthorized")
    assert_error(api.client.post("/merchants", json=body, headers=api.merchant.headers), 403,
                 "forbidden")  # fmt: skip
    assert_error(
        api.client.post(f"/merchants/{api.merchant_b.address}/suspend", json={"reason": "x"},
                        headers=api.merchant.headers),
        403,
        "forbidden",
    )  # fmt: skip
