"""The methodology as SQL, written once and rendered for DuckDB and for Spark.

Everything is exact integer arithmetic, so the two engines cannot drift apart:
- quantities (km, kWh) are integers in units of 10**-18 (`Q`), rates (g per km or kWh, km/h) in
  units of 10**-9 (`R`), held in a 128-bit exact type (HUGEINT / DECIMAL(38,0));
- times are microseconds since 1970-01-01T00:00Z computed from the text's fields (no time zone
  library: Asia/Shanghai is +08:00); local dates are days since 1970-01-01;
- divisions are integer divisions of non-negative numbers, rounded half up as (2n + d) div 2d.

A batch is judged in materialised steps: `parsed` (one row per record: typed values, context and
the first failing check), the acceptance rounds (`accepted`), then the outcome (status, caps,
reductions). `run()` drives them through the small Backend each engine implements.

The SQL text is composed from constants, validated parameters and integers only: record values never
enter it (hence the file-wide S608 exemption).
"""
# ruff: noqa: S608

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from tanhui.methodology.engines import (
    DATE_PATTERN,
    NUMBER_INT_DIGITS,
    NUMBER_PATTERN,
    NUMBER_PLACES,
    RECORD_FIELDS,
    SHANGHAI_OFFSET,
    TIME_PATTERN,
    EngineContext,
)
from tanhui.methodology.params import PARAM_PLACES, TransitParams, UncoveredDateError, VersionedParams

EPOCH = date(1970, 1, 1)
DAY_US = 86_400_000_000
OFFSET_MIN = int(SHANGHAI_OFFSET.total_seconds()) // 60
OFFSET_US = OFFSET_MIN * 60_000_000
MIN_US = (date(1, 1, 1) - EPOCH).days * DAY_US  # 0001-01-01T00:00Z
END_US = ((date(9999, 12, 31) - EPOCH).days + 1) * DAY_US - OFFSET_US  # 10000-01-01T00:00 in Shanghai
ALWAYS = -1_000_000  # a consent without a date: a day before any representable date
Q = 10**NUMBER_PLACES
R = 10**PARAM_PLACES
MG_SCALE = Q * R // 1000  # qty (Q) × rate (R) / MG_SCALE = milligrams


@dataclass(frozen=True)
class Dialect:
    int128: str
    full_match_sql: str  # {expr}, {pattern}
    idiv_sql: str  # {a}, {b}: truncating integer division, only ever used on non-negative operands
    sha256_sql: str  # {expr}

    def full_match(self, expr: str, pattern: str) -> str:
        assert "'" not in pattern and "\\" not in pattern
        return self.full_match_sql.format(expr=expr, pattern=pattern)

    def idiv(self, a: str, b: str) -> str:
        return self.idiv_sql.format(a=a, b=b)

    def sha256(self, expr: str) -> str:
        return self.sha256_sql.format(expr=expr)

    def big(self, value: int) -> str:
        return f"CAST({value} AS {self.int128})"

    def round_half_up(self, num: str, den: str) -> str:
        return f"CAST({self.idiv(f'(2 * {num} + {den})', f'(2 * {den})')} AS BIGINT)"


DUCKDB = Dialect("HUGEINT", "regexp_full_match({expr}, '{pattern}')", "({a} // {b})", "sha256({expr})")
# Spark unescapes string literals, so `\\z` reaches Java's regex as \z, the end of input (`$` would
# also match before a final line break).
SPARK = Dialect("DECIMAL(38,0)", "({expr} RLIKE '^(?:{pattern})\\\\z')", "({a} div {b})", "sha2({expr}, 256)")


class Backend(Protocol):
    dialect: Dialect

    def register(self, name: str, table: pa.Table) -> None: ...

    def materialize(self, name: str, sql: str) -> int:
        """Stores the query's result under `name`; returns its number of rows."""

    def fetch(self, sql: str) -> pa.Table: ...

    def drop(self, name: str) -> None: ...


# ---- calendar arithmetic ---------------------------------------------------------------------

