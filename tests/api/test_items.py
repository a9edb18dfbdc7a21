"""Items through the API: registration, reads, and every item action."""

from __future__ import annotations

from ledger.hashing import hash_document, item_id
from tests.api.conftest import Api, assert_error
from tests.conftest import DevAccounts


def test_register_read_lookup_and_history(api: Api) -> None:
    body = api.new_item(brand="  Hermès  PARIS ", metadata_uri="ipfs://meta")
    response = api.client.post("/items", json=body, headers=api.merchant.headers)
    assert response.status_code == 201, response.text
    registered = response.json()
    expected_id = "0x" + item_id(brand=body["brand"], serial=body["serial"]).hex()
    assert registered["item_id"] == expected_id
    assert registered["metadata_hash"] == "0x" + hash_document(body["metadata"]).hex()
    assert registered["owner"] == api.merchant.address
    assert registered["block_number"] > 0 and registered["gas_used"] > 0

    item = api.client.get(f"/items/{expected_id.upper().replace('0X', '0x')}").json()
    assert item["item_id"] == expected_id
    assert item["owner"] == api.merchant.address and item["registrant"] == api.merchant.address
    assert item["status"] == "active" and item["last_verdict"] == "none"
    assert item["metadata_hash"] == registered["metadata_hash"]

    looked_up = api.client.get(
        "/items/lookup", params={"brand": "hermès paris", "serial": body["serial"].lower()}
    )
    assert looked_up.json() == item

    history = api.client.get(f"/items/{expected_id}/history").json()
    assert history["item_id"] == expected_id
    kinds = [event["kind"] for event in history["events"]]
    assert kinds == ["registered", "metadata_updated"]
    assert history["events"][0]["tx_hash"] == registered["tx_hash"]
    assert history["events"][1]["data"]["metadata_uri"] == "ipfs://meta"


def test_register_to_another_owner_and_brand_certification(api: Api, accounts: DevAccounts) -> None:
    registered = api.register(api.brand, owner=accounts.owner.address)
    assert registered["owner"] == accounts.owner.address
    item = api.client.get(f"/items/{registered['item_id']}").json()
    assert item["owner"] == accounts.owner.address and item["brand_certified"] is True


def test_duplicate_registration_conflicts(api: Api) -> None:
    body = api.new_item()
    assert api.client.post("/items", json=body, headers=api.merchant.headers).status_code == 201
    again = api.new_item(brand=body["brand"].upper(), serial=body["serial"].replace("-", " "))
    assert_error(
        api.client.post("/items", json=again, headers=api.merchant_b.headers),
        409,
        "item_already_registered",
    )


def test_unknown_item_is_404_everywhere(api: Api) -> None:
    unknown = "0x" + "ab" * 32
    assert_error(api.client.get(f"/items/{unknown}"), 404, "item_not_registered")
    assert_error(api.client.get(f"/items/{unknown}/history"), 404, "item_not_registered")
    assert_error(
        api.client.post(f"/items/{unknown}/verify", json={"metadata": {}}), 404,
        "item_not_registered",
    )  # fmt: skip
    assert_error(
        api.client.get("/items/lookup", params={"brand": "Nobody", "serial": "0"}),
        404,
        "item_not_registered",
    )
    assert_error(
        api.client.post(f"/items/{unknown}/transfer", json={"to": api.merchant_b.address},
                        headers=api.merchant.headers),
        404,
        "item_not_registered",
    )  # fmt: skip


def test_verify_matches_only_the_current_metadata(api: Api) -> None:
    body = api.new_item()
    registered = api.register(api.merchant, **body)
    url = f"/items/{registered['item_id']}/verify"
    match = api.client.post(url, json={"metadata": dict(reversed(body["metadata"].items()))})
    assert match.status_code == 200
    assert match.json()["matches"] is True
    assert match.json()["registered_hash"] == registered["metadata_hash"]
    mismatch = api.client.post(url, json={"metadata": {**body["metadata"], "colour": "black"}})
    assert mismatch.json()["matches"] is False


def test_batch_registers_and_reports_skipped(api: Api) -> None:
    entries = [api.new_item() for _ in range(4)]
    duplicate = dict(entries[0])
    response = api.client.post(
        "/items/batch",
        json={"items": [*entries, duplicate]},
        headers=api.merchant.headers,
    )
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["registered"] == 4 and result["skipped"] == 1
    assert [r["status"] for r in result["results"]] == ["registered"] * 4 + ["skipped"]
    assert result["results"][4]["reason"] == "duplicate in input"
    assert result["results"][4]["item_id"] == result["results"][0]["item_id"]
    tx_hashes = {r["tx_hash"] for r in result["results"][:4]}
    assert len(tx_hashes) == 1  # one transaction for the whole batch

    again = api.client.post(
        "/items/batch", json={"items": [*entries[:2], api.new_item()]}, headers=api.merchant.headers
    ).json()
    assert [r["status"] for r in again["results"]] == ["skipped", "skipped", "registered"]
    assert again["results"][0]["reason"] == "already registered"


