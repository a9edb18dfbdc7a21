"""Authentication and the one rule that matters most: a key acts only as its own account."""

from __future__ import annotations

from tests.api.conftest import Api, assert_error
from tests.conftest import DevAccounts


def test_missing_malformed_and_wrong_keys_are_401(api: Api) -> None:
    body = api.new_item()
    for headers in (
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer plk_not-a-real-key"},
        {"Authorization": f"Bearer {api.merchant.secret}x"},
    ):
        response = api.client.post("/items", json=body, headers=headers)
        assert_error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"


def test_revoked_key_is_401(api: Api) -> None:
    key = api.vetted_key("merchant")
    api.client.delete(f"/keys/{key.id}", headers=api.admin.headers)
    assert_error(api.client.post("/items", json=api.new_item(), headers=key.headers), 401,
                 "unauthorized")  # fmt: skip


def test_merchant_cannot_act_on_another_merchants_item(api: Api, accounts: DevAccounts) -> None:
    item = api.register(api.merchant)["item_id"]
    other = api.merchant_b.headers
    assert_error(
        api.client.post(f"/items/{item}/transfer", json={"to": accounts.owner.address},
                        headers=other),
        403,
        "not_item_owner",
    )  # fmt: skip
    assert_error(
        api.client.post(f"/items/{item}/retire", json={"kind": "destroyed", "evidence": "x"},
                        headers=other),
        403,
        "not_owner_nor_admin",
    )  # fmt: skip
    assert_error(
        api.client.post(f"/items/{item}/flags", json={"status": "stolen", "report": "x"},
                        headers=other),
        403,
        "not_owner_nor_admin",
    )  # fmt: skip
    state = api.client.get(f"/items/{item}").json()
    assert state["owner"] == api.merchant.address and state["status"] == "active"


def test_roles_gate_routes_before_the_chain(api: Api) -> None:
    assert_error(api.client.post("/items", json=api.new_item(), headers=api.authenticator.headers),
                 403, "forbidden")  # fmt: skip
    assert_error(api.client.post("/items", json=api.new_item(), headers=api.admin.headers),
                 403, "forbidden")  # fmt: skip


def test_unvetted_merchant_key_is_refused_by_the_chain(api: Api) -> None:
    key = api.create_key("merchant")  # issued, but never vetted on chain
    assert_error(api.client.post("/items", json=api.new_item(), headers=key.headers), 403,
                 "account_lacks_role")  # fmt: skip


def test_public_reads_need_no_key(api: Api) -> None:
    item = api.register(api.merchant)["item_id"]
    assert api.client.get(f"/items/{item}").status_code == 200
    assert api.client.get(f"/items/{item}/history").status_code == 200
    assert api.client.get(f"/merchants/{api.merchant.address}").status_code == 200