def _days(d: Dialect, y: str, m: str, day: str) -> str:
    """Days since 1970-01-01 of a proleptic Gregorian date, y >= 1 (H. Hinnant's days_from_civil)."""
    yy = f"({y} - CASE WHEN {m} <= 2 THEN 1 ELSE 0 END)"
    yoe = f"({yy} % 400)"
    doy = d.idiv(f"(153 * (({m} + 9) % 12) + 2)", "5")
    return (f"({d.idiv(yy, '400')} * 146097 + {yoe} * 365 + {d.idiv(yoe, '4')} - {d.idiv(yoe, '100')}"
            f" + {doy} + {day} - 719469)")


def _date_ok(y: str, m: str, day: str) -> str:
    leap = f"(({y} % 4 = 0 AND {y} % 100 <> 0) OR {y} % 400 = 0)"
    last = (f"CASE WHEN {m} = 2 THEN CASE WHEN {leap} THEN 29 ELSE 28 END"
            f" WHEN {m} IN (4, 6, 9, 11) THEN 30 ELSE 31 END")
    return f"({y} >= 1 AND {m} BETWEEN 1 AND 12 AND {day} BETWEEN 1 AND {last})"


def _floor_div(d: Dialect, a: str, b: int) -> str:
    return d.idiv(f"({a} - ((({a}) % {b}) + {b}) % {b})", str(b))


# ---- field parsers: SELECT items per stage; an item may use the columns of earlier stages --------

def _digits(s: str, start: int | str, length: int | str, when: str | None = None) -> str:
    """The digits at [start, start + length) of the validated text `s` as BIGINT; 0 unless `when`
    (the condition sits inside the cast, so no engine ever casts a non-digit)."""
    text = f"substr({s}, {start}, {length})"
    if when is not None:
        text = f"CASE WHEN {when} THEN {text} ELSE '0' END"
    return f"CAST({text} AS BIGINT)"


def _time_field(d: Dialect, f: str) -> list[list[str]]:
    """{f}_ok and {f}_us (microseconds since the epoch) from `YYYY-MM-DD[T ]HH:MM[:SS[.f]][Z|±HH:MM]`."""
    s, n, tz = f"{f}_s", f"{f}_n", f"{f}_tz"  # n: length; tz: length of the offset suffix (0, 1 or 6)
    offset = f"{tz} = 6"
    fraction = f"rpad(CASE WHEN {n} - {tz} > 20 THEN substr({s}, 21, {n} - {tz} - 20) ELSE '' END, 6, '0')"
    return [
        [f"CASE WHEN {d.full_match(f, TIME_PATTERN)} THEN {f} END AS {s}"],
        [f"length({s}) AS {n}",
         f"CASE WHEN right({s}, 1) = 'Z' THEN 1 WHEN substr({s}, -6, 1) IN ('+', '-') THEN 6 ELSE 0 END"
         f" AS {tz}"],
        [f"{_digits(s, 1, 4)} AS {f}_y", f"{_digits(s, 6, 2)} AS {f}_mo", f"{_digits(s, 9, 2)} AS {f}_d",
         f"{_digits(s, 12, 2)} AS {f}_h", f"{_digits(s, 15, 2)} AS {f}_mi",
         f"{_digits(s, 18, 2, f'{n} - {tz} >= 19')} AS {f}_sec", f"CAST({fraction} AS BIGINT) AS {f}_frac",
         f"{_digits(s, -5, 2, offset)} AS {f}_oh",
         f"{_digits(s, -2, 2, offset)} AS {f}_om",
         f"CASE WHEN substr({s}, -6, 1) = '-' THEN -1 ELSE 1 END AS {f}_sign"],
        [f"({s} IS NOT NULL AND {_date_ok(f'{f}_y', f'{f}_mo', f'{f}_d')} AND {f}_h <= 23 AND {f}_mi <= 59"
         f" AND {f}_sec <= 59 AND {f}_oh <= 23 AND {f}_om <= 59) AS {f}_form_ok",
         f"({_days(d, f'{f}_y', f'{f}_mo', f'{f}_d')} * 86400 + {f}_h * 3600 + {f}_mi * 60 + {f}_sec"
         f" - CASE WHEN {tz} = 0 THEN {OFFSET_MIN} ELSE {f}_sign * ({f}_oh * 60 + {f}_om) END * 60)"
         f" * 1000000 + {f}_frac AS {f}_us"],
        # representable in UTC and in Shanghai (years 1–9999), as Python's datetime requires
        [f"({f}_form_ok AND {f}_us >= {MIN_US} AND {f}_us < {END_US}) AS {f}_ok"],
    ]


