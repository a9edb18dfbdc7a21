"""API keys."""

from __future__ import annotations

from pydantic import Field

from api.schemas.common import AddressStr, Name, RequestModel, ResponseModel
from ledger.keys import KeyRole

__all__ = ["KeyCreate", "KeyCreated", "KeyList", "KeyView"]


class KeyCreate(RequestModel):
    role: KeyRole
    name: Name
    address: AddressStr | None = Field(
        default=None,
        description="Account the key signs as; omitted: a new account is created (and funded "
        "on local chains). Admin keys always map to the platform admin.",
    )


class KeyView(ResponseModel):
    id: str
    role: KeyRole
    name: str
    address: str
    created_at: int
    revoked_at: int | None
    active: bool


class KeyCreated(KeyView):
    api_key: str = Field(description="The secret: shown this once, stored only as a hash.")
    account_created: bool
    funded_wei: int
    funding_tx_hash: str | None


class KeyList(ResponseModel):
    keys: list[KeyView]
