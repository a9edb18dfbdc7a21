"""The trust report: what a buyer should know about an item, and a plain verdict.

Why this exists: a buyer wants one answer (``ok``, ``caution`` or ``do_not_buy``) and must be able
to see exactly why; a platform must be able to defend that answer to a seller. So there is no
opaque score: a fixed, documented rule table (`RULES`) maps facts to reasons, every reason names
its rule, and the verdict is simply the worst severity among the reasons.

The logic is source-agnostic: it reads a list of `HistoryEvent`-shaped records (``kind``,
``actor``, ``block_number``, ``timestamp``, ``tx_hash``, ``log_index``, ``data``...), whether they
were rebuilt from the chain by `ledger.history` or read from the SQLite indexer. Kinds it does not
know (say, market events added later) are listed in `TrustReport.other_events` and otherwise
ignored; kinds and field names are matched loosely (``dispute_opened``, ``DisputeOpened``;
``sale_id``, ``saleId``), and enum values may be lowercase names or ordinals.

The item's current on-chain state (`Item`) is authoritative; the history says who did what and
when. When the two disagree (a stale or partial index) the report says so (rule R10) rather than
trusting either silently.

`report_for_item` gathers everything from a `ProvenanceClient`; `build_trust_report` is the pure
function underneath, for callers that already hold the records (the gateway over its index).
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, datetime
from enum import Enum, IntEnum
from typing import Any, Protocol, TypeVar, cast

from eth_typing import ChecksumAddress, HexStr
from eth_utils import is_address, to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.types import BlockIdentifier, FilterParams

from ledger.client import ProvenanceClient, parse_item_id
from ledger.errors import ErrorDecoder, InputError, LedgerError
from ledger.tx import translate_error
from ledger.types import (
    Account,
    AccountStatus,
    ConditionGrade,
    Item,
    ItemId,
    ItemStatus,
    RetirementKind,
    Role,
    ServiceKind,
    Verdict,
)

__all__ = [
    "RULES",
    "RULES_BY_ID",
    "AccountEvent",
    "AccountEventRecord",
    "Authentication",
    "CounterfeitFinding",
    "DisputeRecord",
    "FlagRecord",
    "HistoryRecord",
    "Reason",
    "RegistrantStanding",
    "Retirement",
    "Rule",
    "ServiceRecord",
    "StandingChange",
    "TrustReport",
    "TrustVerdict",
    "build_trust_report",
    "known_markets",
    "registrant_events",
    "report_for_item",
    "report_from_history",
    "rules_markdown",
]


# ---------------------------------------------------------------------- verdicts and rules


class TrustVerdict(IntEnum):
    """The plain answer, ordered from best to worst so that the verdict is ``max(severities)``."""

    OK = 0
    CAUTION = 1
    DO_NOT_BUY = 2

    @property
    def label(self) -> str:
        """``"ok"``, ``"caution"`` or ``"do_not_buy"``: what JSON and people see."""
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the rule table: the fact that triggers it, what it yields, and why."""

    rule_id: str
    severity: TrustVerdict
    when: str
    why: str


RULES: tuple[Rule, ...] = (
    Rule(
        "R1",
        TrustVerdict.DO_NOT_BUY,
        "The item is reported lost or stolen now.",
        "A flagged item cannot be transferred on chain; buying it may mean buying stolen goods.",
    ),
    Rule(
        "R2",
        TrustVerdict.DO_NOT_BUY,
        "The item is retired (recycled, destroyed, dismantled or remanufactured).",
        "A retired passport can never move again; the item should no longer exist as sold.",
    ),
    Rule(
        "R3",
        TrustVerdict.DO_NOT_BUY,
        "A counterfeit finding stands: the latest verdict is Counterfeit, or a Counterfeit "
        "verdict (by an authenticator or a dispute ruling) was never followed by an Authentic "
        "one.",
        "Conservative: an Inconclusive inspection after a counterfeit finding does not clear it.",
    ),
    Rule(
        "R4",
        TrustVerdict.CAUTION,
        "A dispute about the item is open in the resale market.",
        "Its outcome (refund, counterfeit finding) is not known yet.",
    ),
    Rule(
        "R5",
        TrustVerdict.CAUTION,
        "The registrant is now suspended, revoked or no longer vetted.",
        "It was in good standing when it registered the item, but has lost that standing since.",
    ),
    Rule(
        "R6",
        TrustVerdict.CAUTION,
        "The item was never authenticated and is not brand-certified.",
        "Only the registrant's word vouches for it.",
    ),
    Rule(
        "R7",
        TrustVerdict.CAUTION,
        "The latest authentication verdict is Inconclusive.",
        "The last inspection could not confirm that the item is genuine.",
    ),
    Rule(
        "R8",
        TrustVerdict.CAUTION,
        "The item is locked in the resale market's escrow (in an open sale).",
        "Someone has already paid for it; it cannot change hands until that sale settles.",
    ),
    Rule(
        "R9",
        TrustVerdict.CAUTION,
        "A past counterfeit finding was overturned by a later Authentic verdict.",
        "Two inspections disagreed; the buyer should weigh both (the report names both parties).",
    ),
    Rule(
        "R10",
        TrustVerdict.CAUTION,
        "The history does not agree with the item's on-chain state.",
        "The history is incomplete or stale (an index behind the chain?); facts may be missing.",
    ),
    Rule(
        "P1",
        TrustVerdict.OK,
        "The item is brand-certified (registered by the brand itself).",
        "The brand vouches for it as an original.",
    ),
    Rule(
        "P2",
        TrustVerdict.OK,
        "The latest authentication verdict is Authentic.",
        "A vetted authenticator inspected it and found it genuine.",
    ),
    Rule(
        "P3",
        TrustVerdict.OK,
        "The registrant was active at registration and is active now.",
        "Registering requires active standing; the current record shows it still holds it.",
    ),
    Rule(
        "N1",
        TrustVerdict.OK,
        "A past lost or stolen report was cleared.",
        "Informational: the flag no longer applies, but the buyer may want to know.",
    ),
    Rule(
        "N2",
        TrustVerdict.OK,
        "A past dispute about the item was closed without a counterfeit finding.",
        "Informational: the ruling or settlement is listed in the report.",
    ),
    Rule(
        "N3",
        TrustVerdict.OK,
        "The item has service or repair records.",
        "Informational: repairs and part replacements affect value and originality.",
    ),
    Rule(
        "N4",
        TrustVerdict.OK,
        "Ownership and time on record.",
        "Informational: how many distinct owners held the passport and for how long it exists.",
    ),
    Rule(
        "N5",
        TrustVerdict.OK,
        "The item continues a retired passport (a remanufactured product).",
        "Informational: its predecessor's history is relevant too.",
    ),
)
"""The rule table; the verdict is the worst severity of the reasons these rules produce.

R* rules can lower the verdict, P* are positive reasons, N* are informational notes.
"""