def _date_field(d: Dialect, f: str) -> list[list[str]]:
    """{f}_ok, {f}_day (days since the epoch) and {f}_mo from `YYYY-MM-DD`."""
    s = f"{f}_s"
    return [
        [f"CASE WHEN {d.full_match(f, DATE_PATTERN)} THEN {f} END AS {s}"],
        [f"{_digits(s, 1, 4)} AS {f}_y", f"{_digits(s, 6, 2)} AS {f}_mo", f"{_digits(s, 9, 2)} AS {f}_d"],
        [f"({s} IS NOT NULL AND {_date_ok(f'{f}_y', f'{f}_mo', f'{f}_d')}) AS {f}_ok",
         f"{_days(d, f'{f}_y', f'{f}_mo', f'{f}_d')} AS {f}_day"],
    ]


def _number_field(d: Dialect, f: str) -> list[list[str]]:
    """{f}_ok and {f}_q (the value in units of 10**-18) from a plain decimal such as `-12.50` or `.5`."""
    s = f"{f}_s"
    # both parts are cast as BIGINT, guarded so that no engine ever casts an over-long part
    whole = f"CASE WHEN length({f}_int) BETWEEN 1 AND {NUMBER_INT_DIGITS} THEN {f}_int ELSE '0' END"
    fraction = (f"rpad(CASE WHEN length({f}_dec) <= {NUMBER_PLACES} THEN {f}_dec ELSE '' END,"
                f" {NUMBER_PLACES}, '0')")
    units = f"CAST(CAST({whole} AS BIGINT) AS {d.int128}) * {d.big(Q)} + CAST({fraction} AS BIGINT)"
    return [
        [f"CASE WHEN {d.full_match(f, NUMBER_PATTERN)} THEN {f} END AS {s}"],
        [f"left({s}, 1) = '-' AS {f}_neg",
         f"CASE WHEN left({s}, 1) IN ('+', '-') THEN substr({s}, 2) ELSE {s} END AS {f}_body"],
        [f"TRIM(LEADING '0' FROM split_part({f}_body, '.', 1)) AS {f}_int",
         f"TRIM(TRAILING '0' FROM split_part({f}_body, '.', 2)) AS {f}_dec"],
        [f"({s} IS NOT NULL AND length({f}_int) <= {NUMBER_INT_DIGITS}"
         f" AND length({f}_dec) <= {NUMBER_PLACES}) AS {f}_ok",
         f"(CASE WHEN {f}_neg THEN -1 ELSE 1 END) * ({units}) AS {f}_q"],
    ]


def _stages(relation: str, parsers: list[list[list[str]]]) -> list[tuple[str, str]]:
    """CTEs adding the parsers' columns stage by stage on top of `relation`."""
    ctes, previous = [], relation
    for i in range(max(len(p) for p in parsers)):
        items = [item for p in parsers if i < len(p) for item in p[i]]
        ctes.append((f"stage{i}", f"SELECT *, {', '.join(items)} FROM {previous}"))
        previous = f"stage{i}"
    return ctes


# ---- what differs between trips and household readings ---------------------------------------

@dataclass(frozen=True)
class Kind:
    name: str
    parsers: list[list[list[str]]]
    fields_ok: str
    typed: dict[str, str]  # local_day, started_us, qty, … from the parsed fields
    context: str  # joins on `t` (typed record) and `b` (binding)
    context_columns: str
    checks: str  # the scenario checks: CASE branches after no_consent
    carried: str  # further columns kept in `parsed`
    period_key: bool  # one accepted record per (citizen, local day): household readings
    ranked: str  # `accepted` (one row per record_id) with `nth`, a trip's rank in its citizen's day
    outcome: str  # CTEs over `judged` ending in `outcome`, which has `capped`, `vacant`, `mg`


