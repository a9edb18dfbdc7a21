"""The gateway against a real anvil node and a real uvicorn server.

* restart: everything written before a full stop (gateway and anvil, SIGTERM) is there after a
  start on the same data directory and anvil state file: deployment, items, histories, keys
  (including keystore accounts), revocations and idempotent responses;
* concurrency: 200 registrations from 16 client threads all mine, with no nonce errors, and the
  chain holds exactly those items with exactly those histories.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from web3 import HTTPProvider, Web3

from api.main import create_app
from api.settings import Settings
from ledger.artifacts import load_artifact
from ledger.node import AnvilNode, AnvilNotFoundError, find_anvil

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

FAST_KDF = 2**10


@pytest.fixture(autouse=True)
def _needs_anvil() -> None:
    try:
        find_anvil()
    except AnvilNotFoundError as exc:
        pytest.skip(str(exc))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """Run the gateway with uvicorn in a thread; yields its base URL."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the gateway failed to start (see the log above)")
        if time.monotonic() > deadline:
            raise TimeoutError("the gateway did not start within 60 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        assert not thread.is_alive(), "the gateway did not shut down"


def _settings(node: AnvilNode, data_dir: Path) -> Settings:
    return Settings(chain=node.rpc_url, data_dir=data_dir, keystore_work_factor=FAST_KDF)


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _new_key(http: httpx.Client, admin: dict[str, str], role: str = "merchant") -> dict[str, Any]:
    created = http.post("/keys", json={"role": role, "name": f"{role} {uuid.uuid4().hex[:6]}"},
                        headers=admin)  # fmt: skip
    assert created.status_code == 201, created.text
    key: dict[str, Any] = created.json()
    vetted = http.post(
        "/merchants",
        json={"address": key["address"], "name": key["name"], "credentials": {"id": key["id"]},
              "roles": [role]},
        headers=admin,
    )  # fmt: skip
    assert vetted.status_code == 201, vetted.text
    return key


def _item(serial: str) -> dict[str, Any]:
    return {"brand": "Maison Anvil", "serial": serial, "metadata": {"serial": serial, "v": 1}}


def test_state_survives_a_full_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    state = tmp_path / "anvil" / "state.json"
    idem = {"Idempotency-Key": "restart-test-1"}

    with (
        AnvilNode(state_path=state) as node,
        serve(_settings(node, data_dir)) as url,
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        admin = _bearer((data_dir / "admin.key").read_text().strip())
        health = http.get("/health").json()
        merchant = _new_key(http, admin)
        revoked = _new_key(http, admin)
        assert http.delete(f"/keys/{revoked['id']}", headers=admin).status_code == 200
        headers = _bearer(merchant["api_key"])
        first = http.post("/items", json=_item("R-1"), headers=headers | idem)
        assert first.status_code == 201, first.text
        moved = http.post(
            f"/items/{first.json()['item_id']}/services",
            json={"kind": "repair", "evidence": "stitching"},
            headers=headers,
        )
        assert moved.status_code == 201, moved.text
        history_before = http.get(f"/items/{first.json()['item_id']}/history").json()
    assert state.is_file() and state.stat().st_size > 0  # anvil dumped its state on SIGTERM

    with (
        AnvilNode(state_path=state) as node,
        serve(_settings(node, data_dir)) as url,
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        again = http.get("/health").json()
        assert again["contracts"] == health["contracts"]  # reused, not redeployed
        assert again["deployment_block"] == health["deployment_block"]
        item_id = first.json()["item_id"]
        assert http.get(f"/items/{item_id}").json()["owner"] == merchant["address"]
        assert http.get(f"/items/{item_id}/history").json() == history_before
        # The idempotent response was stored on disk: the retry sends nothing.
        retry = http.post("/items", json=_item("R-1"), headers=headers | idem)
        assert retry.status_code == 201 and retry.json() == first.json()
        # The merchant's keystore account still signs; the revoked key stays revoked.
        second = http.post("/items", json=_item("R-2"), headers=headers)
        assert second.status_code == 201, second.text
        refused = http.post("/items", json=_item("R-3"),
                            headers=_bearer(revoked["api_key"]))  # fmt: skip
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"


def test_concurrent_registrations_all_mine_in_order(tmp_path: Path) -> None:
    total, threads = 200, 16
    with AnvilNode() as node, serve(_settings(node, tmp_path)) as url:
        with httpx.Client(base_url=url, timeout=120) as http:
            admin = _bearer((tmp_path / "admin.key").read_text().strip())
            merchants = [_new_key(http, admin), _new_key(http, admin)]
        run = uuid.uuid4().hex[:8]

        def register(n: int) -> httpx.Response:
            merchant = merchants[n % len(merchants)]
            with httpx.Client(base_url=url, timeout=120) as client:
                return client.post(
                    "/items", json=_item(f"C-{run}-{n}"), headers=_bearer(merchant["api_key"])
                )

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            responses = list(pool.map(register, range(total)))
        elapsed = time.monotonic() - started
        failures = [r.text for r in responses if r.status_code != 201]
        assert not failures, failures[:5]
        results = [r.json() for r in responses]
        assert len({r["item_id"] for r in results}) == total
        assert len({r["tx_hash"] for r in results}) == total

        w3 = Web3(HTTPProvider(node.rpc_url))
        passport_address = httpx.get(f"{url}/health").json()["contracts"]["passport"]
        passport = w3.eth.contract(
            address=passport_address, abi=load_artifact("ItemPassport")["abi"]
        )
        for merchant in merchants:
            # Every registration is one transaction from the merchant's own account, with no
            # nonce skipped or reused.
            assert w3.eth.get_transaction_count(merchant["address"]) == total // len(merchants)
            assert passport.functions.balanceOf(merchant["address"]).call() == total // 2
        with httpx.Client(base_url=url, timeout=60) as http:
            for n, result in enumerate(results):
                history = http.get(f"/items/{result['item_id']}/history").json()["events"]
                assert [(e["kind"], e["tx_hash"]) for e in history] == [
                    ("registered", result["tx_hash"])
                ]
                assert history[0]["actor"] == merchants[n % len(merchants)]["address"]
        print(f"{total} registrations from {threads} threads in {elapsed:.1f}s")


def test_node_going_away_is_503_not_500(tmp_path: Path) -> None:
    node = AnvilNode().start()
    try:
        with (
            serve(_settings(node, tmp_path)) as url,
            httpx.Client(base_url=url, timeout=120) as http,
        ):
            admin = _bearer((tmp_path / "admin.key").read_text().strip())
            merchant = _new_key(http, admin)
            item = http.post("/items", json=_item("G-1"), headers=_bearer(merchant["api_key"]))
            assert item.status_code == 201, item.text
            health = http.get("/health").json()
            assert health["chain"] == f"http://127.0.0.1:{node.port}"
            node.stop()
            for response in (
                http.get("/health"),
                http.get(f"/items/{item.json()['item_id']}"),
                http.get(f"/items/{item.json()['item_id']}/history"),
                http.post("/items", json=_item("G-2"), headers=_bearer(merchant["api_key"])),
            ):
                assert response.status_code == 503, response.text
                assert response.json()["error"]["code"] == "chain_unavailable"
    finally:
        node.stop()
