"""The buyer's page (``/verify``), the trust and evidence endpoints, and the QR codes."""

from __future__ import annotations

import re
import struct
import uuid
import zlib
from pathlib import Path
from typing import Any

import pytest
from eth_utils import to_checksum_address
from fastapi.testclient import TestClient

from api.buyer_page import PartyBook, item_page_context
from api.dossier import ItemDossier
from api.html import render_page
from api.qr import qr_png, qr_svg
from ledger.evidence import verify_bundle
from ledger.hashing import item_id as label_item_id
from ledger.trust import build_trust_report
from ledger.types import Account, AccountStatus, Hash32, Item, ItemStatus, Role, Verdict
from tests.api.conftest import Api, Key, assert_error

UNKNOWN = "0x" + "ab" * 32


def _page(api: Api, path: str, status: int = 200) -> str:
    response = api.client.get(path, follow_redirects=False)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html"), response.headers
    assert "script-src" not in response.headers["content-security-policy"]  # default-src 'none'
    assert "default-src 'none'" in response.headers["content-security-policy"]
    text: str = response.text
    assert "<script" not in text.lower() and "Traceback" not in text
    assert '<meta name="viewport"' in text
    return text


def _verdict(page: str) -> str:
    match = re.search(r'data-verdict="([a-z_]+)"', page)
    assert match, page
    return match.group(1)


def _flag(api: Api, item: str, status: str = "stolen") -> None:
    response = api.client.post(
        f"/items/{item}/flags",
        json={"status": status, "report": {"police": "PV-2291"}},
        headers=api.admin.headers,
    )
    assert response.status_code == 201, response.text


def _authenticate(api: Api, item: str, verdict: str = "authentic") -> None:
    response = api.client.post(
        f"/items/{item}/attestations",
        json={"verdict": verdict, "grade": "good", "evidence": {"report": "AL-7"}},
        headers=api.authenticator.headers,
    )
    assert response.status_code == 201, response.text


@pytest.fixture(scope="module")
def clean_item(api: Api) -> dict[str, Any]:
    """Brand-certified, authenticated authentic: verdict ok."""
    registered = api.register(api.brand)
    _authenticate(api, registered["item_id"])
    return registered


@pytest.fixture(scope="module")
def stolen_item(api: Api) -> dict[str, Any]:
    """Registered by a merchant, then reported stolen by the admin: do not buy."""
    registered = api.register(api.merchant)
    _flag(api, registered["item_id"])
    return registered


# ---------------------------------------------------------------------- the page


def test_clean_item_page_says_ok_and_brand_certified(api: Api, clean_item: dict[str, Any]) -> None:
    page = _page(api, f"/verify/{clean_item['item_id']}")
    assert _verdict(page) == "ok"
    assert "OK to buy" in page
    assert "brand-certified original" in page and "Not brand-certified" not in page
    assert "Inspected: authentic" in page and "condition good" in page
    # Actors are named from their vetting records, not just addresses.
    brand_name = api.client.get(f"/merchants/{api.brand.address}").json()["name"]
    assert brand_name in page and "vetted brand" in page
    assert f"/items/{clean_item['item_id']}/evidence" in page
    assert f"/items/{clean_item['item_id']}/qr.svg" in page
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ">\d\d \w{3} \d{4}, '
                     r"\d\d:\d\d UTC</time>", page)  # fmt: skip


def test_stolen_item_page_says_do_not_buy_with_the_reason(
    api: Api, stolen_item: dict[str, Any]
) -> None:
    page = _page(api, f"/verify/{stolen_item['item_id']}")
    assert _verdict(page) == "do_not_buy"
    assert "Do not buy" in page
    assert "Reported stolen by the platform admin" in page  # the R1 reason's own words
    assert re.search(r'href="/verify/rules#R1">R1</a>', page)
    assert "Still open" in page
    assert 'href="/verify/rules#N4">N4</a>' in page  # notes are shown too
    assert "Not brand-certified" in page


