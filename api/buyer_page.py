"""What the buyer's page shows, computed from an `ItemDossier`: plain words, names, UTC times.

Everything here is data for the templates (``api/templates/``); nothing is HTML, and every value
is escaped when rendered. Addresses are shown with the vetted display name of the account where
it has one (looked up once per address per page, `PartyBook`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from api.dossier import ItemDossier
from ledger.client import ProvenanceClient
from ledger.errors import LedgerError
from ledger.trust import RULES, Reason, TrustReport, TrustVerdict
from ledger.types import AccountStatus, ItemStatus, Role

__all__ = [
    "Moment",
    "Party",
    "PartyBook",
    "ReasonLine",
    "TimelineEntry",
    "VerdictBanner",
    "item_page_context",
    "moment",
    "rules_context",
]

_ZERO_ADDRESS = "0x" + "00" * 20


# ---------------------------------------------------------------------- small values


@dataclass(frozen=True)
class Moment:
    """A block time, for people (``24 Nov 2026, 14:05 UTC``) and machines (ISO 8601)."""

    iso: str
    text: str
    date: str


def moment(timestamp: int | None) -> Moment | None:
    if timestamp is None:
        return None
    when = datetime.fromtimestamp(int(timestamp), UTC)
    return Moment(
        iso=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        text=when.strftime("%d %b %Y, %H:%M UTC"),
        date=when.strftime("%d %b %Y"),
    )


def _words(name: str) -> str:
    return name.replace("_", " ")


def _short(address: str) -> str:
    return f"{address[:6]}…{address[-4:]}" if len(address) > 12 else address


@dataclass(frozen=True)
class Party:
    """An account as the page names it."""

    address: str
    name: str | None
    """The vetted display name, or a description (``platform admin``, ``resale market``)."""
    description: str | None
    """``vetted merchant``, ``vetted brand, now suspended``..., or None for unknown accounts."""
    vetted: bool

    @property
    def short(self) -> str:
        return _short(self.address)


class PartyBook:
    """Names for addresses, from the vetting registry; each address is looked up once."""

    def __init__(
        self, reader: ProvenanceClient, *, admin: str | None, markets: Sequence[str] = ()
    ) -> None:
        self._reader = reader
        self._admin = admin
        self.markets = frozenset(markets)
        self._cache: dict[str, Party] = {}

    def __call__(self, address: object) -> Party | None:
        if not isinstance(address, str) or not address or address == _ZERO_ADDRESS:
            return None
        party = self._cache.get(address)
        if party is None:
            party = self._cache[address] = self._lookup(address)
        return party

    def _lookup(self, address: str) -> Party:
        if address in self.markets:
            return Party(address, "the resale market", "market contract", vetted=False)
        try:
            record = self._reader.account_record(address)
            if record.status != AccountStatus.NONE:
                roles = [str(r.name).lower() for r in Role if r in record.roles and r.name]
                description = "vetted " + (" and ".join(roles) or "account")
                if record.status != AccountStatus.ACTIVE:
                    description += f", now {record.status.name.lower()}"
                return Party(address, record.name or None, description, vetted=True)
            if address == self._admin or self._reader.is_admin(address):
                return Party(address, "the platform admin", None, vetted=False)
        except LedgerError:
            pass  # a name is a courtesy: show the address rather than fail the page
        return Party(address, None, None, vetted=False)


# ---------------------------------------------------------------------- verdict and reasons


@dataclass(frozen=True)
class VerdictBanner:
    code: str
    """``ok``, ``caution`` or ``do_not_buy``: the API's word, also the CSS class."""
    symbol: str
    headline: str
    advice: str


_BANNERS: Mapping[TrustVerdict, VerdictBanner] = {
    TrustVerdict.OK: VerdictBanner(
        "ok", "✓", "OK to buy", "Nothing on record speaks against this item."
    ),
    TrustVerdict.CAUTION: VerdictBanner(
        "caution", "!", "Caution", "Read the reasons below before you pay."
    ),
    TrustVerdict.DO_NOT_BUY: VerdictBanner(
        "do_not_buy", "✕", "Do not buy", "The record shows a serious problem with this item."
    ),
}


