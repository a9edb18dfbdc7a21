"""Vetted accounts (merchants, brands, authenticators, arbiters)."""

from __future__ import annotations

from pydantic import Field, field_validator

from api.schemas.common import (
    AddressStr,
    Credentials,
    EvidenceValue,
    Name,
    RequestModel,
    ResponseModel,
)
from api.schemas.enums import RoleName

__all__ = ["MerchantCreate", "MerchantStatusChange", "MerchantView", "MerchantWriteView"]


class MerchantCreate(RequestModel):
    address: AddressStr
    name: Name
    credentials: Credentials = Field(
        description="The vetting dossier; only its RFC 8785 hash goes on chain."
    )
    roles: list[RoleName] = Field(default=[RoleName.MERCHANT], min_length=1, max_length=4)
    reason: EvidenceValue | None = None

    @field_validator("roles")
    @classmethod
    def _unique(cls, value: list[RoleName]) -> list[RoleName]:
        return list(dict.fromkeys(value))


class MerchantStatusChange(RequestModel):
    reason: EvidenceValue


class MerchantView(ResponseModel):
    address: str
    id: int
    name: str
    roles: list[str]
    status: str
    vetted_at: int
    updated_at: int
    credential_hash: str


class MerchantWriteView(ResponseModel):
    address: str
    tx_hash: str
    block_number: int
    gas_used: int
    merchant: MerchantView
