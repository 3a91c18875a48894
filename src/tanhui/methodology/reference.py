"""The reference implementation: methodologies.md applied record by record, in file order.

Slow and plain on purpose: it is the oracle the SQL engines are tested against. Decimal and
Fraction arithmetic, datetime for times; no vectorisation, no cleverness.
"""

import hashlib
import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, localcontext
from fractions import Fraction

import pyarrow as pa

from tanhui.methodology.engines import (
    DATE_PATTERN,
    NUMBER_INT_DIGITS,
    NUMBER_PATTERN,
    NUMBER_PLACES,
    OUTPUT_SCHEMA,
    RECORD_FIELDS,
    SHANGHAI_OFFSET,
    TIME_PATTERN,
    EngineContext,
)
from tanhui.methodology.params import UncoveredDateError, VersionedParams, version_for

SHANGHAI = timezone(SHANGHAI_OFFSET, "Asia/Shanghai")
TIME_RE, DATE_RE, NUMBER_RE = (re.compile(p) for p in (TIME_PATTERN, DATE_PATTERN, NUMBER_PATTERN))


def input_hash(values: list[str | None]) -> str:
    """sha256 (hex) of the raw fields in schema order, each written as `<length>:<text>,` (length in
    characters) or `-,` when null: unambiguous, and the same in every engine."""
    text = "".join("-," if v is None else f"{len(v)}:{v}," for v in values)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_time(text: str | None) -> datetime | None:
    """The instant in UTC, or None when malformed: not the accepted form, no such date or time, or
    not representable (years 1–9999) both in UTC and in Shanghai."""
    if text is None or not TIME_RE.fullmatch(text):
        return None
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=SHANGHAI)
        moment.astimezone(SHANGHAI)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def parse_date(text: str | None) -> date | None:
    if text is None or not DATE_RE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_number(text: str | None) -> Decimal | None:
    if text is None or not NUMBER_RE.fullmatch(text):
        return None
    value = Decimal(text)
    with localcontext(prec=100):
        scaled = value.scaleb(NUMBER_PLACES)
        exact = abs(value) < 10**NUMBER_INT_DIGITS and scaled == scaled.to_integral_value()
    return value if exact else None


def round_half_up(value: Fraction) -> int:
    """To whole milligrams; every value rounded here is ≥ 0."""
    return (2 * value.numerator + value.denominator) // (2 * value.denominator)


def _parse(kind: str, raw: dict) -> dict | None:
    """The typed record, or None when any required field is missing or unparseable."""
    if not raw["record_id"] or not raw["external_user_id"]:
        return None
    if kind == "trip":
        started, ended = parse_time(raw["started_at"]), parse_time(raw["ended_at"])
        km = parse_number(raw["distance_km"])
        if started is None or ended is None or km is None:
            return None
        return {"local_date": started.astimezone(SHANGHAI).date(), "started": started, "ended": ended, "qty": km}
    day, kwh = parse_date(raw["date"]), parse_number(raw["kwh"])
    if day is None or kwh is None:
        return None
    return {"local_date": day, "started": None, "qty": kwh}


def _trip_check(rec: dict, p, now: datetime) -> str | None:
    if rec["ended"] <= rec["started"] or rec["ended"] > now:
        return "invalid_time"
    if rec["qty"] <= 0 or rec["qty"] > p.max_km:
        return "implausible_distance"
    duration_us = (rec["ended"] - rec["started"]) // timedelta(microseconds=1)
    if Fraction(rec["qty"]) * 3600 * 10**6 > Fraction(p.max_kmh) * duration_us:
        return "implausible_speed"
    return None


def _household_check(rec: dict, p, now: datetime, readings: dict, citizen: int) -> str | None:
    if rec["local_date"] > now.astimezone(SHANGHAI).date():
        return "invalid_time"
    if rec["qty"] < 0 or rec["qty"] > p.max_kwh:
        return "implausible_reading"
    if (citizen, rec["local_date"]) in readings:
        return "duplicate_period"
    return None


