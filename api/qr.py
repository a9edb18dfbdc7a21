"""QR codes for item labels: each encodes the absolute URL of the item's buyer's page.

segno writes both SVG and PNG itself (no Pillow). The URL's base is ``PROVENANCE_PUBLIC_URL``
when it is set (what a phone scanning a printed label must reach), else the base URL of the
request that asked for the code.
"""

from __future__ import annotations

import io

import segno
from fastapi import Request

from api.settings import Settings

__all__ = ["page_url", "qr_png", "qr_svg"]

_SCALE_SVG = 4
_SCALE_PNG = 8  # 41 modules (version 6) + 2 x 4 border, times 8: about 400 pixels
_BORDER = 4  # the quiet zone the QR standard asks for


def page_url(*, settings: Settings, request: Request, item_hex: str) -> str:
    """The absolute URL of ``/verify/{item_hex}``."""
    path = request.app.url_path_for("verify_page", item_id=item_hex)
    if settings.public_url:
        return settings.public_url.rstrip("/") + str(path)
    return str(request.url_for("verify_page", item_id=item_hex))


def _code(url: str) -> segno.QRCode:
    # Level M survives a scuffed or partly covered label (15% of modules) at a modest size.
    return segno.make_qr(url, error="m", boost_error=False)


def qr_svg(url: str) -> bytes:
    out = io.BytesIO()
    _code(url).save(
        out, kind="svg", scale=_SCALE_SVG, border=_BORDER, title=url, xmldecl=True, svgclass=None
    )
    return out.getvalue()


def qr_png(url: str) -> bytes:
    out = io.BytesIO()
    _code(url).save(out, kind="png", scale=_SCALE_PNG, border=_BORDER)
    return out.getvalue()
