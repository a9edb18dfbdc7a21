"""The lowercase names the API uses for the ledger's enums (``"like_new"``, ``"stolen"``...).

Each mirrors an enum of `ledger.types` member for member (minus the "none" placeholders that
cannot be requested); `to_ledger` converts by name, and a test keeps the two in step.
"""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import TypeVar

__all__ = [
    "FlagStatusName",
    "GradeName",
    "RetirementKindName",
    "RoleName",
    "ServiceKindName",
    "VerdictName",
    "to_ledger",
]

E = TypeVar("E", bound=Enum)


class VerdictName(StrEnum):
    AUTHENTIC = "authentic"
    COUNTERFEIT = "counterfeit"
    INCONCLUSIVE = "inconclusive"


class GradeName(StrEnum):
    UNGRADED = "ungraded"
    NEW = "new"
    LIKE_NEW = "like_new"
    EXCELLENT = "excellent"
    VERY_GOOD = "very_good"
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"


class ServiceKindName(StrEnum):
    REPAIR = "repair"
    REFURBISHMENT = "refurbishment"
    PART_REPLACEMENT = "part_replacement"
    OTHER = "other"


class RetirementKindName(StrEnum):
    RECYCLED = "recycled"
    DESTROYED = "destroyed"
    DISMANTLED = "dismantled"
    REMANUFACTURED = "remanufactured"


class FlagStatusName(StrEnum):
    LOST = "lost"
    STOLEN = "stolen"


class RoleName(StrEnum):
    MERCHANT = "merchant"
    AUTHENTICATOR = "authenticator"
    ARBITER = "arbiter"
    BRAND = "brand"


def to_ledger(enum: type[E], value: StrEnum) -> E:
    """The member of the ledger ``enum`` named like ``value``."""
    return enum[value.name]
