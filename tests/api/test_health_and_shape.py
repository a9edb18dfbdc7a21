"""Health, OpenAPI, and the error shape of things no route handles."""

from __future__ import annotations

from tests.api.conftest import Api, assert_error


def test_health_reports_chain_and_contracts(api: Api) -> None:
    response = api.client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["chain"] == "embedded"
    assert body["chain_id"] == 131277322940537
    assert body["latest_block"] >= body["deployment_block"] >= 1
    assert body["contracts"]["passport"].startswith("0x")
    assert body["admin"] == api.admin.address


def test_openapi_documents_every_resource(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in (
        "/health",
        "/keys",
        "/keys/{key_id}",
        "/merchants",
        "/merchants/{address}",
        "/merchants/{address}/suspend",
        "/items",
        "/items/batch",
        "/items/lookup",
        "/items/{item_id}",
        "/items/{item_id}/history",
        "/items/{item_id}/verify",
        "/items/{item_id}/transfer",
        "/items/{item_id}/attestations",
        "/items/{item_id}/services",
        "/items/{item_id}/flags",
        "/items/{item_id}/retire",
        "/relay",
        "/tx/{tx_hash}",
    ):
        assert path in paths, path


def test_unknown_route_and_method_use_the_error_shape(api: Api) -> None:
    assert_error(api.client.get("/nowhere"), 404, "not_found")
    assert_error(api.client.put("/health"), 405, "method_not_allowed")