def _trip(d: Dialect, now_us: int) -> Kind:
    mg = d.round_half_up("qty_c * factor", d.big(MG_SCALE))
    return Kind(
        name="trip",
        parsers=[_time_field(d, "started_at"), _time_field(d, "ended_at"), _number_field(d, "distance_km")],
        fields_ok="started_at_ok AND ended_at_ok AND distance_km_ok",
        typed={"local_day": _floor_div(d, f"started_at_us + {OFFSET_US}", DAY_US),
               "started_us": "started_at_us", "ended_us": "ended_at_us", "qty": "distance_km_q"},
        context="""
            LEFT JOIN (SELECT citizen_id, local_day, SUM(trips) AS trips FROM prior_credited
                       GROUP BY citizen_id, local_day) pc
                   ON pc.citizen_id = b.citizen_id AND pc.local_day = t.local_day""",
        context_columns="COALESCE(pc.trips, 0) AS prior_trips, v.daily_cap, v.max_speed",
        checks=(f"WHEN ended_us <= started_us OR ended_us > {now_us} THEN 'invalid_time'"
                " WHEN qty <= 0 OR qty > max_qty THEN 'implausible_distance'"
                " WHEN qty_c * 3600 > max_speed * (ended_us - started_us) * 1000 THEN 'implausible_speed'"),
        carried="prior_trips, daily_cap",
        period_key=False,
        # daily caps: earlier batches' credited trips first, then by started_at, record_id
        ranked="SELECT seq, record_id, ROW_NUMBER() OVER (PARTITION BY citizen_id, local_day"
               " ORDER BY started_us, record_id) AS nth FROM accepted",
        outcome=f"""
            outcome AS (
                SELECT *, COALESCE(prior_trips + nth > daily_cap, FALSE) AS capped, FALSE AS vacant,
                       CASE WHEN prior_trips + nth <= daily_cap THEN {mg} ELSE 0 END AS mg
                FROM judged)""")


def _household(d: Dialect, now_day: int) -> Kind:
    below = d.round_half_up("(baseline - qty_c) * factor", d.big(MG_SCALE))
    own = d.round_half_up(f"GREATEST(window_total - window_days * qty_c, {d.big(0)}) * factor",
                          f"(window_days * {d.big(MG_SCALE)})")
    # prior readings come as DECIMAL(38,18), whose text always has exactly 18 decimals
    prior_q = f"CAST(replace(CAST(kwh AS STRING), '.', '') AS {d.int128})"
    return Kind(
        name="household",
        parsers=[_date_field(d, "date"), _number_field(d, "kwh")],
        fields_ok="date_ok AND kwh_ok",
        typed={"local_day": "date_day", "started_us": "CAST(NULL AS BIGINT)", "month": "date_mo",
               "qty": "kwh_q"},
        context="""
            LEFT JOIN baselines bl ON bl.segment = t.segment AND bl.month = t.month
            LEFT JOIN (SELECT DISTINCT citizen_id, local_day FROM prior_readings) pr
                   ON pr.citizen_id = b.citizen_id AND pr.local_day = t.local_day""",
        context_columns=("bl.baseline, v.vacant_below, v.window_days,"
                         " pr.citizen_id IS NOT NULL AS has_prior_reading"),
        checks=(f"WHEN local_day > {now_day} THEN 'invalid_time'"
                " WHEN qty < 0 OR qty > max_qty THEN 'implausible_reading'"
                " WHEN has_prior_reading THEN 'duplicate_period'"),
        carried="baseline, vacant_below, window_days",
        period_key=True,
        ranked="SELECT seq, record_id, CAST(NULL AS BIGINT) AS nth FROM accepted",
        # the own average: accepted readings, of any batch, on each of the window_days preceding dates
        outcome=f"""
            readings AS (
                SELECT citizen_id, local_day, qty_c AS qty FROM judged WHERE accepted
                UNION ALL SELECT citizen_id, local_day, {prior_q} FROM prior_readings),
            windows AS (
                SELECT j.seq, COUNT(*) AS window_n, SUM(r.qty) AS window_total
                FROM judged j JOIN readings r ON r.citizen_id = j.citizen_id
                     AND r.local_day >= j.local_day - j.window_days AND r.local_day < j.local_day
                WHERE j.accepted GROUP BY j.seq),
            outcome AS (
                SELECT j.*, FALSE AS capped, j.accepted AND j.qty_c < j.vacant_below AS vacant,
                       CASE WHEN NOT j.accepted OR j.qty_c < j.vacant_below THEN 0
                            WHEN j.qty_c < j.baseline THEN {below}
                            WHEN w.window_n = j.window_days THEN {own}
                            ELSE 0 END AS mg
                FROM judged j LEFT JOIN windows w ON w.seq = j.seq)""")


