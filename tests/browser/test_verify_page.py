"""The buyer's page in a real browser: headless Chromium (Debian's ``chromium`` package) driven by
Playwright, against the gateway served by uvicorn on a free local port (embedded chain).

Checks what a person would see, on a phone (390x844, JavaScript off: the page must not need it)
and on a desktop: the verdict, its reasons, the lookup form, the QR image, the styles really
applied (so the Content-Security-Policy's stylesheet hash is right), no console errors and no
sideways scrolling on the phone. Screenshots go to ``test-output/browser/``.

Needs ``/usr/bin/chromium`` (``make test`` installs it) and the ``playwright`` package; Playwright's
own browser download is never used.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from api.main import create_app
from api.settings import Settings
from tests.conftest import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO_ROOT / "test-output" / "browser"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
FAST_KDF = 2**10

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: install Debian's chromium package "
        "(apt-get install -y chromium; `make test` does)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed (pip install playwright)"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Site:
    base_url: str
    stolen: str
    clean: str
    clean_label: tuple[str, str]


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _vetted_key(http: httpx.Client, admin: dict[str, str], role: str, name: str) -> dict[str, str]:
    created = http.post("/keys", json={"role": role, "name": name}, headers=admin)
    assert created.status_code == 201, created.text
    key: dict[str, str] = created.json()
    vetted = http.post(
        "/merchants",
        json={"address": key["address"], "name": name, "credentials": {"n": name},
              "roles": [role]},
        headers=admin,
    )  # fmt: skip
    assert vetted.status_code == 201, vetted.text
    return key


def _populate(http: httpx.Client, admin: dict[str, str]) -> tuple[str, str, tuple[str, str]]:
    brand = _vetted_key(http, admin, "brand", "Maison Exemple")
    merchant = _vetted_key(http, admin, "merchant", "Second Life Luxury")
    lab = _vetted_key(http, admin, "authenticator", "Authentic Lab")
    tag = uuid.uuid4().hex[:6].upper()

    clean_label = ("Maison Exemple", f"ME-{tag}-001")
    clean = http.post(
        "/items",
        json={"brand": clean_label[0], "serial": clean_label[1],
              "metadata": {"model": "Weekender 45", "colour": "tan"}},
        headers=_bearer(brand["api_key"]),
    )  # fmt: skip
    assert clean.status_code == 201, clean.text
    clean_id = clean.json()["item_id"]
    attested = http.post(
        f"/items/{clean_id}/attestations",
        json={"verdict": "authentic", "grade": "like_new", "evidence": {"report": "AL-1"}},
        headers=_bearer(lab["api_key"]),
    )
    assert attested.status_code == 201, attested.text

    stolen = http.post(
        "/items",
        json={"brand": "Maison Exemple", "serial": f"ME-{tag}-002", "metadata": {"model": "Tote"}},
        headers=_bearer(merchant["api_key"]),
    )
    assert stolen.status_code == 201, stolen.text
    stolen_id = stolen.json()["item_id"]
    flagged = http.post(
        f"/items/{stolen_id}/flags",
        json={"status": "stolen", "report": {"police": "PV-2291"}},
        headers=admin,
    )
    assert flagged.status_code == 201, flagged.text
    return clean_id, stolen_id, clean_label


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The gateway under uvicorn on 127.0.0.1, with a clean and a stolen item."""
    data_dir = tmp_path_factory.mktemp("browser-gateway")
    port = _free_port()
    settings = Settings(
        chain="embedded", data_dir=data_dir, port=port, keystore_work_factor=FAST_KDF
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, name="uvicorn-browser", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the gateway failed to start (see the log above)")
        if time.monotonic() > deadline:
            raise TimeoutError("the gateway did not start within 60 s")
        time.sleep(0.05)
    base_url = f"http://127.0.0.1:{port}"
    try:
        admin = _bearer((data_dir / "admin.key").read_text().strip())
        with httpx.Client(base_url=base_url, timeout=60) as http:
            clean, stolen, label = _populate(http, admin)
        yield Site(base_url=base_url, stolen=stolen, clean=clean, clean_label=label)
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        assert not thread.is_alive(), "the gateway did not shut down"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Tab:
    page: Any
    errors: list[str]


@pytest.fixture
def phone(browser: Any) -> Iterator[Tab]:
    """A phone-sized tab with JavaScript disabled: the page must work without it."""
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
        java_script_enabled=False,
    )  # fmt: skip
    yield from _tab(context)


@pytest.fixture
def desktop(browser: Any) -> Iterator[Tab]:
    context = browser.new_context(viewport=DESKTOP)
    yield from _tab(context)


def _tab(context: Any) -> Iterator[Tab]:
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "response",
        lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    try:
        yield Tab(page, errors)
    finally:
        context.close()


