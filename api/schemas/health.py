"""System health."""

from __future__ import annotations

from typing import Literal

from api.schemas.common import ResponseModel

__all__ = ["HealthView"]


class HealthView(ResponseModel):
    status: Literal["ok"] = "ok"
    chain: str
    chain_id: int
    latest_block: int
    contracts: dict[str, str]
    admin: str
    deployment_block: int
    indexed_block: int | None = None
    lag: int | None = None
