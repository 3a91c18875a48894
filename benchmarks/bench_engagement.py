"""Benchmark: leaderboards with 1,000,000 citizens and a year of points — a leaderboard page and API
call must answer in under 100 ms and a citizen's own rank in under 50 ms (median of repeated calls).

    .venv/bin/python benchmarks/bench_engagement.py --quick            # 50,000 citizens
    .venv/bin/python benchmarks/bench_engagement.py                    # 1,000,000 citizens
    .venv/bin/python benchmarks/bench_engagement.py --database postgresql

What is built (benchmark only: direct bulk SQL, not the services): 1,000,000 users and citizens
(names encrypted as on the site; 20,000 distinct tokens reused, which costs the same to decrypt),
1,000 communities in 10 districts, 2,000 units joined by 30 % of citizens, and the rollups a year of
credits leaves: every citizen on the all-time board, 40 % on each of the 12 month boards, 25 % on
each of the 52 week boards, 10 % on each of the 100 kept day boards (older day boards are pruned),
with log-normal totals (the all-time median about 20,000 points, i.e. 20 kg CO2e); the score levels
and the community, unit and district totals are aggregated from them. Tables are loaded without
their indexes, which are then built (and, on PostgreSQL, VACUUM ANALYZE runs as autovacuum would).

What is timed, through the whole Django stack (test client: URL routing, middleware, session,
JSON or template, masked names decrypted): the citizen leaderboard API and page for each period,
community / unit / district boards, and a citizen's own rank (API `/me` and the bare query) for
citizens spread over the ranking, bottom included. Each is the median of repeated calls; p95 and
max are reported too. Last, the cost of the incremental maintenance: `rollups.add` of 10,000
citizen-days into the full tables (what an ingest batch or an award run adds).

Each run uses a fresh database: a temporary TANHUI_HOME for SQLite; for PostgreSQL the database
`tanhui_bench_eng` at TANHUI_BENCH_PG (default postgresql://postgres@127.0.0.1:5432), dropped and
created. DJANGO_SETTINGS_MODULE is respected (default tanhui.settings).
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432"
END = date(2026, 6, 14)  # the last day of the benchmark year
DISTRICTS, COMMUNITIES, UNITS = 10, 1000, 2000
NAME_POOL = 20_000
SHARES = {"all": 1.0, "month": 0.40, "week": 0.25, "day": 0.10}
MEDIANS = {"all": 20_000, "month": 2_000, "week": 500, "day": 100}  # points, log-normal, sigma 1.2
KEPT_DAYS = 100
REPEAT = 25


def setup(database: str, home: Path) -> None:
    os.environ["TANHUI_HOME"] = str(home)
    if database == "postgresql":
        import psycopg

        base = os.environ.get("TANHUI_BENCH_PG", PG_DEFAULT)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as con:
            con.execute("DROP DATABASE IF EXISTS tanhui_bench_eng")
            con.execute("CREATE DATABASE tanhui_bench_eng")
        os.environ["TANHUI_DATABASE_URL"] = f"{base}/tanhui_bench_eng"
    else:
        os.environ.pop("TANHUI_DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tanhui.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def periods() -> list[tuple[str, str]]:
    """(scope, period) of the year up to END: all time, 12 months, 52 weeks, the kept days."""
    from tanhui.engagement.rollups import period_of

    found = {("all", "all")}
    for back in range(365):
        day = END - timedelta(days=back)
        found.add(("month", period_of("month", day)))
        found.add(("week", period_of("week", day)))
        if back < KEPT_DAYS:
            found.add(("day", period_of("day", day)))
    months = sorted(p for s, p in found if s == "month")[-12:]
    weeks = sorted(p for s, p in found if s == "week")[-52:]
    return [("all", "all")] + [("month", m) for m in months] + [("week", w) for w in weeks] + sorted(
        (s, p) for s, p in found if s == "day")


def make_people(citizens: int) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from tanhui.core.bulk import insert_rows
    from tanhui.core.pii import encrypt
    from tanhui.people.models import Citizen, Community, District, Organisation, User

    districts = District.objects.bulk_create([District(name=f"第{i}区") for i in range(DISTRICTS)])
    communities = Community.objects.bulk_create([Community(district=districts[i % DISTRICTS], name=f"社区{i}")
                                                 for i in range(COMMUNITIES)])
    Organisation.objects.bulk_create([Organisation(kind="public_institution", name=f"单位{i}") for i in range(UNITS)])
    surnames, given = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗", "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"
    names = [encrypt(surnames[i % len(surnames)] + given[i % len(given)] + given[(i // len(given)) % len(given)])
             for i in range(NAME_POOL)]
    stamp = connection.ops.adapt_datetimefield_value(timezone.now())

    def users():
        for i in range(1, citizens + 1):
            yield {"id": i, "password": "!", "last_login": None, "is_superuser": False, "username": f"c_C{i:012X}",
                   "first_name": "", "last_name": "", "email": "", "is_staff": False, "is_active": True,
                   "date_joined": stamp, "role": "citizen", "organisation_id": None}

    def people():
        for i in range(1, citizens + 1):
            community = communities[i % COMMUNITIES]
            yield {"id": i, "user_id": i, "public_id": f"C{i:012X}", "phone": None, "phone_hash": None,
                   "name": names[i % NAME_POOL], "district_id": community.district_id, "community_id": community.pk,
                   "status": "active", "created_at": stamp, "closed_at": None}

    with transaction.atomic():
        for model, rows in ((User, users()), (Citizen, people())):
            columns = [f.column for f in model._meta.concrete_fields]
            insert_rows(model._meta.db_table, columns, ([row[c] for c in columns] for row in rows))
        first_unit = Organisation.objects.order_by("pk").values_list("pk", flat=True).first()
        insert_rows("engagement_membership", ["citizen_id", "community_id", "organisation_id", "updated_at"],
                    ((i, None, first_unit + i % UNITS, stamp) for i in range(1, citizens + 1) if i % 10 < 3))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(_NoStyle(), [User, Citizen]):
                cursor.execute(sql)


class _NoStyle:
    def __getattr__(self, name):
        return lambda text: text


def generate(con, citizens: int, folder: Path) -> Path:
    """The citizen rollup rows as Parquet, made by DuckDB from hashes (reproducible)."""
    rows = periods()
    con.execute("CREATE TABLE periods (scope VARCHAR, period VARCHAR, k INTEGER)")
    con.executemany("INSERT INTO periods VALUES (?, ?, ?)", [(s, p, i) for i, (s, p) in enumerate(rows)])
    con.execute("CREATE TABLE shape (scope VARCHAR, share DOUBLE, median DOUBLE)")
    con.executemany("INSERT INTO shape VALUES (?, ?, ?)", [(s, SHARES[s], MEDIANS[s]) for s in SHARES])
    path = folder / "scores.parquet"
    con.execute(f"""
        COPY (
          SELECT p.period, c.i AS citizen_id,
                 -- log-normal points from two hash uniforms (Box-Muller), sigma 1.2
                 CAST(floor(s.median * exp(1.2 * sqrt(-2 * ln((hash(c.i, p.k, 1) % 1000000 + 0.5) / 1e6))
                      * cos(2 * pi() * (hash(c.i, p.k, 2) % 1000000) / 1e6))) AS BIGINT) AS points
          FROM range(1, {citizens + 1}) c(i) CROSS JOIN periods p JOIN shape s USING (scope)
          WHERE hash(c.i, p.k, 3) % 1000000 < s.share * 1000000
          ORDER BY p.period, c.i
        ) TO '{path}' (FORMAT parquet)""")  # noqa: S608 - integers and a path we made
    return path


def load_scores(con, path: Path) -> int:
    """Bulk-loads the rollups with their indexes dropped, then builds indexes, levels and group totals."""
    from django.db import connection, transaction

    from tanhui.core.bulk import insert_rows
    from tanhui.engagement import rollups
    from tanhui.engagement.models import CitizenScore

    meta = CitizenScore._meta
    table = meta.db_table
    # The rank index is the model's one index. On SQLite the unique (period, citizen_id) is part of the
    # table; the rows come sorted by it, so it grows by appending.
    unique = "citizen_score_period"
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {unique}")
        cursor.execute(f"DROP INDEX {meta.indexes[0].name}")
    loaded = 0
    with transaction.atomic():
        query = (f"SELECT period, citizen_id, points, points * 1000 AS reduction_mg, 0 AS award_points "  # noqa: S608
                 f"FROM read_parquet('{path}')")
        reader = con.sql(query).to_arrow_reader(200_000)
        for batch in reader:
            columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            loaded += insert_rows(meta.db_table, ["period", "citizen_id", "points", "reduction_mg", "award_points"],
                                  zip(*columns, strict=True))
    with connection.schema_editor() as editor, connection.cursor() as cursor:
        if postgres:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {unique} UNIQUE (period, citizen_id)")
        editor.add_index(CitizenScore, meta.indexes[0])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO engagement_scorelevel (period, points, citizens) "
                       "SELECT period, points, COUNT(*) FROM engagement_citizenscore GROUP BY period, points")
        cursor.execute("INSERT INTO engagement_scoreband (period, band, citizens) "
                       "SELECT period, points / %s, SUM(citizens) FROM engagement_scorelevel "
                       "GROUP BY period, points / %s", [rollups.BAND, rollups.BAND])
        for kind, source in (("community", "c.community_id"), ("district", "c.district_id"),
                             ("organisation", "m.organisation_id")):
            join = "JOIN engagement_membership m ON m.citizen_id = s.citizen_id" if kind == "organisation" else ""
            cursor.execute(f"""INSERT INTO engagement_groupscore (kind, period, group_id, points, reduction_mg, members)
                               SELECT %s, s.period, {source}, SUM(s.points), SUM(s.reduction_mg), COUNT(*)
                                 FROM engagement_citizenscore s JOIN people_citizen c ON c.id = s.citizen_id {join}
                                GROUP BY s.period, {source}""", [kind])  # noqa: S608 - fixed fragments
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("ANALYZE")
    return loaded


def timed(call, repeat: int = REPEAT) -> dict:
    call()  # warm-up: caches, the first query plan
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"median_ms": round(statistics.median(samples), 2),
            "p95_ms": round(samples[int(0.95 * (len(samples) - 1))], 2), "max_ms": round(samples[-1], 2)}


def measure(citizens: int) -> dict:
    from django.test import Client

    from tanhui.engagement import rollups
    from tanhui.engagement.models import CitizenScore, ScoreLevel
    from tanhui.people.models import User

    from_period = {"all": "all", **{s: rollups.period_of(s, END) for s in ("month", "week", "day")}}
    day = END.isoformat()
    client = Client(HTTP_HOST="localhost")
    results = {}
    for scope in ("all", "month", "week", "day"):
        results[f"api citizens {scope}"] = timed(lambda s=scope: _ok(client.get(
            f"/api/v1/engagement/leaderboards/citizens?scope={s}&day={day}")))
        results[f"page citizens {scope}"] = timed(lambda s=scope: _ok(client.get(
            f"/engagement/leaderboards/?board=citizens&scope={s}&day={day}")))
    results["api citizens all, page 200 (offset 10,000)"] = timed(lambda: _ok(client.get(
        f"/api/v1/engagement/leaderboards/citizens?scope=all&day={day}&offset=10000&limit=50")))
    for board in ("communities", "organisations", "districts"):
        results[f"api {board} week"] = timed(lambda b=board: _ok(client.get(
            f"/api/v1/engagement/leaderboards/{b}?scope=week&day={day}")))
    # Own rank: citizens at ranks spread over the all-time board, the bottom one included.
    ordered = CitizenScore.objects.filter(period="all").order_by("-points", "citizen_id")
    total = ordered.count()
    positions = [0, total // 100, total // 10, total // 4, total // 2, 3 * total // 4, 9 * total // 10, total - 1]
    sample = [ordered.values_list("citizen_id", flat=True)[p] for p in positions]
    me_api, me_query = [], []
    for citizen_id in sample:
        client.force_login(User.objects.get(citizen__pk=citizen_id))
        for scope in ("all", "month", "week"):
            me_api.append(timed(lambda s=scope: _ok(client.get(
                f"/api/v1/engagement/leaderboards/citizens/me?scope={s}&day={day}"), allow=(200, 204)), 11))
            me_query.append(timed(lambda c=citizen_id, s=scope: rollups.citizen_rank(c, from_period[s]), 11))
    results["api me (own rank), over sampled citizens"] = _summary(me_api)
    results["query own rank (citizen_rank), over sampled citizens"] = _summary(me_query)
    results["own rank of the bottom citizen, all time"] = timed(lambda: rollups.citizen_rank(sample[-1], "all"))
    results["all-time board"] = {"citizens": rollups.participants("all"),
                                 "distinct_totals": ScoreLevel.objects.filter(period="all").count()}
    return results


def _summary(runs: list[dict]) -> dict:
    medians = sorted(r["median_ms"] for r in runs)
    return {"median_ms": round(statistics.median(medians), 2), "worst_median_ms": medians[-1],
            "max_ms": max(r["max_ms"] for r in runs), "calls": len(runs)}


def _ok(response, allow=(200,)):
    if response.status_code not in allow:
        raise RuntimeError(f"{response.status_code}: {response.content[:300]!r}")
    return response


def maintenance(citizens: int) -> dict:
    """rollups.add of 10,000 citizen-days (as an ingest batch adds) into the full tables."""
    from django.db import transaction

    from tanhui.engagement import rollups

    entries = [(1 + (i * 7919) % citizens, END - timedelta(days=i % 7), 250_000 + i, 0) for i in range(10_000)]
    started = time.perf_counter()
    with transaction.atomic():
        rows = rollups.add(entries)
    seconds = time.perf_counter() - started
    return {"citizen_days": len(entries), "rows_upserted": rows, "seconds": round(seconds, 2),
            "citizen_days_per_s": round(len(entries) / seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="50,000 citizens")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.citizens = 50_000
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    with tempfile.TemporaryDirectory(prefix="bench-eng-") as tmp:
        folder = Path(tmp)
        setup(args.database, folder / "home")
        import duckdb

        steps = {}
        started = time.perf_counter()
        make_people(args.citizens)
        steps["people_seconds"] = round(time.perf_counter() - started, 1)
        gen = duckdb.connect()
        gen.execute(f"SET temp_directory = '{folder / 'spill'}'")
        started = time.perf_counter()
        path = generate(gen, args.citizens, folder)
        rows = load_scores(gen, path)
        steps["rollup_rows"] = rows
        steps["rollups_seconds"] = round(time.perf_counter() - started, 1)
        gen.close()
        timings = measure(args.citizens)
        result = {"database": args.database, "citizens": args.citizens, "periods": len(periods()), **steps,
                  "timings": timings, "maintenance": maintenance(args.citizens), "cores": os.cpu_count(),
                  "load_average": round(os.getloadavg()[0], 2)}
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return
    for key, value in result.items():
        if key == "timings":
            for name, figures in value.items():
                print(f"  {name:<58} {figures}")
        else:
            print(f"{key:>18}  {value}")


if __name__ == "__main__":
    main()