@dataclass(frozen=True)
class ReasonLine:
    rule_id: str
    tone: str
    """CSS tone: ``bad``, ``warn``, ``good`` or ``note``."""
    label: str
    """The severity in words: ``Do not buy``, ``Caution``, ``In its favour``, ``Note``."""
    message: str


def _reason_line(reason: Reason) -> ReasonLine:
    if reason.severity == TrustVerdict.DO_NOT_BUY:
        tone, label = "bad", "Do not buy"
    elif reason.severity == TrustVerdict.CAUTION:
        tone, label = "warn", "Caution"
    elif reason.rule_id.startswith("P"):  # the rule table's convention: P* positive, N* notes
        tone, label = "good", "In its favour"
    else:
        tone, label = "note", "Note"
    return ReasonLine(reason.rule_id, tone, label, reason.message)


# ---------------------------------------------------------------------- timeline


@dataclass
class TimelineEntry:
    when: Moment | None
    title: str
    tone: str
    actor: Party | None
    actor_label: str = "by"
    counterparty: Party | None = None
    counterparty_label: str = "to"
    details: list[str] = field(default_factory=list)
    hashes: list[tuple[str, str]] = field(default_factory=list)
    """(what, 0x-hex) pairs: hashes recorded with the event."""
    link: tuple[str, str] | None = None
    """(text, item id) of another passport to link to."""
    block_number: int | None = None
    tx_hash: str | None = None
    sale_slot: bool = False
    """A transfer that a `sale_recorded` of the same transaction may still annotate."""


def _get(record: object, name: str) -> Any:
    if isinstance(record, Mapping):
        return record.get(name)
    return getattr(record, name, None)


def _data(record: object) -> Mapping[str, Any]:
    data = _get(record, "data")
    return data if isinstance(data, Mapping) else {}


def _status_words(status: object) -> str:
    return _words(str(status)) if status else "flagged"


# Resale-market events (when the history includes them): title and tone.
_MARKET_TITLES: Mapping[str, tuple[str, str]] = {
    "listed": ("Listed for sale on the resale market", "neutral"),
    "listing_cancelled": ("Listing withdrawn", "neutral"),
    "order_cancelled": ("Sell order cancelled", "neutral"),
    "purchased": ("Bought on the resale market (payment held in escrow)", "neutral"),
    "shipped": ("Shipped to the buyer", "neutral"),
    "dispute_opened": ("Dispute opened by the buyer", "warn"),
    "evidence_submitted": ("Dispute evidence submitted", "neutral"),
    "dispute_ruled": ("Dispute ruled", "neutral"),
    "sale_settled": ("Market sale settled", "neutral"),
}

# Hashes of off-chain documents (an inspection report, a police report...) that a buyer can ask
# to see and check against the ledger.
_EVIDENCE_FIELDS = (
    ("evidence_hash", "evidence hash"),
    ("report_hash", "report hash"),
    ("clearance_hash", "clearance hash"),
)