def _versions(d: Dialect, versions: list[VersionedParams]) -> tuple[str, str]:
    """The versions as rows keyed by `segment` (position in `versions`: one methodology version may
    span several segments when its factor changes), parameters as scaled integers; and the
    (segment, month, baseline) rows of household versions."""
    rows, baselines = [], []
    for i, v in enumerate(versions):
        p = v.params
        row = (f"SELECT {i} AS segment, CAST({v.version_id} AS BIGINT) AS version_id,"
               f" CAST({v.factor_version_id} AS BIGINT) AS factor_version_id")
        if isinstance(p, TransitParams):
            rows.append(f"{row}, {d.big(int(p.factor_g_per_km * R))} AS factor,"
                        f" {d.big(int(p.max_km * Q))} AS max_qty, {d.big(int(p.max_kmh * R))} AS max_speed,"
                        f" CAST({p.daily_cap} AS BIGINT) AS daily_cap")
        else:
            rows.append(f"{row}, {d.big(int(p.grid_factor_g_per_kwh * R))} AS factor,"
                        f" {d.big(int(p.max_kwh * Q))} AS max_qty,"
                        f" {d.big(int(p.vacant_below_kwh * Q))} AS vacant_below,"
                        f" CAST({p.window_days} AS BIGINT) AS window_days")
            baselines += [f"SELECT {i} AS segment, {m} AS month, {d.big(int(b * Q))} AS baseline"
                          for m, b in enumerate(p.baseline_kwh_by_month, start=1)]
    return " UNION ALL ".join(rows), " UNION ALL ".join(baselines)


def _segment(versions: list[VersionedParams]) -> str:
    branches = []
    for i, v in enumerate(versions):
        condition = f"local_day >= {(v.valid_from - EPOCH).days}"
        if v.valid_to is not None:
            condition += f" AND local_day < {(v.valid_to - EPOCH).days}"
        branches.append(f"WHEN {condition} THEN {i}")
    return f"CASE {' '.join(branches)} END"


# ---- the steps ---------------------------------------------------------------------------------

def typed_sql(d: Dialect, kind: Kind, versions: list[VersionedParams]) -> str:
    """One row per raw record, needing no context: its hash, whether it is malformed, its typed
    values and the `segment` (version) in force on its local date."""
    fields = RECORD_FIELDS[kind.name]
    hashed = ", ".join(f"CASE WHEN {f} IS NULL THEN '-,' ELSE concat(CAST(length({f}) AS STRING), ':', {f}, ',') END"
                       for f in fields)
    well_formed = (f"record_id IS NOT NULL AND record_id <> '' AND external_user_id IS NOT NULL"
                   f" AND external_user_id <> '' AND {kind.fields_ok}")
    typed = ", ".join(f"CASE WHEN NOT malformed THEN {expr} END AS {name}" for name, expr in kind.typed.items())
    stages = _stages("src", kind.parsers)
    ctes = [("src", f"SELECT *, {d.sha256(f'concat({hashed})')} AS input_hash FROM raw"), *stages,
            ("formed", f"SELECT *, NOT ({well_formed}) AS malformed FROM {stages[-1][0]}"),
            ("typed_values", f"SELECT seq, record_id, external_user_id, input_hash, malformed, {typed} FROM formed")]
    return f"""WITH {", ".join(f"{name} AS ({sql})" for name, sql in ctes)}
        SELECT *, {_segment(versions)} AS segment FROM typed_values"""


