"""``Idempotency-Key``: a retried write returns the first result and sends nothing new."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from ledger.idempotency import (
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
    IdempotencyStore,
    StoredResponse,
)
from ledger.localdb import LocalDatabase
from tests.api.conftest import Api, assert_error


def _headers(api: Api, key: str) -> dict[str, str]:
    return {**api.merchant.headers, "Idempotency-Key": key}


def test_retry_returns_the_first_result(api: Api) -> None:
    key = str(uuid.uuid4())
    body = api.new_item()
    first = api.client.post("/items", json=body, headers=_headers(api, key))
    assert first.status_code == 201
    retry = api.client.post("/items", json=body, headers=_headers(api, key))
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    history = api.client.get(f"/items/{first.json()['item_id']}/history").json()["events"]
    assert [e["tx_hash"] for e in history] == [first.json()["tx_hash"]]


def test_same_key_with_a_different_body_is_refused(api: Api) -> None:
    key = str(uuid.uuid4())
    assert api.client.post("/items", json=api.new_item(), headers=_headers(api, key)).status_code \
        == 201  # fmt: skip
    other = api.client.post("/items", json=api.new_item(), headers=_headers(api, key))
    assert_error(other, 422, "idempotency_key_reused", "Idempotency-Key")
    # ...and on another path too.
    item = "0x" + "ab" * 32
    moved = api.client.post(f"/items/{item}/transfer", json={"to": api.merchant_b.address},
                            headers=_headers(api, key))  # fmt: skip
    assert_error(moved, 422, "idempotency_key_reused")


def test_keys_are_scoped_per_api_key(api: Api) -> None:
    key = str(uuid.uuid4())
    mine = api.client.post("/items", json=api.new_item(), headers=_headers(api, key))
    theirs = api.client.post(
        "/items", json=api.new_item(), headers={**api.merchant_b.headers, "Idempotency-Key": key}
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["item_id"] != theirs.json()["item_id"]


def test_client_errors_replay_too(api: Api) -> None:
    body = api.new_item()
    api.register(api.merchant, **body)
    key = str(uuid.uuid4())
    first = api.client.post("/items", json=body, headers=_headers(api, key))
    assert_error(first, 409, "item_already_registered")
    retry = api.client.post("/items", json=body, headers=_headers(api, key))
    assert retry.json() == first.json() and retry.status_code == 409


def test_store_claims_and_releases(tmp_path: Path) -> None:
    store = IdempotencyStore(LocalDatabase.open(tmp_path))
    assert store.begin(scope="a", key="k", fingerprint="f1") is None
    with pytest.raises(IdempotencyKeyInProgress):
        store.begin(scope="a", key="k", fingerprint="f1")
    with pytest.raises(IdempotencyKeyReused):
        store.begin(scope="a", key="k", fingerprint="f2")
    store.complete(scope="a", key="k", response=StoredResponse(201, {"ok": True}))
    assert store.begin(scope="a", key="k", fingerprint="f1") == StoredResponse(201, {"ok": True})
    assert store.begin(scope="a", key="other", fingerprint="f1") is None
    store.abandon(scope="a", key="other")
    assert store.begin(scope="a", key="other", fingerprint="f3") is None
    assert store.release_unfinished() == 1
