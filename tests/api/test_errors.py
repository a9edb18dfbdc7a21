"""Every malformed input gets the one error shape, a stable code and the offending field."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api, assert_error

ITEM = "0x" + "ab" * 32


@pytest.mark.parametrize(
    ("patch", "status", "code", "field"),
    [
        ({"owner": "0x1234"}, 422, "invalid_address", "owner"),
        ({"owner": "0x" + "zz" * 20}, 422, "invalid_address", "owner"),
        ({"owner": "0x" + "00" * 20}, 422, "invalid_address", "owner"),
        ({"owner": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"}, 422, "invalid_address", "owner"),
        ({"owner": 12}, 422, "invalid_type", "owner"),
        ({"serial": 5}, 422, "invalid_type", "serial"),
        ({"serial": " - "}, 422, "invalid_serial", "serial"),
        ({"brand": "   "}, 422, "invalid_brand", "brand"),
        ({"brand": "x" * 300}, 422, "too_long", "brand"),
        ({"metadata": "not an object"}, 422, "invalid_type", "metadata"),
        ({"metadata": {"n": 2**80}}, 422, "invalid_metadata", "metadata"),
        ({"metadata_uri": None}, 422, "invalid_type", "metadata_uri"),
        ({"ownr": "0x" + "12" * 20}, 422, "unknown_field", "ownr"),
    ],
)
def test_register_field_errors(
    api: Api, patch: dict[str, Any], status: int, code: str, field: str
) -> None:
    body = {**api.new_item(), **patch}
    response = api.client.post("/items", json=body, headers=api.merchant.headers)
    assert_error(response, status, code, field)


def test_missing_field_and_body(api: Api) -> None:
    body = api.new_item()
    del body["serial"]
    assert_error(api.client.post("/items", json=body, headers=api.merchant.headers), 422,
                 "missing_field", "serial")  # fmt: skip
    assert_error(api.client.post("/items", headers=api.merchant.headers), 422, "missing_body")
    assert_error(api.client.post("/items", json=[1, 2], headers=api.merchant.headers), 422,
                 "invalid_type")  # fmt: skip


def test_malformed_json_and_nan(api: Api) -> None:
    headers = {**api.merchant.headers, "Content-Type": "application/json"}
    assert_error(api.client.post("/items", content=b'{"brand": ', headers=headers), 400,
                 "malformed_json")  # fmt: skip
    nan = b'{"brand": "B", "serial": "S1", "metadata": {"weight": NaN}}'
    assert_error(api.client.post("/items", content=nan, headers=headers), 422, "invalid_metadata",
                 "metadata")  # fmt: skip
    deep = b"[" * 100_000 + b"]" * 100_000
    # Would overflow the C stack under web3's raised recursion limit: refused, process alive.
    assert_error(api.client.post("/items", content=deep, headers=headers), 400, "malformed_json")
    assert api.client.get("/health").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/items/0x12",
        "/items/" + "ab" * 32,
        "/items/0x" + "zz" * 32,
        "/items/0x" + "00" * 32,
        "/items/0x" + "ab" * 33,
    ],
)
def test_malformed_item_ids_in_paths_are_400(api: Api, path: str) -> None:
    assert_error(api.client.get(path), 400, "invalid_item_id", "item_id")
    assert_error(api.client.get(path + "/history"), 400, "invalid_item_id", "item_id")


def test_item_action_body_errors(api: Api) -> None:
    headers = api.merchant.headers
    cases: list[tuple[str, dict[str, Any], str, str]] = [
        ("transfer", {"to": "0xabc"}, "invalid_address", "to"),
        ("transfer", {}, "missing_field", "to"),
        ("transfer", {"to": "0x" + "12" * 20, "sale_ref": 7}, "invalid_evidence", "sale_ref"),
        ("transfer", {"to": "0x" + "12" * 20, "sale_ref": "0x12"}, "invalid_evidence", "sale_ref"),
        ("services", {"kind": "polish", "evidence": "x"}, "invalid_choice", "kind"),
        ("services", {"kind": "repair", "evidence": ""}, "invalid_evidence", "evidence"),
        ("services", {"kind": "repair", "evidence": ["a"]}, "invalid_evidence", "evidence"),
        ("flags", {"status": "retired", "report": "x"}, "invalid_choice", "status"),
        ("retire", {"kind": "melted", "evidence": "x"}, "invalid_choice", "kind"),
    ]
    for action, body, code, field in cases:
        response = api.client.post(f"/items/{ITEM}/{action}", json=body, headers=headers)
        assert_error(response, 422, code, field)


def test_batch_limits(api: Api) -> None:
    headers = api.merchant.headers
    too_many = {"items": [api.new_item() for _ in range(1001)]}
    assert_error(api.client.post("/items/batch", json=too_many, headers=headers), 422,
                 "batch_too_large", "items")  # fmt: skip
    assert_error(api.client.post("/items/batch", json={"items": []}, headers=headers), 422,
                 "empty_batch", "items")  # fmt: skip
    bad_entry = {"items": [api.new_item(), {**api.new_item(), "owner": "0x" + "12" * 20}]}
    assert_error(api.client.post("/items/batch", json=bad_entry, headers=headers), 422,
                 "unknown_field", "items[1].owner")  # fmt: skip
    bad_serial = {"items": [api.new_item(), {**api.new_item(), "serial": None}]}
    assert_error(api.client.post("/items/batch", json=bad_serial, headers=headers), 422,
                 "invalid_type", "items[1].serial")  # fmt: skip


def test_query_and_header_errors(api: Api) -> None:
    assert_error(api.client.get("/items/lookup", params={"brand": "B"}), 422, "missing_field",
                 "serial")  # fmt: skip
    assert_error(
        api.client.post("/items?wait=perhaps", json=api.new_item(), headers=api.merchant.headers),
        422,
        "invalid_type",
        "wait",
    )
    long_key = {**api.merchant.headers, "Idempotency-Key": "k" * 300}
    assert_error(api.client.post("/items", json=api.new_item(), headers=long_key), 422,
                 "too_long", "Idempotency-Key")  # fmt: skip


def test_merchant_body_errors(api: Api) -> None:
    headers = api.admin.headers
    base = {"address": "0x" + "12" * 20, "name": "N", "credentials": {"a": 1}}
    for patch, code, field in [
        ({"roles": ["owner"]}, "invalid_choice", "roles[0]"),
        ({"roles": []}, "too_short", "roles"),
        ({"name": "  "}, "too_short", "name"),
        ({"credentials": "text"}, "invalid_type", "credentials"),
        ({"address": None}, "invalid_type", "address"),
    ]:
        response = api.client.post("/merchants", json={**base, **patch}, headers=headers)
        assert_error(response, 422, code, field)


def test_unknown_query_parameters_are_refused_like_unknown_fields(api: Api) -> None:
    # A misspelt ?wait=false must not silently wait for the transaction to be mined.
    response = api.client.post(
        "/items?wiat=false", json=api.new_item(), headers=api.merchant.headers
    )
    assert_error(response, 422, "unknown_field", "wiat")
    assert_error(api.client.get("/health?verbose=1"), 422, "unknown_field", "verbose")
    assert (
        api.client.get("/keys?include_revoked=false", headers=api.admin.headers).status_code == 200
    )


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/keys", "GET, POST"),
        ("OPTIONS", "/keys", "GET, POST"),
        ("GET", "/items/batch", "POST"),
        ("DELETE", f"/items/{ITEM}", "GET"),
        ("POST", "/items/lookup", "GET"),
    ],
)
def test_wrong_methods_are_405_with_every_documented_method_allowed(
    api: Api, method: str, path: str, allow: str
) -> None:
    response = api.client.request(method, path, headers=api.admin.headers)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allow