def parsed_sql(d: Dialect, kind: Kind, versions: list[VersionedParams]) -> str:
    """One row per record: typed values, context and `verdict`, the first check that fails
    ('malformed', 'duplicate' of an earlier batch, or a reason code); NULL = eligible."""
    version_rows, baseline_rows = _versions(d, versions)
    ctes = [("versions", version_rows),
            ("consent", "SELECT citizen_id, MIN(from_day) AS from_day FROM consents GROUP BY citizen_id")]
    if baseline_rows:
        ctes.append(("baselines", baseline_rows))
    ctes.append(("joined", f"""
        SELECT t.*, CASE WHEN NOT t.malformed THEN b.citizen_id END AS citizen_id, c.from_day AS consent_from,
               pa.record_id IS NOT NULL AS prior_dup, v.version_id, v.factor_version_id, v.factor, v.max_qty,
               LEAST(GREATEST(t.qty, {d.big(0)}), v.max_qty) AS qty_c, {kind.context_columns}
        FROM typed t
        LEFT JOIN bindings b ON b.external_user_id = t.external_user_id
        LEFT JOIN consent c ON c.citizen_id = b.citizen_id
        LEFT JOIN (SELECT DISTINCT record_id FROM prior_accepted) pa ON pa.record_id = t.record_id
        LEFT JOIN versions v ON v.segment = t.segment{kind.context}"""))
    return f"""WITH {", ".join(f"{name} AS ({sql})" for name, sql in ctes)}
        SELECT seq, record_id, input_hash, citizen_id, local_day, started_us, segment, version_id,
               factor_version_id, factor, qty_c, {kind.carried},
               CASE WHEN malformed THEN 'malformed'
                    WHEN prior_dup THEN 'duplicate'
                    WHEN citizen_id IS NULL THEN 'unknown_user'
                    WHEN consent_from IS NULL OR local_day < consent_from THEN 'no_consent'
                    {kind.checks}
               END AS verdict
        FROM joined"""


def _accept(backend: Backend, kind: Kind) -> tuple[str, list[str]]:
    """The query of `accepted`: the eligible records that the text, read in file order, accepts.

    A record is accepted unless an earlier accepted record has its record_id (a duplicate) or, for
    household readings, its (citizen, date) (duplicate_period). Each round accepts the records
    first in file order for their id and key among those still undecided, and drops the undecided
    that share an id or key with them; this repeats until none is left. Without a period key
    the first round decides everything. Also returns the names of the tables it made."""
    columns = "seq, record_id, citizen_id, local_day, started_us"
    remaining = backend.materialize("undecided0", f"SELECT {columns} FROM parsed WHERE verdict IS NULL")
    won, made = [], ["undecided0"]
    while remaining:
        i = len(won)
        won.append(f"won{i}")
        first_key = (f" AND seq IN (SELECT MIN(seq) FROM undecided{i} GROUP BY citizen_id, local_day)"
                     if kind.period_key else "")
        backend.materialize(won[i], f"""
            SELECT {columns} FROM undecided{i}
            WHERE seq IN (SELECT MIN(seq) FROM undecided{i} GROUP BY record_id){first_key}""")
        if not kind.period_key:
            break
        made.append(f"undecided{i + 1}")
        remaining = backend.materialize(made[-1], f"""
            SELECT * FROM undecided{i} u
            WHERE NOT EXISTS (SELECT 1 FROM won{i} w WHERE w.record_id = u.record_id)
              AND NOT EXISTS (SELECT 1 FROM won{i} w
                              WHERE w.citizen_id = u.citizen_id AND w.local_day = u.local_day)""")
    parts = won or ["undecided0"]  # nothing eligible: the empty undecided0
    return " UNION ALL ".join(f"SELECT {columns} FROM {r}" for r in parts), made + won


def outcome_sql(kind: Kind, accepted: str) -> str:
    """One output row per record (OUTPUT_SCHEMA, with `local_day` and `started_us` as integers)."""
    return f"""
        WITH accepted AS ({accepted}),
        judged AS (
            SELECT p.*, COALESCE(a.seq = p.seq, FALSE) AS accepted, a.seq AS first_seq,
                   CASE WHEN a.seq = p.seq THEN a.nth END AS nth
            FROM parsed p LEFT JOIN ({kind.ranked}) a ON a.record_id = p.record_id),
        {kind.outcome}
        SELECT seq, record_id,
               CASE WHEN verdict = 'malformed' THEN 'rejected'
                    WHEN verdict = 'duplicate' OR first_seq < seq THEN 'duplicate'
                    WHEN accepted THEN 'accepted'
                    ELSE 'rejected' END AS status,
               CASE WHEN verdict = 'malformed' THEN verdict
                    WHEN verdict = 'duplicate' OR first_seq < seq OR accepted THEN NULL
                    ELSE COALESCE(verdict, 'duplicate_period') END AS reason,
               citizen_id, local_day, started_us, mg AS reduction_mg, capped, vacant, version_id,
               factor_version_id, input_hash
        FROM outcome"""


