"""``?wait=false`` (202 and a status URL) and ``GET /tx/{hash}``."""

from __future__ import annotations

import time
from typing import Any

from tests.api.conftest import Api, assert_error


def _poll(api: Api, url: str, *, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = api.client.get(url)
        assert status.status_code == 200, status.text
        body: dict[str, Any] = status.json()
        if body["status"] != "pending" or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def test_no_wait_returns_202_then_the_result(api: Api) -> None:
    body = api.new_item()
    accepted = api.client.post("/items?wait=false", json=body, headers=api.merchant.headers)
    assert accepted.status_code == 202, accepted.text
    tx_hash = accepted.json()["tx_hash"]
    assert accepted.json()["status_url"] == f"/tx/{tx_hash}"
    assert accepted.headers["location"] == f"/tx/{tx_hash}"
    final = _poll(api, f"/tx/{tx_hash}")
    assert final["status"] == "mined"
    assert final["operation"] == "POST /items"
    assert final["result"]["tx_hash"] == tx_hash
    assert final["result"]["item_id"].startswith("0x")
    assert final["block_number"] == final["result"]["block_number"]
    assert api.client.get(f"/items/{final['result']['item_id']}").status_code == 200


def test_no_wait_still_fails_at_once_when_the_chain_would_refuse(api: Api) -> None:
    body = api.new_item()
    api.register(api.merchant, **body)
    refused = api.client.post("/items?wait=false", json=body, headers=api.merchant.headers)
    assert_error(refused, 409, "item_already_registered")


def test_status_of_any_transaction(api: Api) -> None:
    registered = api.register(api.merchant)
    status = api.client.get(f"/tx/{registered['tx_hash']}").json()
    assert status["status"] == "mined" and status["block_number"] == registered["block_number"]
    assert status["result"] is None
    assert_error(api.client.get("/tx/0x" + "12" * 32), 404, "transaction_not_found")
    assert_error(api.client.get("/tx/0x12"), 400, "invalid_tx_hash", "tx_hash")
