"""``GET /items/{id}``, ``/items/lookup`` and ``/items/{id}/history`` are served from the event
index, and answer exactly what the chain-served path answers: the expected bodies are the chain
client's reads (`ProvenanceClient.item`, `current_metadata_hash`, `history`) through the same view
functions. When the index is gone or cannot catch up, the chain answers instead: never a stale
body, never a 404 for an item the chain knows; an unknown item is 404 ``item_not_registered``, as
from the chain.

The module runs its own gateway (its index is broken on purpose at the end) and drives the chain
with library clients of the dev accounts, so the gateway sends nothing on their behalf.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.dossier import load_dossier
from api.schemas.items import HistoryView
from api.state import Gateway
from api.views import event_view, hex32, item_view
from ledger.client import ProvenanceClient
from ledger.hashing import item_id as label_item_id
from ledger.index_store import IndexReader
from ledger.reads import ItemReads
from ledger.types import ItemId
from tests.api.conftest import assert_error
from tests.conftest import DevAccounts
from tests.ledger.test_index_reads import ITEM_NAMES, build_histories


@dataclass
class World:
    client: TestClient
    gateway: Gateway
    items: dict[str, ItemId]
    accounts: DevAccounts


def _chain_item(gateway: Gateway, item: ItemId) -> dict[str, Any]:
    reader = gateway.reader
    return item_view(reader.item(item), reader.current_metadata_hash(item)).model_dump(mode="json")


def _chain_history(gateway: Gateway, item: ItemId) -> dict[str, Any]:
    events = [event_view(e) for e in gateway.reader.history(item)]
    return HistoryView(item_id=hex32(item), events=events).model_dump(mode="json")


@pytest.fixture(scope="module")
def world(
    make_app: Callable[..., TestClient],
    tmp_path_factory: pytest.TempPathFactory,
    accounts: DevAccounts,
) -> World:
    client = make_app(tmp_path_factory.mktemp("index-served"))
    gateway: Gateway = client.app.state.gateway  # type: ignore[attr-defined]
    items = build_histories(gateway.connection.w3, gateway.deployment, accounts)
    return World(client, gateway, items, accounts)


@pytest.fixture(scope="module")
def expected(world: World) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """The chain-served bodies of each item: (GET /items/{id}, GET /items/{id}/history)."""
    return {
        name: (_chain_item(world.gateway, item), _chain_history(world.gateway, item))
        for name, item in world.items.items()
    }


def _get(world: World, path: str, **params: Any) -> dict[str, Any]:
    response = world.client.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("name", ITEM_NAMES)
def test_index_served_item_and_history_equal_the_chain_served_ones(
    world: World, expected: dict[str, tuple[dict[str, Any], dict[str, Any]]], name: str
) -> None:
    assert world.gateway.fresh_index() is world.gateway.index_reader  # the index path is taken
    item_hex = hex32(world.items[name])
    item_body, history_body = expected[name]
    assert _get(world, f"/items/{item_hex}") == item_body
    assert _get(world, f"/items/{item_hex.upper().replace('0X', '0x')}") == item_body
    assert _get(world, f"/items/{item_hex}/history") == history_body


@pytest.mark.parametrize(("name", "serial"), [("rich", "IDX-RICH"), ("successor", "IDX-SUCC")])
def test_lookup_by_label_is_served_like_the_item(
    world: World,
    expected: dict[str, tuple[dict[str, Any], dict[str, Any]]],
    name: str,
    serial: str,
) -> None:
    body = _get(world, "/items/lookup", brand="  maison test ", serial=serial.lower())
    assert body == expected[name][0]


def test_an_unknown_item_is_item_not_registered_from_the_index_too(world: World) -> None:
    assert world.gateway.fresh_index() is not None
    unknown = hex32(label_item_id(brand="Maison Test", serial="IDX-NEVER"))
    for path in (f"/items/{unknown}", f"/items/{unknown}/history"):
        assert_error(world.client.get(path), 404, "item_not_registered")
    response = world.client.get("/items/lookup", params={"brand": "Maison Test", "serial": "NO"})
    assert_error(response, 404, "item_not_registered")


def test_a_write_that_returned_is_read_back_at_once(world: World) -> None:
    owner = ProvenanceClient(
        w3=world.gateway.connection.w3,
        deployment=world.gateway.deployment,
        account=world.accounts.owner,
    )
    item = world.items["successor"]
    owner.transfer(item_id=item, to=world.accounts.spare.address)
    body = _get(world, f"/items/{hex32(item)}")
    assert body["owner"] == world.accounts.spare.address
    assert body == _chain_item(world.gateway, item)
    history = _get(world, f"/items/{hex32(item)}/history")
    assert history["events"][-1]["kind"] == "transferred"
    assert history == _chain_history(world.gateway, item)


def test_without_an_index_the_chain_answers_the_same(
    world: World, expected: dict[str, tuple[dict[str, Any], dict[str, Any]]]
) -> None:
    reader, world.gateway.index_reader = world.gateway.index_reader, None
    try:
        item_hex = hex32(world.items["disputed"])
        assert _get(world, f"/items/{item_hex}") == expected["disputed"][0]
        assert _get(world, f"/items/{item_hex}/history") == expected["disputed"][1]
        unknown = hex32(label_item_id(brand="Maison Test", serial="IDX-NEVER"))
        assert_error(world.client.get(f"/items/{unknown}"), 404, "item_not_registered")
    finally:
        world.gateway.index_reader = reader


def test_an_index_that_fails_mid_read_is_not_read(
    world: World,
    expected: dict[str, tuple[dict[str, Any], dict[str, Any]]],
    tmp_path: Path,
) -> None:
    # An index file that claims to be caught up but has no tables to read (as mid-rebuild).
    broken = tmp_path / "broken.db"
    conn = sqlite3.connect(broken)
    conn.execute("CREATE TABLE checkpoint (id INTEGER, block_number INTEGER, block_hash TEXT)")
    conn.execute("INSERT INTO checkpoint VALUES (1, ?, ?)", (2**40, "0x" + "00" * 32))
    conn.commit()
    conn.close()
    reader, world.gateway.index_reader = world.gateway.index_reader, IndexReader(broken)
    try:
        assert world.gateway.fresh_index() is world.gateway.index_reader
        item_hex = hex32(world.items["held"])
        assert _get(world, f"/items/{item_hex}") == expected["held"][0]
        assert _get(world, f"/items/{item_hex}/history") == expected["held"][1]
        assert _get(world, f"/items/{item_hex}/trust")["item_id"] == item_hex
        assert world.client.get(f"/verify/{item_hex}").status_code == 200
    finally:
        assert world.gateway.index_reader is not None
        world.gateway.index_reader.close()
        world.gateway.index_reader = reader


# ---------------------------------------------------------------------- trust report, buyer page

_TRUST_ITEMS = ("rich", "held", "sold", "disputed", "escrowed")
_NOW_FIELDS = ("generated_at", "time_on_record")  # depend on the moment of the request


def _without(body: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key not in fields}


@pytest.mark.parametrize("name", _TRUST_ITEMS)
def test_a_dossier_from_the_index_equals_the_chain_one(world: World, name: str) -> None:
    index = world.gateway.fresh_index()
    assert index is not None
    now = 1_900_000_000
    item = world.items[name]
    indexed = load_dossier(world.gateway.item_reads(), item, now=now)
    assert indexed.history == index.item_history(item)  # it did come from the index
    from_chain = load_dossier(ItemReads(chain=world.gateway.reader), item, now=now)
    assert indexed == from_chain  # the report too


@pytest.mark.parametrize("name", ["disputed", "held"])
def test_the_trust_endpoint_and_the_buyers_page_read_as_from_the_chain(
    world: World, name: str
) -> None:
    item_hex = hex32(world.items[name])
    served = _get(world, f"/items/{item_hex}/trust")
    page = world.client.get(f"/verify/{item_hex}")
    assert page.status_code == 200, page.text
    reader, world.gateway.index_reader = world.gateway.index_reader, None
    try:
        chain_served = _get(world, f"/items/{item_hex}/trust")
        chain_page = world.client.get(f"/verify/{item_hex}")
    finally:
        world.gateway.index_reader = reader
    assert _without(served, _NOW_FIELDS) == _without(chain_served, _NOW_FIELDS)
    computed = re.compile(r"Verdict computed .*? from chain", re.S)  # the page's clock line
    assert computed.sub("", page.text) == computed.sub("", chain_page.text)


@pytest.mark.parametrize("name", ["rich", "disputed"])
def test_verify_from_the_index_answers_as_from_the_chain(world: World, name: str) -> None:
    item_hex = hex32(world.items[name])
    document = {"model": "not the registered metadata"}
    assert world.gateway.fresh_index() is not None  # the index path is taken

    def verify() -> dict[str, Any]:
        response = world.client.post(f"/items/{item_hex}/verify", json={"metadata": document})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    served = verify()
    reader, world.gateway.index_reader = world.gateway.index_reader, None
    try:
        chain_served = verify()
    finally:
        world.gateway.index_reader = reader
    assert served["matches"] is False and served["registered_hash"] is not None
    served["trust"] = _without(served["trust"], _NOW_FIELDS)
    chain_served["trust"] = _without(chain_served["trust"], _NOW_FIELDS)
    assert served == chain_served


def test_an_index_that_cannot_catch_up_is_not_read(world: World) -> None:
    # Last in the module: the indexer is stopped and its store closed, so every catch-up fails
    # and the index stays behind the chain. Reads must see the new write anyway.
    gateway = world.gateway
    gateway._index_stop.set()
    if gateway._index_thread is not None:
        gateway._index_thread.join(timeout=10)
    assert gateway.indexer is not None
    gateway.indexer.store.close()
    merchant = ProvenanceClient(
        w3=gateway.connection.w3, deployment=gateway.deployment, account=world.accounts.merchant
    )
    item = world.items["plain"]
    merchant.transfer(item_id=item, to=world.accounts.owner.address)
    assert gateway.fresh_index() is None
    body = _get(world, f"/items/{hex32(item)}")
    assert body["owner"] == world.accounts.owner.address
    assert body == _chain_item(gateway, item)
    assert _get(world, f"/items/{hex32(item)}/history") == _chain_history(gateway, item)
    lookup = _get(world, "/items/lookup", brand="Maison Test", serial="IDX-PLAIN")
    assert lookup == body
    trust = _get(world, f"/items/{hex32(item)}/trust")
    assert trust["owners"][-1] == world.accounts.owner.address