RULES_BY_ID: Mapping[str, Rule] = {rule.rule_id: rule for rule in RULES}


def rules_markdown() -> str:
    """The rule table as a Markdown table (for README / docs), generated from `RULES`."""
    lines = ["| id | fact | yields | why |", "|---|---|---|---|"]
    for rule in RULES:
        lines.append(f"| {rule.rule_id} | {rule.when} | {rule.severity.label} | {rule.why} |")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason for the verdict: the rule it comes from, its severity, and a sentence."""

    rule_id: str
    severity: TrustVerdict
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "severity": self.severity.label, "message": self.message}


# ---------------------------------------------------------------------- input shapes


class HistoryRecord(Protocol):
    """What the report reads from one item event; `ledger.history.HistoryEvent` fits."""

    @property
    def kind(self) -> str: ...
    @property
    def item_id(self) -> ItemId: ...
    @property
    def actor(self) -> ChecksumAddress | None: ...
    @property
    def block_number(self) -> int: ...
    @property
    def tx_hash(self) -> str: ...
    @property
    def log_index(self) -> int: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def data(self) -> Mapping[str, Any]: ...


class AccountEventRecord(Protocol):
    """What the report reads from one event of the registrant's account; `AccountEvent` fits."""

    @property
    def kind(self) -> str: ...
    @property
    def actor(self) -> ChecksumAddress | None: ...
    @property
    def block_number(self) -> int: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def data(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class AccountEvent:
    """An ``AccountVetted`` / ``AccountStatusChanged`` event of one account, rendered like
    `ledger.history.HistoryEvent` (snake_case fields, enums as lowercase names, hashes as hex).

    ``kind`` is ``"account_vetted"`` or ``"account_status_changed"``; ``actor`` is the admin.
    """

    kind: str
    account: ChecksumAddress
    actor: ChecksumAddress | None
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    timestamp: int
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "account": self.account,
            "actor": self.actor,
            "block_number": self.block_number,
            "block_hash": self.block_hash,
            "tx_hash": self.tx_hash,
            "log_index": self.log_index,
            "timestamp": self.timestamp,
            "data": dict(self.data),
        }


# ---------------------------------------------------------------------- report records


@dataclass(frozen=True, slots=True)
class StandingChange:
    """A change of the registrant's standing, from its account history."""

    previous: AccountStatus | None
    status: AccountStatus
    by: ChecksumAddress | None
    block_number: int
    timestamp: int


@dataclass(frozen=True, slots=True)
class RegistrantStanding:
    """Who registered the item, in what standing then (implied by the registration) and now."""

    address: ChecksumAddress
    name: str | None
    role_at_registration: str
    """``"brand"`` when the item is brand-certified (only Brand accounts certify), else
    ``"merchant"``."""
    registered_block: int | None
    registered_at: int | None
    registered_tx: str | None
    active_at_registration: bool | None
    """True when the registration event is in the history: the contract only lets active accounts
    register, so the event proves active standing at that block. None when the event is missing."""
    status_now: AccountStatus | None
    roles_now: Role | None
    status_source: str | None
    """``"account_record"``, ``"registrant_history"`` or None (not checked)."""
    changes_since_registration: tuple[StandingChange, ...]
    summary: str


@dataclass(frozen=True, slots=True)
class Authentication:
    """One verdict on the item: an authenticator's inspection or a dispute ruling's finding."""

    verdict: Verdict
    grade: ConditionGrade | None
    by: ChecksumAddress | None
    """The authenticator; for a ruling, the market contract that recorded it."""
    via_ruling: bool
    arbiter: ChecksumAddress | None
    sale_id: int | None
    evidence_hash: str | None
    block_number: int
    timestamp: int
    tx_hash: str
    log_index: int


@dataclass(frozen=True, slots=True)
class CounterfeitFinding:
    """A Counterfeit verdict or a counterfeit dispute ruling, and whether it was overturned."""

    source: str
    """``"authentication"`` or ``"dispute_ruling"``."""
    by: ChecksumAddress | None
    """The authenticator, or the arbiter who ruled."""
    sale_id: int | None
    block_number: int
    timestamp: int
    tx_hash: str
    overturned_by: Authentication | None


@dataclass(frozen=True, slots=True)
class FlagRecord:
    """A lost or stolen report and, if it was cleared, when and by whom."""

    status: ItemStatus
    by: ChecksumAddress | None
    report_hash: str | None
    block_number: int
    timestamp: int
    cleared_by: ChecksumAddress | None
    cleared_block: int | None
    cleared_at: int | None

    @property
    def cleared(self) -> bool:
        return self.cleared_block is not None


@dataclass(frozen=True, slots=True)
class DisputeRecord:
    """A resale-market dispute about the item, open or closed."""

    sale_id: int | None
    buyer: ChecksumAddress | None
    reason: str | None
    opened_block: int
    opened_at: int
    state: str
    """``"open"``, ``"ruled"``, ``"default_refund"`` or ``"closed"`` (settled otherwise)."""
    ruling: str | None
    counterfeit: bool
    arbiter: ChecksumAddress | None
    buyer_share_bps: int | None
    closed_block: int | None
    closed_at: int | None


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    kind: str
    by: ChecksumAddress | None
    evidence_hash: str | None
    block_number: int
    timestamp: int


@dataclass(frozen=True, slots=True)
class Retirement:
    kind: str
    by: ChecksumAddress | None
    evidence_hash: str | None
    block_number: int
    timestamp: int


@dataclass(frozen=True, slots=True)
class TrustReport:
    """Everything the verdict rests on; `to_json` renders it for the API and the CLI."""

    item_id: ItemId
    generated_at: int
    verdict: TrustVerdict
    reasons: tuple[Reason, ...]
    status: ItemStatus
    brand_certified: bool
    locked: bool
    registrant: RegistrantStanding
    latest_verdict: Verdict
    latest_authentication: Authentication | None
    authentications: tuple[Authentication, ...]
    counterfeit_findings: tuple[CounterfeitFinding, ...]
    flags: tuple[FlagRecord, ...]
    disputes: tuple[DisputeRecord, ...]
    services: tuple[ServiceRecord, ...]
    retirement: Retirement | None
    predecessors: tuple[str, ...]
    successors: tuple[str, ...]
    owners: tuple[ChecksumAddress, ...]
    """Distinct holders of the passport, in the order they first held it."""
    transfers: int
    registered_at: int | None
    time_on_record: int | None
    """Seconds from the registration to ``generated_at``; None without a registration event."""
    other_events: tuple[str, ...]
    """Kinds in the history this module does not interpret (one entry per kind)."""

    @property
    def distinct_owners(self) -> int:
        return len(self.owners)

    def reasons_for(self, rule_id: str) -> list[Reason]:
        return [reason for reason in self.reasons if reason.rule_id == rule_id]

    def to_json(self) -> dict[str, Any]:
        rendered = _jsonable(self)
        assert isinstance(rendered, dict)
        rendered["distinct_owners"] = self.distinct_owners
        return rendered


