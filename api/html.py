"""Server-rendered HTML for people: the Jinja2 environment and the response headers of a page.

Pages carry no JavaScript at all, and say so to the browser: the Content-Security-Policy allows
no scripts, images from this origin only, and exactly one stylesheet, the inline one whose hash
is computed here (so an injected ``<style>`` or ``<script>`` would not run even if escaping ever
failed). Autoescaping is on for every template.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

__all__ = ["PAGE_HEADERS", "render_page"]

_HERE = Path(__file__).resolve().parent
_CSS = (_HERE / "static" / "verify.css").read_text(encoding="utf-8")
_CSS_HASH = base64.b64encode(hashlib.sha256(_CSS.encode("utf-8")).digest()).decode("ascii")

PAGE_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; "
        f"style-src 'sha256-{_CSS_HASH}'; "
        "img-src 'self' data:; "  # data: for the empty favicon (no /favicon.ico request)
        "form-action 'self'; "
        "base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # A verdict can change at any block (a theft report): never show a stale one.
    "Cache-Control": "no-store",
}

_env = Environment(
    loader=FileSystemLoader(_HERE / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.globals["stylesheet"] = Markup(_CSS)  # our own file, trusted; hashed in the CSP above


def render_page(
    template: str, context: Mapping[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """``template`` rendered with ``context`` as a complete page response."""
    html = _env.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=dict(PAGE_HEADERS))
