"""``GET /health``: is the chain reachable, where are the contracts."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter

from api.deps import GatewayDep
from api.routes._common import errors
from api.routing import GuardedRoute
from api.schemas.health import HealthView
from ledger.errors import LedgerError
from ledger.tx import translate_error

__all__ = ["router"]

router = APIRouter(tags=["health"], route_class=GuardedRoute)


def _describe(target: str) -> str:
    # An RPC URL often carries a provider API key in its path or credentials: show only where
    # it points.
    if target in ("embedded", "anvil"):
        return target
    parts = urlsplit(target)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


@router.get("/health", response_model=HealthView, responses=errors())
def health(gateway: GatewayDep) -> HealthView:
    w3 = gateway.connection.w3
    try:
        chain_id = int(w3.eth.chain_id)
        latest = int(w3.eth.block_number)
    except LedgerError:
        raise
    except Exception as exc:
        error = translate_error(exc, gateway.reader.decoder)
        if error is None:
            raise
        raise error from exc
    deployment = gateway.deployment
    index: dict[str, Any] = (
        gateway.indexer.status()
        if gateway.indexer is not None
        else {"indexed_block": None, "lag": None}
    )
    return HealthView(
        chain=_describe(gateway.settings.chain),
        chain_id=chain_id,
        latest_block=latest,
        contracts={"passport": deployment.passport},
        admin=deployment.admin,
        deployment_block=deployment.block_number,
        indexed_block=index["indexed_block"],
        lag=index["lag"],
    )