def _timeline(dossier: ItemDossier, parties: PartyBook) -> list[TimelineEntry]:
    own = "0x" + bytes(dossier.item.item_id).hex()
    entries: list[TimelineEntry] = []
    for record in dossier.history:
        kind = str(_get(record, "kind"))
        data = _data(record)
        actor = parties(_get(record, "actor"))
        tx_hash = _get(record, "tx_hash")
        entry = TimelineEntry(
            when=moment(_get(record, "timestamp")),
            title=_words(kind).capitalize(),
            tone="neutral",
            actor=actor,
            block_number=_get(record, "block_number"),
            tx_hash=tx_hash if isinstance(tx_hash, str) else None,
        )
        if kind == "registered":
            certified = bool(data.get("brand_certified"))
            entry.title = (
                "Registered by the brand as a certified original" if certified else "Registered"
            )
            entry.tone = "good" if certified else "neutral"
            entry.actor_label = "by"
            if data.get("metadata_hash"):
                entry.hashes.append(("description hash", str(data["metadata_hash"])))
        elif kind == "metadata_updated":
            entry.title = "Description updated"
            if data.get("metadata_hash"):
                entry.hashes.append(("new description hash", str(data["metadata_hash"])))
        elif kind == "transferred":
            entry.title = "Changed hands"
            entry.sale_slot = True
            entry.actor_label = "from"
            entry.counterparty = parties(data.get("to"))
        elif kind == "sale_recorded":
            previous = entries[-1] if entries else None
            reference = data.get("sale_ref")
            if previous is not None and previous.tx_hash == entry.tx_hash and previous.sale_slot:
                # The transfer of the same transaction: one "Sold" row, not two.
                previous.title, previous.sale_slot = "Sold", False
                if reference:
                    previous.hashes.append(("sale reference", str(reference)))
                continue
            entry.title = "Sale recorded"
            entry.actor_label = "from"
            entry.counterparty = parties(data.get("to"))
            if reference:
                entry.hashes.append(("sale reference", str(reference)))
        elif kind == "authenticated":
            verdict = str(data.get("verdict") or "unknown")
            grade = data.get("grade")
            entry.title = f"Inspected: {_words(verdict)}"
            entry.tone = {"authentic": "good", "counterfeit": "bad", "inconclusive": "warn"}.get(
                verdict, "neutral"
            )
            if grade and grade != "ungraded":
                entry.details.append(f"condition {_words(str(grade))}")
            if _get(record, "actor") in parties.markets:
                entry.details.append("recorded by the resale market's dispute ruling")
        elif kind == "serviced":
            entry.title = f"Serviced: {_words(str(data.get('kind') or 'service'))}"
        elif kind == "flagged":
            entry.title = f"Reported {_status_words(data.get('status'))}"
            entry.tone = "bad"
        elif kind == "flag_cleared":
            entry.title = f"{_status_words(data.get('previous')).capitalize()} report cleared"
            entry.tone = "good"
        elif kind == "retired":
            entry.title = f"Retired: {_words(str(data.get('kind') or 'retired'))}"
            entry.tone = "bad"
        elif kind == "succeeded":
            before, after = data.get("predecessor_id"), data.get("successor_id")
            if isinstance(after, str) and after.lower() == own and isinstance(before, str):
                entry.title = "Continues a retired passport"
                entry.link = ("the predecessor's page", before)
            elif isinstance(after, str):
                entry.title = "Succeeded by a new passport"
                entry.link = ("the successor's page", after)
        elif kind == "locked":
            entry.title = "Locked in a resale-market sale (escrow)"
            entry.tone = "warn"
        elif kind == "unlocked":
            entry.title = "Released from resale-market escrow"
        elif kind in _MARKET_TITLES:
            entry.title, entry.tone = _MARKET_TITLES[kind]
            if kind == "dispute_opened" and data.get("reason"):
                entry.details.append(f"complaint: {_words(str(data['reason']))}")
            elif kind == "dispute_ruled" and data.get("ruling"):
                ruling = _words(str(data["ruling"]))
                found = " (found counterfeit)" if data.get("counterfeit") is True else ""
                entry.details.append(f"ruling: {ruling}{found}")
                if data.get("counterfeit") is True:
                    entry.tone = "bad"
        sale = data.get("sale_id")
        if kind in _MARKET_TITLES and isinstance(sale, int | str) and str(sale).isdigit():
            entry.details.append(f"market sale {sale}")
        for key, what in _EVIDENCE_FIELDS:
            if isinstance(data.get(key), str):
                entry.hashes.append((what, data[key]))
        entries.append(entry)
    return entries


# ---------------------------------------------------------------------- the page


