"""Reads served from the event index (`ledger.indexer`), which the gateway keeps in step."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api, assert_error


def _pages(api: Api, path: str, limit: int, **params: Any) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        query = {"limit": limit, **params}
        if cursor is not None:
            query["cursor"] = cursor
        response = api.client.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "next_cursor"}
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20


def test_health_reports_the_index(api: Api) -> None:
    body = api.client.get("/health").json()
    assert isinstance(body["indexed_block"], int)
    assert isinstance(body["lag"], int) and body["lag"] >= 0


def test_a_registered_item_is_listed_right_away(api: Api) -> None:
    key = api.vetted_key("merchant")
    item_id = api.register(key)["item_id"]
    page = api.client.get(f"/merchants/{key.address}/items").json()
    assert [item["item_id"] for item in page["items"]] == [item_id]
    assert page["next_cursor"] is None
    item = page["items"][0]
    assert item["registrant"] == key.address
    assert item["owner"] == key.address
    chain = api.client.get(f"/items/{item_id}").json()
    assert chain["owner"] == item["owner"]
    assert api.client.get("/health").json()["lag"] == 0


def test_pagination_has_no_duplicates_or_gaps(api: Api) -> None:
    key = api.vetted_key("merchant")
    registered = {api.register(key)["item_id"] for _ in range(5)}
    pages = _pages(api, f"/merchants/{key.address}/items", 2)
    assert [len(p) for p in pages] == [2, 2, 1]
    ids = [item["item_id"] for page in pages for item in page]
    assert len(ids) == len(set(ids)) and set(ids) == registered
    assert ids == sorted(ids)
    by_owner = _pages(api, "/items", 2, owner=key.address)
    assert [item["item_id"] for page in by_owner for item in page] == ids


def test_owner_and_status_filters(api: Api) -> None:
    key = api.vetted_key("merchant")
    item_id = api.register(key)["item_id"]
    status = api.client.get(f"/merchants/{key.address}/items").json()["items"][0]["status"]
    assert isinstance(status, str)
    listed = _pages(api, "/items", 1000, owner=key.address, status=status)
    assert [item["item_id"] for page in listed for item in page] == [item_id]
    other = "retired" if status != "retired" else "active"
    listed = _pages(api, "/items", 1000, owner=key.address, status=other)
    assert listed == [[]]
    nobody = "0x" + "12" * 20
    assert _pages(api, "/items", 10, owner=nobody) == [[]]


def test_bad_queries_use_the_error_shape(api: Api) -> None:
    # A malformed path address is a 400, as for GET /merchants/{address}; bad query values 422.
    for path, params, status, field in (
        ("/items", {"owner": "0x1234"}, 422, "owner"),
        ("/merchants/0x1234/items", {}, 400, "address"),
        ("/items", {"limit": 0}, 422, "limit"),
        ("/items", {"cursor": "x"}, 422, "cursor"),
    ):
        response = api.client.get(path, params=params)
        error = assert_error(response, status, response.json()["error"]["code"], field)
        assert error["message"], error
