"""Fixtures for gateway tests: one app on the embedded chain for the whole session.

Starting an app (new chain, deployment, key store) takes about a second, so most tests share
``api`` and keep out of each other's way by registering items with unique serials
(`Api.new_item`). Tests that change an account's standing (suspend, revoke) use accounts they
create themselves. Tests about start-up itself build their own app with `make_app`.

Keys in the shared app: ``admin`` (bootstrap key from admin.key), ``merchant`` (a new keystore
account), ``merchant_b`` (dev account ``merchant`` bound by address), ``brand`` (dev ``brand``),
``authenticator`` (dev ``authenticator``); all vetted on chain for their role.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from tests.conftest import DevAccounts

FAST_KDF = 2**10  # scrypt work factor for test keystores (default 2**18 costs ~0.7 s a key)


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    return Settings(chain="embedded", data_dir=data_dir, keystore_work_factor=FAST_KDF, **overrides)


@dataclass
class Key:
    id: str
    secret: str
    address: str
    role: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


@dataclass
class Api:
    client: TestClient
    data_dir: Path
    admin: Key
    merchant: Key
    merchant_b: Key
    brand: Key
    authenticator: Key

    _serials = itertools.count()

    def create_key(self, role: str, *, name: str | None = None, address: str | None = None) -> Key:
        body: dict[str, Any] = {"role": role, "name": name or f"{role} {uuid.uuid4().hex[:6]}"}
        if address is not None:
            body["address"] = address
        response = self.client.post("/keys", json=body, headers=self.admin.headers)
        assert response.status_code == 201, response.text
        data = response.json()
        return Key(id=data["id"], secret=data["api_key"], address=data["address"], role=role)

    def vet(self, key: Key, roles: list[str] | None = None) -> dict[str, Any]:
        response = self.client.post(
            "/merchants",
            json={
                "address": key.address,
                "name": f"vetted {key.id}",
                "credentials": {"registry": "FR-RCS", "number": key.id},
                "roles": roles or [key.role],
            },
            headers=self.admin.headers,
        )
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def vetted_key(self, role: str = "merchant", *, address: str | None = None) -> Key:
        key = self.create_key(role, address=address)
        self.vet(key)
        return key

    @staticmethod
    def new_item(**overrides: Any) -> dict[str, Any]:
        serial = f"SN-{next(Api._serials)}-{uuid.uuid4().hex[:8]}"
        body: dict[str, Any] = {
            "brand": "Maison Test",
            "serial": serial,
            "metadata": {"model": "Weekender 45", "colour": "tan", "serial": serial},
        }
        body.update(overrides)
        return body

    def register(self, key: Key, **overrides: Any) -> dict[str, Any]:
        response = self.client.post("/items", json=self.new_item(**overrides), headers=key.headers)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture(scope="session")
def make_app() -> Iterator[Any]:
    """``make_app(data_dir, **settings)`` → an entered TestClient (closed at session end)."""
    opened: list[TestClient] = []

    def factory(data_dir: Path, **overrides: Any) -> TestClient:
        client = TestClient(create_app(make_settings(data_dir, **overrides)))
        client.__enter__()
        opened.append(client)
        return client

    yield factory
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory, accounts: DevAccounts) -> Iterator[Api]:
    data_dir = tmp_path_factory.mktemp("gateway")
    with TestClient(create_app(make_settings(data_dir))) as client:
        admin_secret = (data_dir / "admin.key").read_text().strip()
        admin = Key(id="admin", secret=admin_secret, address=accounts.admin.address, role="admin")
        api = Api(client, data_dir, admin, *(None,) * 4)  # type: ignore[arg-type]
        api.merchant = api.vetted_key("merchant")
        api.merchant_b = api.vetted_key("merchant", address=accounts.merchant.address)
        api.brand = api.vetted_key("brand", address=accounts.brand.address)
        api.authenticator = api.vetted_key("authenticator", address=accounts.authenticator.address)
        yield api


def assert_error(response: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    """Check the status and the error body's exact shape and code (and field, if given)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "field"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if field is not None:
        assert body["error"]["field"] == field, body
    error: dict[str, Any] = body["error"]
    return error