_STATUS_TEXT: Mapping[ItemStatus, str] = {
    ItemStatus.ACTIVE: "Active",
    ItemStatus.LOST: "Reported lost",
    ItemStatus.STOLEN: "Reported stolen",
    ItemStatus.RETIRED: "Retired",
}


def item_page_context(
    dossier: ItemDossier, parties: PartyBook, *, evidence_url: str, qr_svg_url: str, qr_png_url: str
) -> dict[str, Any]:
    """Everything ``verify.html`` shows about one item."""
    report: TrustReport = dossier.report
    item = dossier.item
    reasons = [_reason_line(r) for r in report.reasons]
    registrant = parties(item.registrant)
    latest = report.latest_authentication
    flags = [
        {
            "status": _words(flag.status.name.lower()),
            "by": parties(flag.by),
            "when": moment(flag.timestamp),
            "cleared": flag.cleared,
            "cleared_by": parties(flag.cleared_by),
            "cleared_when": moment(flag.cleared_at),
        }
        for flag in report.flags
    ]
    disputes = [
        {
            "sale_id": d.sale_id,
            "reason": _words(d.reason) if d.reason else None,
            "state": _words(d.state),
            "ruling": _words(d.ruling) if d.ruling else None,
            "counterfeit": d.counterfeit,
            "buyer": parties(d.buyer),
            "arbiter": parties(d.arbiter),
            "opened": moment(d.opened_at),
            "closed": moment(d.closed_at),
        }
        for d in report.disputes
    ]
    retirement = report.retirement
    return {
        "item_id": "0x" + bytes(item.item_id).hex(),
        "banner": _BANNERS[report.verdict],
        "warnings": [r for r in reasons if r.tone in ("bad", "warn")],
        "favours": [r for r in reasons if r.tone == "good"],
        "notes": [r for r in reasons if r.tone == "note"],
        "status_text": _STATUS_TEXT.get(item.status, _words(item.status.name.lower())),
        "status_tone": "good" if item.status == ItemStatus.ACTIVE else "bad",
        "locked": item.locked,
        "brand_certified": item.brand_certified,
        "registrant": registrant,
        "registrant_summary": report.registrant.summary,
        "registered": moment(report.registered_at),
        "owner": parties(item.owner),
        "distinct_owners": report.distinct_owners,
        "transfers": report.transfers,
        "latest_authentication": (
            None
            if latest is None
            else {
                "verdict": _words(latest.verdict.name.lower()),
                "grade": (
                    _words(latest.grade.name.lower())
                    if latest.grade is not None and latest.grade.name != "UNGRADED"
                    else None
                ),
                "by": parties(latest.by),
                "via_ruling": latest.via_ruling,
                "when": moment(latest.timestamp),
            }
        ),
        "flags": flags,
        "disputes": disputes,
        "retirement": (
            None
            if retirement is None
            else {
                "kind": _words(retirement.kind),
                "by": parties(retirement.by),
                "when": moment(retirement.timestamp),
            }
        ),
        "predecessors": list(report.predecessors),
        "successors": list(report.successors),
        "services": len(report.services),
        "metadata_hash": (
            None if dossier.metadata_hash is None else "0x" + bytes(dossier.metadata_hash).hex()
        ),
        "timeline": _timeline(dossier, parties),
        "generated": moment(report.generated_at),
        "chain_id": dossier.chain_id,
        "passport": dossier.passport,
        "evidence_url": evidence_url,
        "qr_svg_url": qr_svg_url,
        "qr_png_url": qr_png_url,
    }


def rules_context() -> dict[str, Any]:
    """The rule table for ``rules.html``, labelled as the reasons on an item's page are."""
    rules = []
    for rule in RULES:
        line = _reason_line(Reason(rule.rule_id, rule.severity, ""))
        rules.append(
            {
                "rule_id": rule.rule_id,
                "when": rule.when,
                "why": rule.why,
                "tone": line.tone,
                "yields": line.label,
            }
        )
    return {"rules": rules}