def _jsonable(value: Any) -> Any:
    if isinstance(value, Reason):
        return value.to_json()
    if isinstance(value, TrustVerdict):
        return value.label
    if isinstance(value, Role):
        return [role.name.lower() for role in Role if role in value and role.name]
    if isinstance(value, Enum):
        return value.name.lower()
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if is_dataclass(value) and not isinstance(value, type):
        out = {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
        if isinstance(value, FlagRecord):
            out["cleared"] = value.cleared
        return out
    if isinstance(value, list | tuple):
        return [_jsonable(entry) for entry in value]
    if isinstance(value, Mapping):
        return {str(key): _jsonable(entry) for key, entry in value.items()}
    return value


# ---------------------------------------------------------------------- lenient field readers

_KIND_NAMES: Mapping[str, tuple[str, ...]] = {
    "registered": ("ItemRegistered",),
    "metadata_updated": ("MetadataUpdated",),
    "succeeded": ("ItemSucceeded",),
    "transferred": ("Transfer", "transfer"),
    "sale_recorded": ("SaleRecorded",),
    "authenticated": ("ItemAuthenticated",),
    "serviced": ("ItemServiced",),
    "flagged": ("ItemFlagged",),
    "flag_cleared": ("FlagCleared",),
    "retired": ("ItemRetired",),
    "locked": ("ItemLocked",),
    "unlocked": ("ItemUnlocked",),
    "approval": ("Approval", "approved"),
    "listed": ("Listed",),
    "listing_cancelled": ("ListingCancelled",),
    "order_cancelled": ("OrderCancelled",),
    "purchased": ("Purchased",),
    "shipped": ("Shipped",),
    "dispute_opened": ("DisputeOpened",),
    "evidence_submitted": ("EvidenceSubmitted",),
    "dispute_ruled": ("DisputeRuled",),
    "sale_settled": ("SaleSettled",),
    "account_vetted": ("AccountVetted", "vetted"),
    "account_status_changed": ("AccountStatusChanged", "status_changed"),
}
# Kinds that carry nothing the verdict needs but are expected in a history.
_QUIET_KINDS = frozenset(
    {
        "metadata_updated",
        "sale_recorded",
        "approval",
        "listed",
        "listing_cancelled",
        "order_cancelled",
        "purchased",
        "shipped",
        "evidence_submitted",
    }
)


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


_CANONICAL_KIND: Mapping[str, str] = {
    _squash(alias): canonical
    for canonical, aliases in _KIND_NAMES.items()
    for alias in (canonical, *aliases)
}


def _kind(raw: object) -> str:
    text = str(raw)
    return _CANONICAL_KIND.get(_squash(text), text)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _field(data: Mapping[str, Any], name: str) -> Any:
    if name in data:
        return data[name]
    return data.get(_camel(name))


_E = TypeVar("_E", bound=IntEnum)


def _enum(enum: type[_E], value: object) -> _E | None:
    if isinstance(value, enum):
        return value
    try:
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return enum(value)
        if isinstance(value, str):
            text = value.strip()
            if text.isdigit():
                return enum(int(text))
            return enum[text.upper().replace(" ", "_").replace("-", "_")]
    except (KeyError, ValueError):
        return None
    return None


# Market enums, by ordinal (contracts/types/MarketTypes.sol); names as the history renders them.
_DISPUTE_REASONS = ("none", "not_received", "not_as_described", "counterfeit", "other")
_RULINGS = ("none", "refund", "release", "partial_refund")
_SETTLEMENTS = ("confirmed", "finalized", "cancelled_unshipped", "ruled", "default_refund")


def _name(names: Sequence[str], value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return names[value] if 0 <= value < len(names) else str(value)
    if isinstance(value, Enum):
        return value.name.lower()
    text = str(value).strip()
    if text.isdigit():
        return _name(names, int(text))
    return text.lower()


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text, 16) if text[:2].lower() == "0x" else int(text)
        except ValueError:
            return None
    return None


def _bool(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def _address(value: object) -> ChecksumAddress | None:
    if isinstance(value, str) and is_address(value.lower()):
        return to_checksum_address(value)
    return None


def _hex(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    return str(value)


def _item_bytes(value: object) -> bytes | None:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str) and value[:2].lower() == "0x":
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            return None
    return None


def _date(timestamp: int | None) -> str:
    if timestamp is None:
        return "an unknown date"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def _when(block: int | None, timestamp: int | None) -> str:
    if block is None:
        return "an unknown block"
    return f"{_date(timestamp)} (block {block})"


def _at(block: int | None, timestamp: int | None) -> str:
    return "at an unknown block" if block is None else f"on {_when(block, timestamp)}"


def _duration(seconds: int) -> str:
    days = seconds // 86400
    if days >= 1:
        return f"{days} day{'s' if days != 1 else ''}"
    hours = seconds // 3600
    return f"{hours} hour{'s' if hours != 1 else ''}"


# ---------------------------------------------------------------------- the report


_ZERO_ADDRESS = "0x" + "00" * 20


def build_trust_report(
    *,
    item: Item,
    history: Sequence[HistoryRecord | Mapping[str, Any]],
    registrant_record: Account | None,
    registrant_history: Sequence[AccountEventRecord | Mapping[str, Any]] | None,
    now: int,
    markets: Collection[str] = (),
) -> TrustReport:
    """The trust report and verdict for ``item`` from its ``history`` (any source, see module doc).

    Records may be objects (`HistoryEvent`, `AccountEvent`) or their JSON form (the indexer's
    ``IndexReader.history(item_id, all_events=True)`` rows). ``registrant_record`` is the
    registrant's current account record (None: current standing not
    checked); ``registrant_history`` its ``AccountVetted`` / ``AccountStatusChanged`` events (None:
    not available; they date changes of standing). ``now`` (unix seconds) dates the report and
    measures time on record. ``markets`` names resale-market contracts, so that the verdicts they
    record are shown as dispute rulings; addresses seen locking the item count as markets too.

    Raises `InputError` when the inputs are about another item or another account.
    """
    if not isinstance(item, Item):
        raise InputError("item must be an ledger.types.Item", field="item")
    if isinstance(now, bool) or not isinstance(now, int) or now < 0:
        raise InputError("now must be a unix timestamp in seconds", field="now")
    if registrant_record is not None and registrant_record.address != item.registrant:
        raise InputError(
            f"registrant_record is for {registrant_record.address}, "
            f"but the item's registrant is {item.registrant}",
            field="registrant_record",
        )
    events = _checked_history(item, history)
    return _Builder(
        item=item,
        events=events,
        record=registrant_record,
        account_events=(
            [
                _normalise(e, where=f"registrant_history[{n}]", needs_item=False)
                for n, e in enumerate(registrant_history)
            ]
            if registrant_history is not None
            else None
        ),
        now=now,
        markets={a for a in (_address(m) for m in markets) if a is not None},
    ).build()


@dataclass(frozen=True, slots=True)
class _Event:
    """One input record, normalised: objects (`HistoryEvent`, `AccountEvent`) and their JSON
    form (``to_json()``, which is what the indexer's reader returns) both end up here."""

    kind: str
    item_id: object
    actor: ChecksumAddress | None
    block_number: int
    tx_hash: str
    log_index: int
    timestamp: int
    data: Mapping[str, Any]


def _normalise(record: object, *, where: str, needs_item: bool) -> _Event:
    def get(name: str, default: object = None, required: bool = True) -> Any:
        if isinstance(record, Mapping):
            if name in record:
                return record[name]
        elif hasattr(record, name):
            return getattr(record, name)
        if required:
            raise InputError(f"{where} lacks {name}", field=f"{where}.{name}")
        return default

    data = get("data")
    if not isinstance(data, Mapping):
        raise InputError(f"{where}.data must be a mapping", field=f"{where}.data")
    numbers: dict[str, int] = {}
    for name, required in (("block_number", True), ("log_index", False), ("timestamp", True)):
        value = get(name, 0, required)
        number = _int(value)
        if number is None or number < 0:
            raise InputError(
                f"{where}.{name} must be a non-negative integer", field=f"{where}.{name}"
            )
        numbers[name] = number
    return _Event(
        kind=_kind(get("kind")),
        item_id=get("item_id", None, needs_item),
        actor=_address(get("actor", None, False)),
        block_number=numbers["block_number"],
        tx_hash=str(get("tx_hash", "", False) or ""),
        log_index=numbers["log_index"],
        timestamp=numbers["timestamp"],
        data=data,
    )


def _checked_history(item: Item, history: Sequence[object]) -> list[_Event]:
    events: list[_Event] = []
    for n, record in enumerate(history):
        event = _normalise(record, where=f"history[{n}]", needs_item=True)
        if _item_bytes(event.item_id) != bytes(item.item_id):
            raise InputError(
                f"history[{n}] is about another item ({_hex(event.item_id)})",
                field=f"history[{n}].item_id",
            )
        events.append(event)
    # Chain order; a stable sort keeps the caller's order for records without distinct indexes.
    return sorted(events, key=lambda e: (e.block_number, e.log_index))


class _Builder:
    """One report; holds the intermediate facts so each rule reads like its table row."""

    def __init__(
        self,
        *,
        item: Item,
        events: list[_Event],
        record: Account | None,
        account_events: list[_Event] | None,
        now: int,
        markets: set[ChecksumAddress],
    ) -> None:
        self.item = item
        self.events = events
        self.record = record
        self.account_events = account_events
        self.now = now
        self.markets = markets
        self.reasons: list[Reason] = []
        self.other_kinds: list[str] = []
        self.inconsistencies: list[str] = []

    def add(self, rule_id: str, message: str) -> None:
        self.reasons.append(Reason(rule_id, RULES_BY_ID[rule_id].severity, message))

    # ------------------------------------------------------------------ facts

    def build(self) -> TrustReport:
        item = self.item
        by_kind: dict[str, list[_Event]] = {}
        for event in self.events:
            kind = _kind(event.kind)
            by_kind.setdefault(kind, []).append(event)
            if kind not in _KIND_NAMES and kind not in self.other_kinds:
                self.other_kinds.append(kind)
        self.markets |= {
            a
            for e in by_kind.get("locked", []) + by_kind.get("unlocked", [])
            if (a := _address(e.actor) or _address(_field(e.data, "market"))) is not None
        }

        registration = by_kind.get("registered", [None])[0]
        disputes, rulings = self._disputes(by_kind)
        authentications = self._authentications(by_kind.get("authenticated", []), rulings)
        findings = self._counterfeit_findings(authentications, rulings)
        flags = self._flags(by_kind)
        services = tuple(
            ServiceRecord(
                kind=_name([k.name.lower() for k in ServiceKind], _field(e.data, "kind"))
                or "unknown",
                by=_address(e.actor) or _address(_field(e.data, "by")),
                evidence_hash=_hex(_field(e.data, "evidence_hash")),
                block_number=int(e.block_number),
                timestamp=int(e.timestamp),
            )
            for e in by_kind.get("serviced", [])
        )
        retirement = self._retirement(by_kind.get("retired", []))
        predecessors, successors = self._lineage(by_kind.get("succeeded", []))
        owners, transfers = self._owners(by_kind.get("transferred", []))
        registrant = self._registrant(registration)
        registered_at = int(registration.timestamp) if registration is not None else None
        on_record = max(0, self.now - registered_at) if registered_at is not None else None
        latest = authentications[-1] if authentications else None

        self._check_consistency(registration, latest, flags, retirement)

        # ---- the rules, in table order
        self._rule_flags(flags)
        self._rule_retired(retirement, successors)
        self._rule_counterfeit(findings)
        self._rule_disputes(disputes)
        self._rule_registrant(registrant)
        if not item.brand_certified and not authentications and item.last_verdict == Verdict.NONE:
            self.add(
                "R6",
                "Never authenticated and not brand-certified: only the registrant vouches for it.",
            )
        if item.last_verdict == Verdict.INCONCLUSIVE:
            self.add("R7", "The latest inspection was inconclusive" + self._given_by(latest) + ".")
        if item.locked:
            self.add(
                "R8",
                "Locked in the resale market's escrow: it is in an open sale and cannot change "
                "hands until that sale settles.",
            )
        if (
            findings
            and all(f.overturned_by is not None for f in findings)
            and not any(r.rule_id == "R3" for r in self.reasons)
        ):
            last = findings[-1]
            assert last.overturned_by is not None
            same = last.overturned_by.by is not None and last.overturned_by.by == last.by
            self.add(
                "R9",
                f"Found counterfeit {self._finding_text(last)}, then authentic"
                f"{self._given_by(last.overturned_by)}"
                + (" (the same party changed its verdict)" if same else "")
                + ".",
            )
        if self.inconsistencies:
            self.add(
                "R10",
                "The history does not agree with the on-chain state: "
                + "; ".join(self.inconsistencies)
                + ".",
            )
        # ---- positive reasons and notes
        if item.brand_certified:
            self.add(
                "P1",
                f"Brand-certified original: registered by the brand "
                f"{self._who(registrant)} {_at(registrant.registered_block, registered_at)}.",
            )
        if item.last_verdict == Verdict.AUTHENTIC and latest is not None and not latest.via_ruling:
            grade = (
                f", condition {latest.grade.name.lower().replace('_', ' ')}"
                if latest.grade not in (None, ConditionGrade.UNGRADED)
                else ""
            )
            self.add(
                "P2",
                f"Authenticated as authentic{self._given_by(latest)}{grade}.",
            )
        if registrant.active_at_registration and registrant.status_now == AccountStatus.ACTIVE:
            self.add("P3", registrant.summary)
        for flag in flags:
            if flag.cleared:
                self.add(
                    "N1",
                    f"Reported {flag.status.name.lower()} {_at(flag.block_number, flag.timestamp)}"
                    f"; the report was cleared {_at(flag.cleared_block, flag.cleared_at)}.",
                )
        for dispute in disputes:
            if dispute.state != "open" and not dispute.counterfeit:
                self.add("N2", self._dispute_text(dispute))
        if services:
            kinds = ", ".join(
                f"{s.kind.replace('_', ' ')} {_at(s.block_number, s.timestamp)}" for s in services
            )
            self.add("N3", f"{len(services)} service record(s): {kinds}.")
        owners_text = (
            f"{len(owners)} distinct owner{'s' if len(owners) != 1 else ''}, "
            f"{transfers} transfer{'s' if transfers != 1 else ''}"
        )
        if on_record is not None:
            owners_text += f", on record for {_duration(on_record)} (since {_date(registered_at)})"
        self.add("N4", owners_text + ".")
        for predecessor in predecessors:
            self.add("N5", f"Continues the retired passport {predecessor}; see its history too.")

        verdict = max((r.severity for r in self.reasons), default=TrustVerdict.OK)
        return TrustReport(
            item_id=item.item_id,
            generated_at=self.now,
            verdict=verdict,
            reasons=tuple(self.reasons),
            status=item.status,
            brand_certified=item.brand_certified,
            locked=item.locked,
            registrant=registrant,
            latest_verdict=item.last_verdict,
            latest_authentication=latest,
            authentications=tuple(authentications),
            counterfeit_findings=tuple(findings),
            flags=tuple(flags),
            disputes=tuple(disputes),
            services=services,
            retirement=retirement,
            predecessors=tuple(predecessors),
            successors=tuple(successors),
            owners=tuple(owners),
            transfers=transfers,
            registered_at=registered_at,
            time_on_record=on_record,
            other_events=tuple(self.other_kinds),
        )

    # ------------------------------------------------------------------ extraction

    def _disputes(
        self, by_kind: Mapping[str, list[_Event]]
    ) -> tuple[list[DisputeRecord], list[_Event]]:
        """Disputes keyed by sale id, closed by their ruling or settlement; and the rulings."""
        opened: dict[object, dict[str, Any]] = {}
        order: list[object] = []
        # The market settles before it announces the ruling (`SaleSettled`, then `DisputeRuled`,
        # in one transaction): a ruling completes the dispute its own settlement just closed.
        settled_in: dict[object, str] = {}
        timeline = [
            e
            for e in self.events
            if _kind(e.kind) in ("dispute_opened", "dispute_ruled", "sale_settled")
        ]
        for event in timeline:
            kind = _kind(event.kind)
            sale = _int(_field(event.data, "sale_id"))
            key: object = sale if sale is not None else ("tx", event.tx_hash)
            if kind == "dispute_opened":
                order.append(key)
                opened[key] = {
                    "sale_id": sale,
                    "buyer": _address(_field(event.data, "buyer")) or _address(event.actor),
                    "reason": _name(_DISPUTE_REASONS, _field(event.data, "reason")),
                    "opened_block": int(event.block_number),
                    "opened_at": int(event.timestamp),
                    "state": "open",
                    "ruling": None,
                    "counterfeit": False,
                    "arbiter": None,
                    "buyer_share_bps": None,
                    "closed_block": None,
                    "closed_at": None,
                }
                continue
            target = opened.get(key) if sale is not None else None
            if (
                kind == "dispute_ruled"
                and target is not None
                and target["state"] == "closed"
                and event.tx_hash
                and settled_in.get(key) == event.tx_hash
            ):
                target["state"] = "open"  # reopened only to take its ruling, just below
            if target is None or target["state"] != "open":
                if kind == "dispute_ruled":
                    # A ruling without its opening (partial history): still a dispute on record.
                    order.append(key)
                    target = opened[key] = {
                        "sale_id": sale,
                        "buyer": None,
                        "reason": None,
                        "opened_block": int(event.block_number),
                        "opened_at": int(event.timestamp),
                        "state": "open",
                        "ruling": None,
                        "counterfeit": False,
                        "arbiter": None,
                        "buyer_share_bps": None,
                        "closed_block": None,
                        "closed_at": None,
                    }
                else:
                    continue
            if kind == "dispute_ruled":
                target.update(
                    state="ruled",
                    ruling=_name(_RULINGS, _field(event.data, "ruling")),
                    counterfeit=_bool(_field(event.data, "counterfeit")),
                    arbiter=_address(_field(event.data, "arbiter")) or _address(event.actor),
                    buyer_share_bps=_int(_field(event.data, "buyer_share_bps")),
                    closed_block=int(event.block_number),
                    closed_at=int(event.timestamp),
                )
            else:  # sale_settled
                settled_in[key] = event.tx_hash
                how = _name(_SETTLEMENTS, _field(event.data, "how"))
                target.update(
                    state="default_refund" if how == "default_refund" else "closed",
                    closed_block=int(event.block_number),
                    closed_at=int(event.timestamp),
                )
        rulings = [e for e in timeline if _kind(e.kind) == "dispute_ruled"]
        return [DisputeRecord(**opened[key]) for key in order], rulings

    def _authentications(self, events: list[_Event], rulings: list[_Event]) -> list[Authentication]:
        ruling_by_tx = {r.tx_hash: r for r in rulings if r.tx_hash}
        result: list[Authentication] = []
        for event in events:
            verdict = _enum(Verdict, _field(event.data, "verdict"))
            if verdict is None:
                self.other_kinds.append(
                    f"authenticated (unreadable verdict at block {event.block_number})"
                )
                continue
            by = _address(event.actor) or _address(_field(event.data, "authenticator"))
            ruling = ruling_by_tx.get(event.tx_hash) if event.tx_hash else None
            via_ruling = ruling is not None or (by is not None and by in self.markets)
            result.append(
                Authentication(
                    verdict=verdict,
                    grade=_enum(ConditionGrade, _field(event.data, "grade")),
                    by=by,
                    via_ruling=via_ruling,
                    arbiter=(
                        _address(_field(ruling.data, "arbiter")) or _address(ruling.actor)
                        if ruling is not None
                        else None
                    ),
                    sale_id=_int(_field(ruling.data, "sale_id")) if ruling is not None else None,
                    evidence_hash=_hex(_field(event.data, "evidence_hash")),
                    block_number=int(event.block_number),
                    timestamp=int(event.timestamp),
                    tx_hash=event.tx_hash,
                    log_index=int(event.log_index),
                )
            )
        return result

    def _counterfeit_findings(
        self, authentications: list[Authentication], rulings: list[_Event]
    ) -> list[CounterfeitFinding]:
        """Counterfeit verdicts and counterfeit rulings (one finding per transaction)."""
        raw: list[tuple[tuple[int, int], CounterfeitFinding]] = []
        seen_tx: set[str] = set()
        for auth in authentications:
            if auth.verdict != Verdict.COUNTERFEIT:
                continue
            if auth.tx_hash:
                seen_tx.add(auth.tx_hash)
            raw.append(
                (
                    (auth.block_number, auth.log_index),
                    CounterfeitFinding(
                        source="dispute_ruling" if auth.via_ruling else "authentication",
                        by=auth.arbiter if auth.via_ruling and auth.arbiter else auth.by,
                        sale_id=auth.sale_id,
                        block_number=auth.block_number,
                        timestamp=auth.timestamp,
                        tx_hash=auth.tx_hash,
                        overturned_by=None,
                    ),
                )
            )
        for ruling in rulings:
            if not _bool(_field(ruling.data, "counterfeit")) or ruling.tx_hash in seen_tx:
                continue
            raw.append(
                (
                    (int(ruling.block_number), int(ruling.log_index)),
                    CounterfeitFinding(
                        source="dispute_ruling",
                        by=_address(_field(ruling.data, "arbiter")) or _address(ruling.actor),
                        sale_id=_int(_field(ruling.data, "sale_id")),
                        block_number=int(ruling.block_number),
                        timestamp=int(ruling.timestamp),
                        tx_hash=ruling.tx_hash,
                        overturned_by=None,
                    ),
                )
            )
        raw.sort(key=lambda pair: pair[0])
        findings: list[CounterfeitFinding] = []
        for position, finding in raw:
            later = [
                a
                for a in authentications
                if a.verdict == Verdict.AUTHENTIC and (a.block_number, a.log_index) > position
            ]
            findings.append(
                CounterfeitFinding(
                    source=finding.source,
                    by=finding.by,
                    sale_id=finding.sale_id,
                    block_number=finding.block_number,
                    timestamp=finding.timestamp,
                    tx_hash=finding.tx_hash,
                    overturned_by=later[0] if later else None,
                )
            )
        return findings

    def _flags(self, by_kind: Mapping[str, list[_Event]]) -> list[FlagRecord]:
        flags: list[FlagRecord] = []
        timeline = [e for e in self.events if _kind(e.kind) in ("flagged", "flag_cleared")]
        for event in timeline:
            if _kind(event.kind) == "flagged":
                status = _enum(ItemStatus, _field(event.data, "status")) or ItemStatus.STOLEN
                flags.append(
                    FlagRecord(
                        status=status,
                        by=_address(event.actor) or _address(_field(event.data, "by")),
                        report_hash=_hex(_field(event.data, "report_hash")),
                        block_number=int(event.block_number),
                        timestamp=int(event.timestamp),
                        cleared_by=None,
                        cleared_block=None,
                        cleared_at=None,
                    )
                )
            elif flags and not flags[-1].cleared:
                last = flags[-1]
                flags[-1] = FlagRecord(
                    status=last.status,
                    by=last.by,
                    report_hash=last.report_hash,
                    block_number=last.block_number,
                    timestamp=last.timestamp,
                    cleared_by=_address(event.actor) or _address(_field(event.data, "by")),
                    cleared_block=int(event.block_number),
                    cleared_at=int(event.timestamp),
                )
        return flags

    def _retirement(self, events: list[_Event]) -> Retirement | None:
        if not events:
            return None
        event = events[-1]
        return Retirement(
            kind=_name([k.name.lower() for k in RetirementKind], _field(event.data, "kind"))
            or "unknown",
            by=_address(event.actor) or _address(_field(event.data, "by")),
            evidence_hash=_hex(_field(event.data, "evidence_hash")),
            block_number=int(event.block_number),
            timestamp=int(event.timestamp),
        )

    def _lineage(self, events: list[_Event]) -> tuple[list[str], list[str]]:
        own = bytes(self.item.item_id)
        predecessors: list[str] = []
        successors: list[str] = []
        for event in events:
            before = _item_bytes(_field(event.data, "predecessor_id"))
            after = _item_bytes(_field(event.data, "successor_id"))
            if after == own and before is not None:
                predecessors.append("0x" + before.hex())
            elif before == own and after is not None:
                successors.append("0x" + after.hex())
        return predecessors, successors

    def _owners(self, events: list[_Event]) -> tuple[list[ChecksumAddress], int]:
        """Distinct holders in order; the history leaves out the mint, so the first holder is the
        sender of the first transfer (or the current owner when it never moved)."""
        owners: list[ChecksumAddress] = []
        transfers = 0

        def hold(address: ChecksumAddress | None) -> None:
            if address is not None and address != _ZERO_ADDRESS and address not in owners:
                owners.append(address)

        for event in events:
            sender = _address(_field(event.data, "from"))
            recipient = _address(_field(event.data, "to"))
            if sender == _ZERO_ADDRESS:  # a mint, when the source keeps it
                hold(recipient)
                continue
            hold(sender)
            hold(recipient)
            if sender != recipient:
                transfers += 1
        hold(self.item.owner)
        return owners, transfers

    def _registrant(self, registration: _Event | None) -> RegistrantStanding:
        item = self.item
        record = self.record
        role = "brand" if item.brand_certified else "merchant"
        block = int(registration.block_number) if registration is not None else None
        when = int(registration.timestamp) if registration is not None else None
        changes: list[StandingChange] = []
        history_status: AccountStatus | None = None
        vetted_name: str | None = None
        for event in self.account_events or []:
            kind = _kind(event.kind)
            if kind == "account_vetted":
                history_status = AccountStatus.ACTIVE
                vetted_name = str(_field(event.data, "name") or "") or vetted_name
                status: AccountStatus | None = AccountStatus.ACTIVE
                previous = None
            elif kind == "account_status_changed":
                status = _enum(AccountStatus, _field(event.data, "status"))
                previous = _enum(AccountStatus, _field(event.data, "previous"))
                if status is None:
                    continue
                history_status = status
            else:
                continue
            if block is not None and int(event.block_number) > block and status is not None:
                changes.append(
                    StandingChange(
                        previous=previous,
                        status=status,
                        by=_address(event.actor) or _address(_field(event.data, "by")),
                        block_number=int(event.block_number),
                        timestamp=int(event.timestamp),
                    )
                )
        if record is not None:
            status_now: AccountStatus | None = record.status
            roles_now: Role | None = record.roles
            source: str | None = "account_record"
            name: str | None = record.name or vetted_name
        elif history_status is not None:
            status_now, roles_now, source, name = (
                history_status,
                None,
                "registrant_history",
                vetted_name,
            )
        else:
            status_now, roles_now, source, name = None, None, None, vetted_name
        standing = RegistrantStanding(
            address=item.registrant,
            name=name,
            role_at_registration=role,
            registered_block=block,
            registered_at=when,
            registered_tx=registration.tx_hash if registration is not None else None,
            active_at_registration=True if registration is not None else None,
            status_now=status_now,
            roles_now=roles_now,
            status_source=source,
            changes_since_registration=tuple(changes),
            summary="",
        )
        return _with_summary(standing, self._who(standing))

    # ------------------------------------------------------------------ rules

    def _rule_flags(self, flags: list[FlagRecord]) -> None:
        status = self.item.status
        if status not in (ItemStatus.LOST, ItemStatus.STOLEN):
            return
        open_flag = flags[-1] if flags and not flags[-1].cleared else None
        reporter = "the platform admin" if self.item.flagged_by_admin else "its owner"
        if open_flag is not None and open_flag.by is not None:
            reporter += f" ({open_flag.by})"
        when = (
            " " + _at(open_flag.block_number, open_flag.timestamp) if open_flag is not None else ""
        )
        self.add(
            "R1",
            f"Reported {status.name.lower()} by {reporter}{when}; a flagged item cannot be "
            "transferred until the report is cleared.",
        )

    def _rule_retired(self, retirement: Retirement | None, successors: list[str]) -> None:
        if self.item.status != ItemStatus.RETIRED:
            return
        detail = ""
        if retirement is not None:
            detail = (
                f" ({retirement.kind}) by {retirement.by} "
                f"{_at(retirement.block_number, retirement.timestamp)}"
            )
        text = f"Retired{detail}: the passport can never move again."
        if successors:
            text += f" Its successor passport: {', '.join(successors)}."
        self.add("R2", text)

    def _rule_counterfeit(self, findings: list[CounterfeitFinding]) -> None:
        standing = [f for f in findings if f.overturned_by is None]
        if standing:
            finding = standing[-1]
            text = f"Found counterfeit {self._finding_text(finding)}"
            if self.item.last_verdict != Verdict.COUNTERFEIT:
                text += (
                    f"; no authentic verdict since (latest verdict: "
                    f"{self.item.last_verdict.name.lower()})"
                )
            self.add("R3", text + ".")
        elif self.item.last_verdict == Verdict.COUNTERFEIT:
            self.add("R3", "The item's latest recorded verdict is counterfeit.")

    def _rule_disputes(self, disputes: list[DisputeRecord]) -> None:
        for dispute in disputes:
            if dispute.state != "open":
                continue
            sale = f" on sale #{dispute.sale_id}" if dispute.sale_id is not None else ""
            reason = f" ({dispute.reason.replace('_', ' ')})" if dispute.reason else ""
            text = (
                f"A dispute{sale}{reason} is open since "
                f"{_when(dispute.opened_block, dispute.opened_at)}"
            )
            if not self.item.locked:
                text += "; the item is no longer locked, so the history may lack its settlement"
            self.add("R4", text + ".")

    def _rule_registrant(self, standing: RegistrantStanding) -> None:
        if standing.status_now is None or standing.status_now == AccountStatus.ACTIVE:
            return
        self.add("R5", standing.summary)

    def _check_consistency(
        self,
        registration: _Event | None,
        latest: Authentication | None,
        flags: list[FlagRecord],
        retirement: Retirement | None,
    ) -> None:
        item, found = self.item, self.inconsistencies
        if registration is None:
            found.append("it has no registration event")
        history_verdict = latest.verdict if latest is not None else Verdict.NONE
        if history_verdict != item.last_verdict:
            found.append(
                f"its latest verdict is {history_verdict.name.lower()}, the item's is "
                f"{item.last_verdict.name.lower()}"
            )
        flagged_now = bool(flags) and not flags[-1].cleared
        if item.status in (ItemStatus.LOST, ItemStatus.STOLEN) and not flagged_now:
            found.append(f"it has no open {item.status.name.lower()} report")
        if item.status == ItemStatus.ACTIVE and flagged_now:
            found.append("it shows a report that the chain has cleared")
        if (item.status == ItemStatus.RETIRED) != (retirement is not None):
            found.append(
                "it lacks the retirement" if retirement is None else "it shows a retirement"
            )
        locks = [e for e in self.events if _kind(e.kind) in ("locked", "unlocked")]
        history_locked = bool(locks) and _kind(locks[-1].kind) == "locked"
        if history_locked != item.locked:
            found.append(
                "it shows the item locked" if history_locked else "it lacks the escrow lock"
            )
        if registration is not None and item.brand_certified != _bool(
            _field(registration.data, "brand_certified")
        ):
            found.append("its registration disagrees on brand certification")

    # ------------------------------------------------------------------ wording

    def _who(self, standing: RegistrantStanding) -> str:
        return f"{standing.name} ({standing.address})" if standing.name else str(standing.address)

    @staticmethod
    def _given_by(auth: Authentication | None) -> str:
        if auth is None:
            return ""
        if auth.via_ruling:
            who = f"a dispute ruling by arbiter {auth.arbiter}" if auth.arbiter else "a ruling"
            sale = f" (sale #{auth.sale_id})" if auth.sale_id is not None else ""
            return f" by {who}{sale} {_at(auth.block_number, auth.timestamp)}"
        return f" by {auth.by} {_at(auth.block_number, auth.timestamp)}"

    @staticmethod
    def _finding_text(finding: CounterfeitFinding) -> str:
        if finding.source == "dispute_ruling":
            sale = f" on sale #{finding.sale_id}" if finding.sale_id is not None else ""
            who = f"arbiter {finding.by}" if finding.by else "an arbiter"
            when = _at(finding.block_number, finding.timestamp)
            return f"by a dispute ruling{sale} ({who}) {when}"
        return f"by {finding.by} {_at(finding.block_number, finding.timestamp)}"

    @staticmethod
    def _dispute_text(dispute: DisputeRecord) -> str:
        sale = f" on sale #{dispute.sale_id}" if dispute.sale_id is not None else ""
        reason = f" ({dispute.reason.replace('_', ' ')})" if dispute.reason else ""
        opened = _at(dispute.opened_block, dispute.opened_at)
        if dispute.state == "ruled":
            share = (
                f", {dispute.buyer_share_bps / 100:g}% refunded" if dispute.buyer_share_bps else ""
            )
            outcome = (
                f"ruled {(dispute.ruling or 'unknown').replace('_', ' ')}{share} by arbiter "
                f"{dispute.arbiter} {_at(dispute.closed_block, dispute.closed_at)}"
            )
        elif dispute.state == "default_refund":
            outcome = (
                "no arbiter ruled in time; the buyer was refunded "
                f"{_at(dispute.closed_block, dispute.closed_at)}"
            )
        else:
            outcome = f"closed {_at(dispute.closed_block, dispute.closed_at)}"
        return f"A dispute{sale}{reason} opened {opened} was {outcome}."


def _with_summary(standing: RegistrantStanding, who: str) -> RegistrantStanding:
    """The sentence about standing: registration implies active standing at that block."""
    role = "the brand" if standing.role_at_registration == "brand" else "a vetted merchant"
    if standing.registered_block is not None:
        then = (
            f"{who}, {role}, was active at registration (block {standing.registered_block}, "
            f"{_date(standing.registered_at)}; the contract only lets active accounts register)"
        )
    else:
        then = (
            f"{who}, {role} (the registration event is missing from the history, so its "
            "standing at registration is not proven here)"
        )
    status = standing.status_now
    if status is None:
        now = "; its current standing was not checked"
    elif status == AccountStatus.ACTIVE:
        now = " and is still active"
    elif status == AccountStatus.NONE:
        now = ", and has no vetting record now"
    else:
        now = f", now {status.name.lower()}"
        changes = [c for c in standing.changes_since_registration if c.status == status]
        if changes:
            now += f" since {_when(changes[-1].block_number, changes[-1].timestamp)}"
    summary = f"The registrant {then}{now}."
    return RegistrantStanding(
        address=standing.address,
        name=standing.name,
        role_at_registration=standing.role_at_registration,
        registered_block=standing.registered_block,
        registered_at=standing.registered_at,
        registered_tx=standing.registered_tx,
        active_at_registration=standing.active_at_registration,
        status_now=standing.status_now,
        roles_now=standing.roles_now,
        status_source=standing.status_source,
        changes_since_registration=standing.changes_since_registration,
        summary=summary,
    )


# ---------------------------------------------------------------------- chain sources


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def registrant_events(
    *,
    w3: Web3,
    passport: Contract,
    account: str,
    from_block: BlockIdentifier = 0,
    to_block: BlockIdentifier | None = None,
) -> list[AccountEvent]:
    """``account``'s vetting and standing events from the chain, oldest first.

    One ``eth_getLogs`` (both events index the account as their first topic). The indexer can
    serve the same records; `build_trust_report` only needs the `AccountEventRecord` fields.
    """
    address = _address(account)
    if address is None:
        raise InputError(f"account is not an address: {account!r}", field="account")
    names = {"AccountVetted": "account_vetted", "AccountStatusChanged": "account_status_changed"}
    topics = {HexBytes(passport.events[n].topic).to_0x_hex().lower(): n for n in names}
    params: FilterParams = {
        "address": passport.address,
        "fromBlock": from_block,
        "toBlock": to_block if to_block is not None else "latest",
        "topics": [list(topics), cast(HexStr, "0x" + "00" * 12 + address[2:].lower())],
    }
    decoder = ErrorDecoder([])
    try:
        logs = w3.eth.get_logs(params)
        result: list[AccountEvent] = []
        stamps: dict[str, int] = {}
        for entry in logs:
            if entry.get("removed"):
                continue
            name = topics.get(HexBytes(entry["topics"][0]).to_0x_hex().lower())
            if name is None:
                continue
            args = dict(passport.events[name]().process_log(entry)["args"])
            block_hash = HexBytes(entry["blockHash"]).to_0x_hex()
            if block_hash not in stamps:
                stamps[block_hash] = int(w3.eth.get_block(HexBytes(block_hash))["timestamp"])
            data: dict[str, Any] = {}
            for field_name, value in args.items():
                if field_name == "account":
                    continue
                if field_name in ("status", "previous"):
                    data[field_name] = AccountStatus(value).name.lower()
                elif field_name == "roles":
                    data[field_name] = [r.name.lower() for r in Role if r & value and r.name]
                elif isinstance(value, bytes):
                    data[_snake(field_name)] = "0x" + value.hex()
                else:
                    data[_snake(field_name)] = value
            result.append(
                AccountEvent(
                    kind=names[name],
                    account=address,
                    actor=_address(args.get("by")),
                    block_number=int(entry["blockNumber"]),
                    block_hash=block_hash,
                    tx_hash=HexBytes(entry["transactionHash"]).to_0x_hex(),
                    log_index=int(entry["logIndex"]),
                    timestamp=stamps[block_hash],
                    data=data,
                )
            )
    except LedgerError:
        raise
    except Exception as exc:
        error = translate_error(exc, decoder)
        if error is None:
            raise
        raise error from exc
    return sorted(result, key=lambda e: (e.block_number, e.log_index))


def known_markets(client: ProvenanceClient, markets: Collection[str] = ()) -> set[str]:
    """``markets`` plus the passport's current resale market, if it names one (verdicts from
    these read as dispute rulings)."""
    known = set(markets)
    try:
        current = client.passport.functions.market().call()
    except Exception:  # an older passport without a market: nothing to add
        current = None
    if isinstance(current, str) and current != _ZERO_ADDRESS:
        known.add(current)
    return known


def report_from_history(
    *,
    client: ProvenanceClient,
    item: Item,
    history: Sequence[HistoryRecord | Mapping[str, Any]],
    now: int | None = None,
    markets: Collection[str] = (),
) -> TrustReport:
    """The trust report for ``item`` and its ``history`` as already read (from the chain or the
    event index: `ledger.reads.ItemReads`); the registrant's standing is read through ``client``.
    ``markets`` are taken as given (see `known_markets`)."""
    record = client.account_record(item.registrant)
    account_history = registrant_events(
        w3=client.w3,
        passport=client.passport,
        account=item.registrant,
        from_block=client.deployment.block_number,
    )
    return build_trust_report(
        item=item,
        history=history,
        registrant_record=record,
        registrant_history=account_history,
        now=int(time.time()) if now is None else now,
        markets=markets,
    )


def report_for_item(
    *,
    client: ProvenanceClient,
    item_id: ItemId | str,
    now: int | None = None,
    markets: Collection[str] = (),
) -> TrustReport:
    """The trust report for ``item_id`` straight from the chain, through a `ProvenanceClient`.

    Reads the item, its history (`ProvenanceClient.history`), the registrant's account record and
    its vetting events. ``now`` defaults to the wall clock. The current resale market (if the
    passport names one) is added to ``markets``. `ItemNotRegistered` for unknown ids.
    """
    item = client.item(parse_item_id(item_id))
    return report_from_history(
        client=client,
        item=item,
        history=client.history(item.item_id),
        now=now,
        markets=known_markets(client, markets),
    )