def test_transfer_with_sale_reference(api: Api, accounts: DevAccounts) -> None:
    registered = api.register(api.merchant)
    url = f"/items/{registered['item_id']}/transfer"
    response = api.client.post(
        url, json={"to": accounts.owner.address, "sale_ref": {"order": "A-1001"}},
        headers=api.merchant.headers,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["item_id"] == registered["item_id"]
    item = api.client.get(f"/items/{registered['item_id']}").json()
    assert item["owner"] == accounts.owner.address and item["transfer_nonce"] == 1
    kinds = [e["kind"] for e in api.client.get(f"/items/{registered['item_id']}/history").json()[
        "events"]]  # fmt: skip
    assert kinds == ["registered", "transferred", "sale_recorded"]
    # The item left the merchant: a second transfer is no longer theirs to make.
    assert_error(
        api.client.post(url, json={"to": api.merchant_b.address}, headers=api.merchant.headers),
        403,
        "not_item_owner",
    )


def test_attestation_and_service(api: Api) -> None:
    registered = api.register(api.merchant)
    base = f"/items/{registered['item_id']}"
    attested = api.client.post(
        f"{base}/attestations",
        json={"verdict": "authentic", "grade": "like_new", "evidence": {"report": "r.pdf"}},
        headers=api.authenticator.headers,
    )
    assert attested.status_code == 201, attested.text
    serviced = api.client.post(
        f"{base}/services", json={"kind": "repair", "evidence": "new zip"},
        headers=api.merchant_b.headers,
    )  # fmt: skip
    assert serviced.status_code == 201, serviced.text
    item = api.client.get(base).json()
    assert item["last_verdict"] == "authentic"
    events = api.client.get(f"{base}/history").json()["events"]
    assert [e["kind"] for e in events] == ["registered", "authenticated", "serviced"]
    assert events[1]["data"]["verdict"] == "authentic" and events[1]["data"]["grade"] == "like_new"
    assert events[1]["actor"] == api.authenticator.address
    # Roles are checked before anything is sent.
    assert_error(
        api.client.post(f"{base}/attestations", json={"verdict": "authentic", "evidence": "x"},
                        headers=api.merchant.headers),
        403,
        "forbidden",
    )  # fmt: skip


def test_flags_freeze_transfers_until_cleared(api: Api, accounts: DevAccounts) -> None:
    registered = api.register(api.merchant)
    base = f"/items/{registered['item_id']}"
    flagged = api.client.post(
        f"{base}/flags", json={"status": "stolen", "report": {"police": "PV-1"}},
        headers=api.admin.headers,
    )  # fmt: skip
    assert flagged.status_code == 201, flagged.text
    assert api.client.get(base).json()["status"] == "stolen"
    assert_error(
        api.client.post(f"{base}/transfer", json={"to": accounts.owner.address},
                        headers=api.merchant.headers),
        409,
        "item_is_flagged",
    )  # fmt: skip
    assert_error(
        api.client.request("DELETE", f"{base}/flags", json={"clearance": "found"},
                           headers=api.merchant.headers),
        403,
        "flag_held_by_admin",
    )  # fmt: skip
    cleared = api.client.request(
        "DELETE", f"{base}/flags", json={"clearance": {"found": True}}, headers=api.admin.headers
    )
    assert cleared.status_code == 200, cleared.text
    assert api.client.get(base).json()["status"] == "active"
    # An owning merchant may flag its own stock, and clear its own flag.
    assert api.client.post(f"{base}/flags", json={"status": "lost", "report": "misplaced"},
                           headers=api.merchant.headers).status_code == 201  # fmt: skip
    assert api.client.request("DELETE", f"{base}/flags", json={"clearance": "found"},
                              headers=api.merchant.headers).status_code == 200  # fmt: skip
    assert_error(
        api.client.request("DELETE", f"{base}/flags", json={"clearance": "x"},
                           headers=api.admin.headers),
        409,
        "item_not_flagged",
    )  # fmt: skip


def test_retired_items_refuse_everything(api: Api, accounts: DevAccounts) -> None:
    registered = api.register(api.merchant)
    base = f"/items/{registered['item_id']}"
    retired = api.client.post(
        f"{base}/retire", json={"kind": "recycled", "evidence": {"centre": "R-9"}},
        headers=api.merchant.headers,
    )  # fmt: skip
    assert retired.status_code == 200, retired.text
    assert api.client.get(base).json()["status"] == "retired"
    assert_error(
        api.client.post(f"{base}/transfer", json={"to": accounts.owner.address},
                        headers=api.merchant.headers),
        409,
        "item_is_retired",
    )  # fmt: skip
    assert_error(
        api.client.post(f"{base}/services", json={"kind": "repair", "evidence": "x"},
                        headers=api.merchant.headers),
        409,
        "item_is_retired",
    )  # fmt: skip