def _days_of(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.cast(column, pa.int32())


def _context_tables(context: EngineContext) -> dict[str, pa.Table]:
    """The context with dates as days since the epoch; a consent without a date counts from ALWAYS."""
    consents, credited, readings = context.consents, context.prior_credited, context.prior_readings
    return {
        "bindings": context.bindings,
        "consents": pa.table({"citizen_id": consents.column("citizen_id"),
                              "from_day": pc.fill_null(_days_of(consents.column("effective_from")), ALWAYS)}),
        "prior_accepted": context.prior_accepted,
        "prior_credited": pa.table({"citizen_id": credited.column("citizen_id"),
                                    "local_day": _days_of(credited.column("local_date")),
                                    "trips": credited.column("trips")}),
        "prior_readings": pa.table({"citizen_id": readings.column("citizen_id"),
                                    "local_day": _days_of(readings.column("local_date")),
                                    "kwh": readings.column("kwh")}),
    }


class Judge:
    """Judges the records registered as `raw` (RECORD_FIELDS and `seq`) in a backend, as often as the
    context changes: the context-free parsing (`typed`) is done once. Each call leaves the verdicts
    in the backend as `outcome` (see outcome_sql)."""

    def __init__(self, backend: Backend, scenario: str, kind_name: str, versions: list[VersionedParams],
                 now: datetime):
        d = backend.dialect
        now_us = (now - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
        now_day = (now.astimezone(timezone(SHANGHAI_OFFSET)).date() - EPOCH).days
        self.backend, self.scenario, self.versions = backend, scenario, versions
        self.kind = _trip(d, now_us) if kind_name == "trip" else _household(d, now_day)
        backend.materialize("typed", typed_sql(d, self.kind, versions))

    def __call__(self, context: EngineContext) -> None:
        backend = self.backend
        for name, table in _context_tables(context).items():
            backend.register(name, table)
        backend.materialize("parsed", parsed_sql(backend.dialect, self.kind, self.versions))
        uncovered = backend.fetch("SELECT seq, local_day FROM parsed WHERE verdict <> 'malformed'"
                                  " AND segment IS NULL ORDER BY seq LIMIT 1").to_pylist()
        if uncovered:
            seq, day = uncovered[0]["seq"], EPOCH + timedelta(days=uncovered[0]["local_day"])
            raise UncoveredDateError(f"{self.scenario}: record seq {seq}: no methodology version in force on {day}")
        accepted, steps = _accept(backend, self.kind)
        backend.materialize("outcome", outcome_sql(self.kind, accepted))
        for name in ["parsed", *steps]:  # what only led to the outcome
            backend.drop(name)


def typed_outcome(outcome: pa.Table | pa.RecordBatch) -> pa.Table | pa.RecordBatch:
    """`local_day` and `started_us` of outcome rows as the date and UTC time of OUTPUT_SCHEMA."""
    local_date = pc.cast(pc.cast(outcome.column("local_day"), pa.int32()), pa.date32())
    started_at = pc.cast(outcome.column("started_us"), pa.timestamp("us", tz="UTC"))
    outcome = outcome.set_column(outcome.schema.get_field_index("local_day"), "local_date", local_date)
    return outcome.set_column(outcome.schema.get_field_index("started_us"), "started_at", started_at)


def run(backend: Backend, scenario: str, kind_name: str, records: pa.Table, context: EngineContext,
        versions: list[VersionedParams], now: datetime) -> pa.Table:
    """Judges records in one go; the outcome in file order."""
    backend.register("raw", records)
    Judge(backend, scenario, kind_name, versions, now)(context)
    return typed_outcome(backend.fetch("SELECT * FROM outcome ORDER BY seq"))
