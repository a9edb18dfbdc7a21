"""The trust report (`ledger.trust.TrustReport.to_json`) as response models, and the verification
result that carries it.

The library's JSON is the source of truth; these models document its shape in the OpenAPI
schema. Addresses are checksummed, hashes 0x-hex, enums lowercase names, times unix seconds.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas.common import ResponseModel
from api.schemas.items import VerificationView

__all__ = [
    "AuthenticationView",
    "CounterfeitFindingView",
    "DisputeView",
    "FlagView",
    "ItemVerificationView",
    "ReasonView",
    "RegistrantView",
    "RetirementView",
    "ServiceView",
    "StandingChangeView",
    "TrustReportView",
    "TrustVerdictName",
]

TrustVerdictName = Literal["ok", "caution", "do_not_buy"]


class ReasonView(ResponseModel):
    rule_id: str = Field(description="The rule of `ledger.trust.RULES` that produced it (R1...).")
    severity: TrustVerdictName
    message: str


class StandingChangeView(ResponseModel):
    previous: str | None
    status: str
    by: str | None
    block_number: int
    timestamp: int


class RegistrantView(ResponseModel):
    address: str
    name: str | None
    role_at_registration: str = Field(description="'brand' or 'merchant'.")
    registered_block: int | None
    registered_at: int | None
    registered_tx: str | None
    active_at_registration: bool | None
    status_now: str | None
    roles_now: list[str] | None
    status_source: str | None
    changes_since_registration: list[StandingChangeView]
    summary: str


class AuthenticationView(ResponseModel):
    verdict: str
    grade: str | None
    by: str | None
    via_ruling: bool
    arbiter: str | None
    sale_id: int | None
    evidence_hash: str | None
    block_number: int
    timestamp: int
    tx_hash: str
    log_index: int


class CounterfeitFindingView(ResponseModel):
    source: str = Field(description="'authentication' or 'dispute_ruling'.")
    by: str | None
    sale_id: int | None
    block_number: int
    timestamp: int
    tx_hash: str
    overturned_by: AuthenticationView | None


class FlagView(ResponseModel):
    status: str
    by: str | None
    report_hash: str | None
    block_number: int
    timestamp: int
    cleared_by: str | None
    cleared_block: int | None
    cleared_at: int | None
    cleared: bool


class DisputeView(ResponseModel):
    sale_id: int | None
    buyer: str | None
    reason: str | None
    opened_block: int
    opened_at: int
    state: str = Field(description="'open', 'ruled', 'default_refund' or 'closed'.")
    ruling: str | None
    counterfeit: bool
    arbiter: str | None
    buyer_share_bps: int | None
    closed_block: int | None
    closed_at: int | None


class ServiceView(ResponseModel):
    kind: str
    by: str | None
    evidence_hash: str | None
    block_number: int
    timestamp: int


class RetirementView(ResponseModel):
    kind: str
    by: str | None
    evidence_hash: str | None
    block_number: int
    timestamp: int


class TrustReportView(ResponseModel):
    """What a buyer should know: a verdict, the reasons for it, and the facts they rest on."""

    item_id: str
    generated_at: int
    verdict: TrustVerdictName = Field(
        description="The worst severity among ``reasons``: ok, caution or do_not_buy."
    )
    reasons: list[ReasonView]
    status: str
    brand_certified: bool
    locked: bool
    registrant: RegistrantView
    latest_verdict: str
    latest_authentication: AuthenticationView | None
    authentications: list[AuthenticationView]
    counterfeit_findings: list[CounterfeitFindingView]
    flags: list[FlagView]
    disputes: list[DisputeView]
    services: list[ServiceView]
    retirement: RetirementView | None
    predecessors: list[str]
    successors: list[str]
    owners: list[str] = Field(description="Distinct holders, in the order they first held it.")
    distinct_owners: int
    transfers: int
    registered_at: int | None
    time_on_record: int | None
    other_events: list[str]


class ItemVerificationView(VerificationView):
    """`VerificationView` (does the metadata match) plus the item's trust report."""

    trust: TrustReportView
