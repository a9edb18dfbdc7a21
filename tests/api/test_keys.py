"""API keys: issuing, listing, revoking, storage (hashes only) and the bootstrap admin key."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account as EthAccount

from ledger.keys import KeyRole, KeyStore, hash_api_key
from ledger.localdb import LocalDatabase
from tests.api.conftest import Api, assert_error
from tests.conftest import DevAccounts


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_start_writes_private_admin_key_and_keystore_secret(api: Api) -> None:
    assert _mode(api.data_dir / "admin.key") == 0o600
    assert _mode(api.data_dir / "keystore.secret") == 0o600
    assert _mode(api.data_dir / "gateway.db") == 0o600
    assert api.admin.secret.startswith("plk_")


def test_new_key_gets_a_funded_account_in_an_encrypted_keystore(api: Api) -> None:
    response = api.client.post(
        "/keys", json={"role": "merchant", "name": "Fresh Resale"}, headers=api.admin.headers
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["account_created"] is True
    assert body["funded_wei"] == 10**18 and body["funding_tx_hash"].startswith("0x")
    assert body["role"] == "merchant" and body["active"] is True
    keystore = api.data_dir / "keystore" / f"{body['address']}.json"
    assert _mode(keystore) == 0o600
    document = json.loads(keystore.read_text())
    assert document["crypto"]["kdf"] == "scrypt"
    secret = (api.data_dir / "keystore.secret").read_text().strip()
    key = EthAccount.decrypt(document, secret)
    assert EthAccount.from_key(key).address == body["address"]


def test_secrets_are_shown_once_and_stored_only_as_hashes(api: Api) -> None:
    key = api.create_key("merchant")
    listing = api.client.get("/keys", headers=api.admin.headers)
    assert listing.status_code == 200
    assert key.secret not in listing.text
    assert all("api_key" not in entry for entry in listing.json()["keys"])
    assert key.id in {entry["id"] for entry in listing.json()["keys"]}
    database = b"".join(p.read_bytes() for p in api.data_dir.glob("gateway.db*"))
    assert key.secret.encode() not in database
    assert hash_api_key(key.secret).encode() in database


def test_revoked_key_is_refused_at_once(api: Api) -> None:
    key = api.vetted_key("merchant")
    api.register(key)
    revoked = api.client.delete(f"/keys/{key.id}", headers=api.admin.headers)
    assert revoked.status_code == 200
    assert revoked.json()["active"] is False and revoked.json()["revoked_at"] is not None
    assert_error(
        api.client.post("/items", json=api.new_item(), headers=key.headers), 401, "unauthorized"
    )
    again = api.client.delete(f"/keys/{key.id}", headers=api.admin.headers)
    assert again.status_code == 200 and again.json() == revoked.json()
    active = api.client.get("/keys?include_revoked=false", headers=api.admin.headers).json()
    assert key.id not in {entry["id"] for entry in active["keys"]}


def test_revoke_unknown_key_and_bootstrap_key(api: Api) -> None:
    assert_error(api.client.delete("/keys/key_nope", headers=api.admin.headers), 404,
                 "key_not_found")  # fmt: skip
    assert_error(
        api.client.delete("/keys/admin", headers=api.admin.headers),
        409,
        "bootstrap_key_not_revocable",
    )


def test_only_admin_keys_manage_keys(api: Api) -> None:
    assert_error(api.client.get("/keys"), 401, "unauthorized")
    assert_error(api.client.get("/keys", headers=api.merchant.headers), 403, "forbidden")
    assert_error(
        api.client.post("/keys", json={"role": "admin", "name": "x"}, headers=api.merchant.headers),
        403,
        "forbidden",
    )


def test_key_bound_to_a_dev_account_creates_no_account(api: Api, accounts: DevAccounts) -> None:
    response = api.client.post(
        "/keys",
        json={"role": "merchant", "name": "Bound", "address": accounts.arbiter.address},
        headers=api.admin.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["account_created"] is False
    assert response.json()["address"] == accounts.arbiter.address


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"role": "merchant", "name": "X", "address": "0x" + "12" * 20}, "account_not_signable"),
        ({"role": "admin", "name": "X", "address": "0x" + "12" * 20}, "invalid_admin_address"),
        ({"role": "merchant", "name": "X", "address": "0xnope"}, "invalid_address"),
    ],
)
def test_key_address_must_be_one_the_gateway_can_sign_for(
    api: Api, body: dict[str, Any], code: str
) -> None:
    response = api.client.post("/keys", json=body, headers=api.admin.headers)
    assert_error(response, 422, code, "address")


def test_admin_and_faucet_accounts_cannot_back_other_keys(api: Api, accounts: DevAccounts) -> None:
    for address in (accounts.admin.address, accounts.spare.address):  # spare: the faucet
        response = api.client.post(
            "/keys",
            json={"role": "merchant", "name": "X", "address": address},
            headers=api.admin.headers,
        )
        assert_error(response, 422, "account_reserved", "address")


def test_extra_admin_key_maps_to_the_admin(api: Api) -> None:
    key = api.create_key("admin")
    assert key.address == api.admin.address
    assert api.client.get("/keys", headers=key.headers).status_code == 200


def test_configured_admin_key_is_used_and_not_written(make_app: Any, tmp_path: Path) -> None:
    secret = "configured-admin-key-0123456789"
    client = make_app(tmp_path, admin_api_key=secret)
    assert not (tmp_path / "admin.key").exists()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/keys", headers=headers).status_code == 200


def test_keystore_library(tmp_path: Path) -> None:
    store = KeyStore(LocalDatabase.open(tmp_path))
    key, secret = store.create(role=KeyRole.BRAND, name=" Maison ", address="0x" + "ab" * 20)
    assert key.name == "Maison" and key.active
    assert store.authenticate(secret) == key
    assert store.authenticate(secret + "x") is None
    assert store.authenticate("") is None
    assert [k.id for k in store.list()] == [key.id]
    revoked = store.revoke(key.id)
    assert not revoked.active
    assert store.authenticate(secret) is None
    assert store.list(include_revoked=False) == []
    assert "secret" not in repr(key)