def run(scenario: str, kind: str, records: pa.Table, context: EngineContext, versions: list[VersionedParams],
        now: datetime) -> pa.Table:
    fields = RECORD_FIELDS[kind]
    bindings = {r["external_user_id"]: r["citizen_id"] for r in context.bindings.to_pylist()}
    consent_from: dict[int, date] = {}
    for r in context.consents.to_pylist():
        start = r["effective_from"] or date.min
        consent_from[r["citizen_id"]] = min(start, consent_from.get(r["citizen_id"], start))
    accepted_ids = {r["record_id"] for r in context.prior_accepted.to_pylist()}
    readings = {(r["citizen_id"], r["local_date"]): r["kwh"] for r in context.prior_readings.to_pylist()}

    out, accepted = [], []  # accepted: (output row, typed record, parameters), for crediting
    for raw in sorted(records.to_pylist(), key=lambda r: r["seq"]):
        row = {"seq": raw["seq"], "record_id": raw["record_id"], "status": "rejected", "reason": "malformed",
               "reduction_mg": 0, "capped": False, "vacant": False,
               "input_hash": input_hash([raw[f] for f in fields])}
        out.append(row)
        rec = _parse(kind, raw)
        if rec is None:
            continue
        version = version_for(versions, rec["local_date"])
        if version is None:
            raise UncoveredDateError(f"{scenario}: record seq {raw['seq']}: no methodology version in force "
                                     f"on {rec['local_date']}")
        citizen = bindings.get(raw["external_user_id"])
        row.update(local_date=rec["local_date"], started_at=rec["started"], citizen_id=citizen, reason=None,
                   version_id=version.version_id, factor_version_id=version.factor_version_id)
        if raw["record_id"] in accepted_ids:
            row["status"] = "duplicate"
            continue
        if citizen is None:
            row["reason"] = "unknown_user"
        elif citizen not in consent_from or rec["local_date"] < consent_from[citizen]:
            row["reason"] = "no_consent"
        elif kind == "trip":
            row["reason"] = _trip_check(rec, version.params, now)
        else:
            row["reason"] = _household_check(rec, version.params, now, readings, citizen)
        if row["reason"] is None:
            row["status"] = "accepted"
            accepted_ids.add(raw["record_id"])
            accepted.append((row, rec, version.params))
            if kind == "household":
                readings[(citizen, rec["local_date"])] = rec["qty"]

    if kind == "trip":
        _credit_trips(accepted, context)
    else:
        _credit_readings(accepted, readings)
    return pa.Table.from_pylist(out, schema=OUTPUT_SCHEMA)


def _credit_trips(accepted: list, context: EngineContext) -> None:
    """Daily caps: earlier batches' credited trips count first, then this batch's by (started_at,
    record_id); trips beyond the cap stay accepted, `capped`, with zero reduction."""
    credited = defaultdict(int)
    for r in context.prior_credited.to_pylist():
        credited[(r["citizen_id"], r["local_date"])] += r["trips"]
    for row, rec, p in sorted(accepted, key=lambda a: (a[1]["started"], a[0]["record_id"])):
        day = (row["citizen_id"], row["local_date"])
        if credited[day] >= p.daily_cap:
            row["capped"] = True
            continue
        credited[day] += 1
        row["reduction_mg"] = round_half_up(Fraction(rec["qty"]) * Fraction(p.factor_g_per_km) * 1000)


def _credit_readings(accepted: list, readings: dict) -> None:
    """`readings` holds every accepted reading, earlier batches' and this batch's."""
    for row, rec, p in accepted:
        kwh = Fraction(rec["qty"])
        if kwh < Fraction(p.vacant_below_kwh):
            row["vacant"] = True
            continue
        baseline = Fraction(p.baseline_kwh_by_month[rec["local_date"].month - 1])
        day = rec["local_date"].toordinal()
        window = [readings.get((row["citizen_id"], date.fromordinal(day - i))) if day > i else None  # year 1
                  for i in range(1, p.window_days + 1)]
        if kwh < baseline:
            saved = baseline - kwh
        elif None not in window:
            saved = max(Fraction(0), sum(Fraction(w) for w in window) / p.window_days - kwh)
        else:
            saved = Fraction(0)
        row["reduction_mg"] = round_half_up(saved * Fraction(p.grid_factor_g_per_kwh) * 1000)
