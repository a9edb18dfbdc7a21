"""The API's enum names mirror `ledger.types` member for member."""

from __future__ import annotations

from enum import Enum

import pytest

from api.schemas import enums
from ledger.types import ConditionGrade, RetirementKind, Role, ServiceKind, Verdict


@pytest.mark.parametrize(
    ("api_enum", "ledger_enum", "left_out"),
    [
        (enums.VerdictName, Verdict, {"NONE"}),
        (enums.GradeName, ConditionGrade, set()),
        (enums.ServiceKindName, ServiceKind, set()),
        (enums.RetirementKindName, RetirementKind, set()),
        (enums.RoleName, Role, set()),
    ],
)
def test_names_match(api_enum: type[Enum], ledger_enum: type[Enum], left_out: set[str]) -> None:
    assert {m.name for m in api_enum} == {m.name for m in ledger_enum} - left_out
    assert all(m.value == m.name.lower() for m in api_enum)


def test_flag_statuses_are_item_statuses() -> None:
    from ledger.types import ItemStatus

    assert {m.name for m in enums.FlagStatusName} <= {m.name for m in ItemStatus}