def test_page_accepts_any_case_of_the_id(api: Api, stolen_item: dict[str, Any]) -> None:
    upper = "0x" + stolen_item["item_id"][2:].upper()
    assert _verdict(_page(api, f"/verify/{upper}")) == "do_not_buy"


def test_sale_retirement_and_cleared_flag_show_in_the_timeline(api: Api) -> None:
    item = api.register(api.merchant)["item_id"]
    sold = api.client.post(
        f"/items/{item}/transfer",
        json={"to": api.merchant_b.address, "sale_ref": {"order": "A-1"}},
        headers=api.merchant.headers,
    )
    assert sold.status_code == 200, sold.text
    _flag(api, item, "lost")
    cleared = api.client.request(
        "DELETE", f"/items/{item}/flags", json={"clearance": "found"}, headers=api.admin.headers
    )
    assert cleared.status_code == 200, cleared.text
    retired = api.client.post(
        f"/items/{item}/retire",
        json={"kind": "recycled", "evidence": {"centre": "R-9"}},
        headers=api.admin.headers,
    )
    assert retired.status_code == 200, retired.text
    page = _page(api, f"/verify/{item}")
    assert _verdict(page) == "do_not_buy"
    for text in ("Sold", "sale reference <code>0x", "Reported lost", "Lost report cleared",
                 "Retired: recycled", "Retired (recycled)"):  # fmt: skip
        assert text in page, text
    titles = re.findall(r'<span class="what">([^<]+)</span>', page)
    assert titles == [
        "Registered",
        "Sold",
        "Reported lost",
        "Lost report cleared",
        "Retired: recycled",
    ]


def test_names_are_escaped(api: Api) -> None:
    name = "<script>alert('pwned')</script> & \"Sons\""
    key = api.create_key("merchant")
    vetted = api.client.post(
        "/merchants",
        json={"address": key.address, "name": name, "credentials": {"n": key.id}},
        headers=api.admin.headers,
    )
    assert vetted.status_code == 201, vetted.text
    item = api.register(key)["item_id"]
    page = _page(api, f"/verify/{item}")  # also asserts no "<script" at all
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt; &amp; &#34;Sons&#34;" in page


