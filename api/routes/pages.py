"""The buyer's pages: ``/verify`` (look an item up by its label) and ``/verify/{item_id}`` (its
verdict, reasons, history, evidence and QR code), rendered on the server with no JavaScript.

These are for people, so their errors are pages too, never the API's JSON: a malformed id is a
400 page, an unknown item a 404 "not registered" page, an unreachable node a 503 page, and a bug
a plain 500 page (logged, nothing internal shown). The route class `HtmlRoute` turns every
exception raised while serving one of these routes, request validation included, into such a
page. They are left out of the OpenAPI schema: API clients use ``/items/{id}/trust``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.buyer_page import PartyBook, item_page_context, rules_context
from api.deps import GatewayDep, ReaderDep
from api.dossier import load_dossier
from api.html import render_page
from api.schemas.common import MAX_TEXT
from ledger.client import parse_item_id
from ledger.errors import (
    ChainUnavailableError,
    ConfigurationError,
    InputError,
    ItemNotRegistered,
    NotFound,
)
from ledger.hashing import item_id as label_item_id

__all__ = ["HtmlRoute", "router"]

log = logging.getLogger(__name__)


def _path(request: Request, name: str, **params: str) -> str:
    """A root-relative URL for route ``name`` (relative, so it survives proxies)."""
    return str(request.scope.get("root_path", "")) + str(request.app.url_path_for(name, **params))


def _common(request: Request) -> dict[str, Any]:
    lookup = _path(request, "verify_lookup")
    return {
        "lookup_url": lookup,
        "rules_url": _path(request, "trust_rules"),
        "page_base": lookup + "/",
    }


def _error_page(
    request: Request,
    status_code: int,
    title: str,
    message: str,
    *,
    details: tuple[str, ...] = (),
    tone: str = "warn",
    show_form: bool = True,
    brand: str = "",
    serial: str = "",
) -> Response:
    context = {
        **_common(request),
        "status_code": status_code,
        "title": title,
        "message": message,
        "details": details,
        "tone": tone,
        "show_form": show_form,
        "brand": brand,
        "serial": serial,
    }
    return render_page("error.html", context, status_code=status_code)


def _not_registered(request: Request, *, brand: str = "", serial: str = "") -> Response:
    if brand or serial:
        label = f"“{brand}” with serial “{serial}”"
    else:
        label = f"the id {request.path_params.get('item_id', '')}".rstrip()
    return _error_page(
        request,
        404,
        "Not registered",
        f"No item passport is registered for {label}.",
        details=(
            "Without a passport there is no recorded history: nobody has vouched for this item "
            "on the ledger, and a theft report could not be recorded against it.",
            "Check the brand and serial number against the label, or ask the seller for the "
            "item's passport link.",
        ),
        tone="bad",
        brand=brand,
        serial=serial,
    )


def _page_for_exception(request: Request, exc: Exception) -> Response:
    if isinstance(exc, NotFound):  # ItemNotRegistered
        return _not_registered(request)
    if isinstance(exc, InputError | RequestValidationError):
        return _error_page(
            request,
            400,
            "Not a valid item id",
            "This address does not name an item: an item id is 0x followed by 64 hexadecimal "
            "digits.",
            details=("Look the item up by its brand and serial number instead.",),
        )
    if isinstance(exc, ChainUnavailableError | ConfigurationError):
        log.warning("%s %s: %s", request.method, request.url.path, exc)
        return _error_page(
            request,
            503,
            "Temporarily unavailable",
            "The ledger cannot be reached right now. Please try again in a minute.",
            show_form=False,
        )
    if isinstance(exc, StarletteHTTPException):
        return _error_page(request, exc.status_code, "Cannot show this page", str(exc.detail))
    log.exception("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
    return _error_page(
        request,
        500,
        "Something went wrong",
        "This page could not be shown. Please try again later.",
        show_form=False,
    )


class HtmlRoute(APIRoute):
    """A route whose failures are HTML pages (see the module doc), not the API's JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def html_errors(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                return _page_for_exception(request, exc)

        return html_errors


router = APIRouter(tags=["pages"], route_class=HtmlRoute, include_in_schema=False)

_LabelPart = Annotated[str | None, Query()]


@router.get("/verify", name="verify_lookup")
def verify_lookup(
    request: Request, reader: ReaderDep, brand: _LabelPart = None, serial: _LabelPart = None
) -> Response:
    """The lookup form; with ``brand`` and ``serial``, a 303 to the item's page (or 404)."""
    brand_text, serial_text = (brand or "").strip(), (serial or "").strip()
    if not brand_text and not serial_text:
        return render_page("lookup.html", _common(request))
    if len(brand_text) > MAX_TEXT or len(serial_text) > MAX_TEXT:
        return _error_page(
            request,
            400,
            "Check the label",
            f"Brand and serial number are at most {MAX_TEXT} characters each.",
        )
    try:
        found = label_item_id(brand=brand_text, serial=serial_text)
    except ValueError:
        return _error_page(
            request,
            400,
            "Check the label",
            "Enter both the brand and the serial number as printed on the item's label.",
            brand=brand_text,
            serial=serial_text,
        )
    try:
        reader.item(found)
    except ItemNotRegistered:
        return _not_registered(request, brand=brand_text, serial=serial_text)
    return RedirectResponse(
        _path(request, "verify_page", item_id="0x" + bytes(found).hex()), status_code=303
    )


@router.get("/verify/rules", name="trust_rules")
def trust_rules(request: Request) -> Response:
    """The rule table behind every verdict."""
    return render_page("rules.html", {**_common(request), **rules_context()})


@router.get("/verify/{item_id}", name="verify_page")
def verify_page(item_id: str, request: Request, gateway: GatewayDep) -> Response:
    """The buyer's page of one item (the item and its history from the event index when it is
    caught up)."""
    reader = gateway.reader
    parsed = parse_item_id(item_id)  # InputError: the 400 page
    # ItemNotRegistered: the 404 page
    dossier = load_dossier(gateway.item_reads(), parsed)
    canonical = "0x" + bytes(parsed).hex()
    parties = PartyBook(reader, admin=reader.deployment.admin, markets=sorted(dossier.markets))
    context = item_page_context(
        dossier,
        parties,
        evidence_url=_path(request, "get_evidence", item_id=canonical),
        qr_svg_url=_path(request, "get_qr_svg", item_id=canonical),
        qr_png_url=_path(request, "get_qr_png", item_id=canonical),
    )
    return render_page("verify.html", {**_common(request), **context})


@router.get("/verify/{rest:path}", name="verify_unknown")
def verify_unknown(rest: str, request: Request) -> Response:
    """Anything else under ``/verify/``: the lookup form (``/verify/``) or a 404 page."""
    if not rest:
        return RedirectResponse(_path(request, "verify_lookup"), status_code=308)
    return _error_page(
        request,
        404,
        "Page not found",
        "There is no such page. An item's page is /verify/ followed by its id.",
    )