def _shot(page: Any, name: str) -> None:
    """What the screen shows first (``NAME.png``) and the whole page (``NAME-full.png``)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    page.screenshot(path=str(SCREENSHOTS / f"{name}-full.png"), full_page=True)


def _fits_the_screen(page: Any, width: int) -> None:
    """No sideways scrolling: the document, and every element, is at most ``width`` wide."""
    scroll_width: int = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the page is {scroll_width} px wide on a {width} px screen"
    widest: list[str] = page.evaluate(
        """width => [...document.querySelectorAll("body *")]
            .filter(el => el.getBoundingClientRect().right > width + 0.5)
            .map(el => el.tagName + "." + el.className)""",
        width,
    )
    assert widest == [], widest


def _verdict(page: Any) -> str:
    value: str = page.locator("[data-verdict]").get_attribute("data-verdict")
    return value


def _qr_loaded(page: Any) -> bool:
    image = page.locator(".qr img")
    loaded: bool = image.evaluate("img => img.complete && img.naturalWidth > 0")
    return loaded


def test_stolen_item_on_a_phone_says_do_not_buy(site: Site, phone: Tab) -> None:
    page = phone.page
    response = page.goto(f"{site.base_url}/verify/{site.stolen}")
    assert response is not None and response.status == 200
    banner = page.locator("section.verdict")
    assert _verdict(page) == "do_not_buy"
    assert banner.locator(".headline").inner_text() == "Do not buy"
    assert banner.is_visible()
    reason = page.locator("ul.reasons li.bad").first
    assert "R1" in reason.inner_text() and "Reported stolen" in reason.inner_text()
    assert page.get_by_text("Not brand-certified", exact=True).is_visible()
    assert page.get_by_role("link", name="Download the evidence bundle (JSON)").is_visible()
    assert page.locator(".qr img").is_visible()
    _fits_the_screen(page, PHONE["width"])
    _shot(page, "verify-stolen-phone")
    assert phone.errors == []


def test_clean_item_on_a_desktop_says_ok(site: Site, desktop: Tab) -> None:
    page = desktop.page
    page.goto(f"{site.base_url}/verify/{site.clean}")
    assert _verdict(page) == "ok"
    assert page.locator("section.verdict .headline").inner_text() == "OK to buy"
    assert page.get_by_text("Yes: brand-certified original", exact=True).is_visible()
    assert page.locator("ol.timeline li").count() == 2  # registered, inspected
    assert "Maison Exemple" in page.locator("ol.timeline").inner_text()
    # The stylesheet applied (the CSP hash matches) and the QR image loaded.
    background = page.locator("section.verdict").evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )
    assert background == "rgb(231, 245, 234)"
    assert _qr_loaded(page)
    _shot(page, "verify-clean-desktop")
    assert desktop.errors == []


def test_clean_item_on_a_phone(site: Site, phone: Tab) -> None:
    page = phone.page
    page.goto(f"{site.base_url}/verify/{site.clean}")
    assert _verdict(page) == "ok"
    _fits_the_screen(page, PHONE["width"])
    _shot(page, "verify-clean-phone")
    assert phone.errors == []


def test_lookup_form_leads_to_the_item_without_javascript(site: Site, phone: Tab) -> None:
    page = phone.page
    page.goto(f"{site.base_url}/verify")
    _fits_the_screen(page, PHONE["width"])
    _shot(page, "lookup-phone")
    brand, serial = site.clean_label
    page.get_by_label("Brand").fill(brand.upper())
    page.get_by_label("Serial number").fill(serial.lower().replace("-", " "))
    with page.expect_navigation():
        page.get_by_role("button", name="Check").click()
    assert page.url == f"{site.base_url}/verify/{site.clean}"
    assert _verdict(page) == "ok"


def test_unknown_item_shows_not_registered(site: Site, desktop: Tab) -> None:
    page = desktop.page
    response = page.goto(f"{site.base_url}/verify/0x{'ab' * 32}")
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", name="Not registered").is_visible()
    _shot(page, "verify-not-registered-desktop")
    # The document's own 404 is reported (as a response and on the console); nothing else is.
    assert [e for e in desktop.errors if "404" not in e] == []


def test_rule_links_lead_to_the_rule_table(site: Site, phone: Tab) -> None:
    page = phone.page
    page.goto(f"{site.base_url}/verify/{site.stolen}")
    with page.expect_navigation():
        page.locator("ul.reasons li.bad a.tag.rule").first.click()
    assert page.url == f"{site.base_url}/verify/rules#R1"
    assert page.locator("#R1").is_visible()
    _fits_the_screen(page, PHONE["width"])
    _shot(page, "rules-phone")
    assert phone.errors == []