def test_lookup_form_redirects_to_the_item(api: Api, stolen_item: dict[str, Any]) -> None:
    form = _page(api, "/verify")
    assert 'name="brand"' in form and 'name="serial"' in form and 'method="get"' in form
    body = api.new_item()
    item = api.register(api.merchant, **body)["item_id"]
    response = api.client.get(
        "/verify",
        params={"brand": body["brand"].upper(), "serial": body["serial"].lower().replace("-", " ")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/verify/{item}"
    followed = api.client.get(response.headers["location"])
    assert followed.status_code == 200 and _verdict(followed.text) == "caution"  # R6


def test_lookup_of_an_unregistered_label_is_a_404_page(api: Api) -> None:
    serial = f"<b>NOPE-{uuid.uuid4().hex[:6]}</b>"
    page = _page(api, f"/verify?brand=Maison+Test&serial={serial}", 404)
    assert "Not registered" in page and "No item passport is registered" in page
    assert "&lt;b&gt;NOPE-" in page and "<b>NOPE" not in page
    assert 'value="Maison Test"' in page  # the form comes back filled in


def test_lookup_with_half_a_label_is_a_400_page(api: Api) -> None:
    page = _page(api, "/verify?brand=Maison+Test&serial=", 400)
    assert "Enter both the brand and the serial number" in page
    assert "at most 256" in _page(api, "/verify?brand=x&serial=" + "A" * 300, 400)


def test_unknown_item_is_a_404_page(api: Api) -> None:
    page = _page(api, f"/verify/{UNKNOWN}", 404)
    assert "Not registered" in page and 'name="serial"' in page
    assert f"No item passport is registered for the id {UNKNOWN}." in page


@pytest.mark.parametrize(
    "bad_id", ["nothex", "0x1234", "0x" + "zz" * 32, "0x" + "00" * 32, "0x" + "ab" * 33, "%00"]
)
def test_malformed_id_is_a_400_page(api: Api, bad_id: str) -> None:
    page = _page(api, f"/verify/{bad_id}", 400)
    assert "Not a valid item id" in page
    assert '"error"' not in page


def test_api_routes_keep_json_errors(api: Api) -> None:
    assert_error(api.client.get("/items/0x12/trust"), 400, "invalid_item_id")
    assert_error(api.client.get(f"/items/{UNKNOWN}/trust"), 404, "item_not_registered")
    assert_error(api.client.get(f"/items/{UNKNOWN}/evidence"), 404, "item_not_registered")
    assert_error(api.client.get(f"/items/{UNKNOWN}/qr.svg"), 404, "item_not_registered")
    assert_error(api.client.get(f"/items/{UNKNOWN}/qr.png"), 404, "item_not_registered")
    assert_error(api.client.get("/items/nothex/qr.png"), 400, "invalid_item_id")


def test_rules_page_lists_every_rule(api: Api) -> None:
    page = _page(api, "/verify/rules")
    for rule_id in ("R1", "R10", "P1", "N5"):
        assert f'id="{rule_id}"' in page


def test_pages_stay_out_of_the_api_schema(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    assert not any(path.startswith("/verify") for path in paths)
    assert {"/items/{item_id}/trust", "/items/{item_id}/evidence"} <= set(paths)
    assert "image/png" in paths["/items/{item_id}/qr.png"]["get"]["responses"]["200"]["content"]


# ---------------------------------------------------------------------- trust and verify


def test_trust_endpoint_returns_the_report(
    api: Api, clean_item: dict[str, Any], stolen_item: dict[str, Any]
) -> None:
    clean = api.client.get(f"/items/{clean_item['item_id']}/trust")
    assert clean.status_code == 200, clean.text
    report = clean.json()
    assert report["item_id"] == clean_item["item_id"]
    assert report["verdict"] == "ok" and report["brand_certified"] is True
    assert {r["rule_id"] for r in report["reasons"]} >= {"P1", "P2", "P3"}
    assert report["latest_authentication"]["verdict"] == "authentic"
    assert report["registrant"]["address"] == api.brand.address

    stolen = api.client.get(f"/items/{stolen_item['item_id']}/trust").json()
    assert stolen["verdict"] == "do_not_buy"
    (r1,) = [r for r in stolen["reasons"] if r["rule_id"] == "R1"]
    assert r1["severity"] == "do_not_buy" and "stolen" in r1["message"]
    assert stolen["flags"][0]["status"] == "stolen" and stolen["flags"][0]["cleared"] is False


def test_verify_endpoint_returns_match_and_trust_verdict(
    api: Api, stolen_item: dict[str, Any]
) -> None:
    item = stolen_item["item_id"]
    response = api.client.post(f"/items/{item}/verify", json={"metadata": {"not": "it"}})
    assert response.status_code == 200, response.text
    body = response.json()
    # The existing fields are all still there...
    assert {"item_id", "matches", "given_hash", "registered_hash", "item"} <= set(body)
    assert body["matches"] is False and body["registered_hash"] == stolen_item["metadata_hash"]
    assert body["item"]["status"] == "stolen"
    # ...and the trust report comes with them.
    assert body["trust"]["verdict"] == "do_not_buy"
    assert body["trust"]["reasons"][0]["rule_id"] == "R1"


def test_verify_matches_the_registered_metadata(api: Api) -> None:
    body = api.new_item()
    item = api.register(api.brand, **body)["item_id"]
    response = api.client.post(f"/items/{item}/verify", json={"metadata": body["metadata"]})
    assert response.status_code == 200, response.text
    assert response.json()["matches"] is True
    assert response.json()["trust"]["verdict"] == "ok"


# ---------------------------------------------------------------------- evidence


def test_evidence_download_round_trips_through_verify_bundle(
    api: Api, stolen_item: dict[str, Any]
) -> None:
    item = stolen_item["item_id"]
    response = api.client.get(f"/items/{item}/evidence")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"] == f"attachment; filename=evidence-{item}.json"
    bundle = response.json()
    assert bundle["item_id"] == item
    assert [e["event"] for e in bundle["events"]][-1] == "ItemFlagged"
    gateway = api.client.app.state.gateway  # type: ignore[attr-defined]
    result = verify_bundle(
        bundle=bundle, w3=gateway.reader.w3, passport=gateway.deployment.passport
    )
    assert result.ok, result
    assert result.completeness_checked

    bundle["events"] = [e for e in bundle["events"] if e["event"] != "ItemFlagged"]
    assert not verify_bundle(bundle=bundle, w3=gateway.reader.w3).ok  # the omission is caught


# ---------------------------------------------------------------------- QR codes


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, after checking its signature, chunks and pixel data."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, idat, size = 8, b"", (0, 0)
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        if kind == b"IHDR":
            width, height, depth, _colour, _c, _f, _i = struct.unpack(">IIBBBBB", body)
            size = (width, height)
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    assert kind == b"IEND"
    rows = zlib.decompress(idat)
    assert len(rows) == size[1] * (1 + (size[0] * depth + 7) // 8)  # filter byte + packed row
    return size


def test_qr_codes_encode_the_page_url(api: Api, clean_item: dict[str, Any]) -> None:
    item = clean_item["item_id"]
    url = f"http://testserver/verify/{item}"  # no public URL set: the request's base URL
    svg = api.client.get(f"/items/{item}/qr.svg")
    assert svg.status_code == 200
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.content.startswith(b"<?xml") and b"<svg" in svg.content
    assert svg.content == qr_svg(url)
    png = api.client.get(f"/items/{item}/qr.png")
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.content == qr_png(url)
    assert png.headers["cache-control"] == "private, max-age=3600"  # built from Host
    width, height = _png_size(png.content)
    assert width == height and width >= 21 * 8


def test_qr_codes_use_the_public_url(make_app: Any, tmp_path: Path, api: Api) -> None:
    client: TestClient = make_app(tmp_path, public_url="https://verify.example/shop/")
    admin = Key("admin", (tmp_path / "admin.key").read_text().strip(), "", "admin")
    merchant = client.post("/keys", json={"role": "merchant", "name": "m"}, headers=admin.headers)
    key = merchant.json()
    vetted = client.post(
        "/merchants",
        json={"address": key["address"], "name": "Shop", "credentials": {"n": 1}},
        headers=admin.headers,
    )
    assert vetted.status_code == 201, vetted.text
    body = api.new_item()
    created = client.post(
        "/items", json=body, headers={"Authorization": f"Bearer {key['api_key']}"}
    )
    assert created.status_code == 201, created.text
    item = "0x" + label_item_id(brand=body["brand"], serial=body["serial"]).hex()
    png = client.get(f"/items/{item}/qr.png")
    assert png.content == qr_png(f"https://verify.example/shop/verify/{item}")
    assert png.headers["cache-control"] == "public, max-age=3600"


# ---------------------------------------------------------------------- market records


class _Registry:
    """A stand-in for the read client: just the vetting records the page looks up."""

    def __init__(self, accounts: dict[str, Account]) -> None:
        self.accounts = accounts

    def account_record(self, address: str) -> Account:
        return self.accounts.get(address) or Account(
            address=address,  # type: ignore[arg-type]
            id=0, roles=Role(0), status=AccountStatus.NONE, vetted_at=0, updated_at=0,
            credential_hash=Hash32(bytes(32)), name="",
        )  # fmt: skip

    def is_admin(self, address: str) -> bool:
        return False


def test_market_sale_and_counterfeit_ruling_render_from_index_shaped_records() -> None:
    """The page reads JSON-shaped history rows too (what an index serves), market kinds
    included: a sale in escrow, a dispute and a counterfeit ruling."""
    merchant, market, arbiter, buyer = (
        to_checksum_address("0x" + c * 40) for c in ("a", "b", "c", "d")
    )
    raw_id = label_item_id(brand="Maison Test", serial="MKT-1")
    item_hex = "0x" + raw_id.hex()
    item = Item(
        item_id=raw_id, owner=merchant, status=ItemStatus.ACTIVE, brand_certified=False,
        flagged_by_admin=False, locked=False, last_verdict=Verdict.COUNTERFEIT,
        registrant=merchant, registrant_id=1, transfer_nonce=0,
    )  # fmt: skip
    t0 = 1_767_225_600  # 2026-01-01T00:00:00Z
    rows: list[dict[str, Any]] = []

    def row(kind: str, block: int, actor: str | None, tx: str, **data: Any) -> None:
        rows.append({"kind": kind, "item_id": item_hex, "actor": actor, "block_number": block,
                     "tx_hash": "0x" + tx * 64, "log_index": len(rows), "timestamp": t0 + block,
                     "data": data})  # fmt: skip

    row("registered", 1, merchant, "1", registrant=merchant, metadata_hash="0x" + "ee" * 32)
    row("listed", 2, merchant, "2", seller=merchant, sale_id=1)
    row("purchased", 3, buyer, "3", buyer=buyer, sale_id=1)
    row("locked", 3, market, "3", market=market)
    row("dispute_opened", 5, buyer, "5", buyer=buyer, sale_id=1, reason="counterfeit")
    row("authenticated", 7, market, "7", authenticator=market, verdict="counterfeit",
        grade="ungraded", evidence_hash="0x" + "aa" * 32)  # fmt: skip
    row("dispute_ruled", 7, arbiter, "7", arbiter=arbiter, sale_id=1, ruling="refund",
        counterfeit=True, buyer_share_bps=10_000)  # fmt: skip
    row("unlocked", 7, market, "7", market=market)
    row("sale_settled", 7, market, "7", sale_id=1, how="ruled")
    registry = _Registry(
        {
            merchant: Account(merchant, 1, Role.MERCHANT, AccountStatus.ACTIVE, t0, t0,
                              Hash32(bytes(32)), "Resale <i>Co</i>"),
            arbiter: Account(arbiter, 2, Role.ARBITER, AccountStatus.ACTIVE, t0, t0,
                             Hash32(bytes(32)), "Fair Resolutions"),
        }
    )  # fmt: skip
    report = build_trust_report(
        item=item, history=rows, registrant_record=registry.account_record(merchant),
        registrant_history=None, now=t0 + 86_400, markets={market},
    )  # fmt: skip
    dossier = ItemDossier(
        item=item, history=rows, report=report, metadata_hash=None, chain_id=1,
        passport=merchant, markets=frozenset({market}),
    )  # fmt: skip
    parties = PartyBook(registry, admin=None, markets=[market])  # type: ignore[arg-type]
    context = item_page_context(
        dossier, parties, evidence_url="/e", qr_svg_url="/q.svg", qr_png_url="/q.png"
    )
    links = {"lookup_url": "/verify", "rules_url": "/verify/rules", "page_base": "/verify/"}
    page = bytes(render_page("verify.html", {**links, **context}).body).decode()

    assert _verdict(page) == "do_not_buy"
    assert 'href="/verify/rules#R3">R3</a>' in page
    titles = re.findall(r'<span class="what">([^<]+)</span>', page)
    assert titles == [
        "Registered",
        "Listed for sale on the resale market",
        "Bought on the resale market (payment held in escrow)",
        "Locked in a resale-market sale (escrow)",
        "Dispute opened by the buyer",
        "Inspected: counterfeit",
        "Dispute ruled",
        "Released from resale-market escrow",
        "Market sale settled",
    ]
    assert "complaint: counterfeit" in page and "ruling: refund (found counterfeit)" in page
    assert "Dispute about sale 1: ruled" in page and "found counterfeit" in page
    assert "recorded by the resale market&#39;s dispute ruling" in page
    assert "Fair Resolutions" in page and "the resale market" in page
    assert "Resale &lt;i&gt;Co&lt;/i&gt;" in page and "<i>Co" not in page
    assert "01 Jan 2026, 00:00 UTC" in page


def test_other_paths_under_verify_are_html_too(api: Api) -> None:
    assert "Page not found" in _page(api, f"/verify/{UNKNOWN}/extra", 404)
    response = api.client.get("/verify/", follow_redirects=False)
    assert response.status_code == 308 and response.headers["location"] == "/verify"
