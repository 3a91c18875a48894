"""Load benchmark (issue 10): the API mix under gunicorn, driven by locust, against a trivial endpoint
on the same server.

    .venv/bin/python benchmarks/bench_load.py                                   # PostgreSQL, 60 s
    .venv/bin/python benchmarks/bench_load.py --seconds 30 --users 24 --database sqlite
    .venv/bin/python benchmarks/bench_load.py --database postgresql://postgres@127.0.0.1:5432/tanhui_load

Steps, all in one run:
1. A fresh database (`--database postgresql` drops and creates `tanhui_load` at TANHUI_BENCH_PG, default
   postgresql://postgres@127.0.0.1:5432; a URL names the database to drop and create; `sqlite` uses a new
   TANHUI_HOME) is seeded through the apps' services: citizens bound to two metro providers (bulk
   registration), a welcome bonus and a week of ingested metro trips each, a signed-in session per citizen,
   merchants with offers (one part-funded by a campaign budget), a quiz with its campaign budget.
2. gunicorn serves `tanhui.wsgi` on loopback with `--workers` workers (`--worker-class`, `--threads`).
3. locust (FastHttpUser, headless, a subprocess) runs `GET /api/v1/health` alone for `--health-seconds`
   (the framework's own ceiling), then the mix (benchmarks/load/locustfile.py) for `--seconds`; each phase
   also stops after `--max-requests` requests.
4. The batches the providers sent are processed (`tanhui worker --once`) and the value-carrying effects are
   checked: `ledger verify`, coupons against the claims the clients saw and against the offers' stock,
   quiz rewards paid once per citizen, every record credited once.

Prints a table (requests/s, p50/p99 per endpoint, errors, the mix against the trivial endpoint, where the
CPU went, the load average), or one JSON object with `--json`. DJANGO_SETTINGS_MODULE is respected.
"""

import argparse
import csv
import io
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = ROOT / "benchmarks" / "load" / "locustfile.py"
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432"
PG_DATABASE = "tanhui_load"
PORT = 8765
OFFERS_PER_MERCHANT = 4
MERCHANTS = 4
OFFER_STOCK = 1_000_000
OFFER_PRICE = 10
WELCOME_POINTS = 100_000
TRIPS_PER_CITIZEN = 4
QUIZ_CODE = "load-quiz"
CAMPAIGN_CODE = "load-campaign"
QUIZ_PASS_POINTS = 5


# Database and seed ---------------------------------------------------------------------------------

def use_database(database: str, home: Path) -> str:
    """Points this process (and so gunicorn and the worker) at a fresh database; returns its description."""
    os.environ["TANHUI_HOME"] = str(home)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tanhui.settings")
    if database == "sqlite":
        os.environ.pop("TANHUI_DATABASE_URL", None)
        return f"sqlite {home / 'tanhui.sqlite3'}"
    import psycopg

    url = database if "://" in database else f"{os.environ.get('TANHUI_BENCH_PG', PG_DEFAULT)}/{PG_DATABASE}"
    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        con.execute(f'CREATE DATABASE "{name}"')
    os.environ["TANHUI_DATABASE_URL"] = url
    return url


def seed(citizens: int, home: Path) -> dict:
    """Builds the city the mix runs against; returns the plan the locust users read."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("init", verbosity=0, stdout=io.StringIO())
    providers = seed_providers()
    people = seed_citizens(citizens, providers, home)
    plan = {"citizens": seed_sessions(people), "offers": seed_offers(), **seed_quiz(), "providers": providers,
            "record_day": str(today() - timedelta(days=1))}
    from django.db import connections

    connections.close_all()
    return plan


def today():
    from django.utils import timezone

    from tanhui.core.timeutil import local_date

    return local_date(timezone.now())


def seed_providers() -> list[dict]:
    from tanhui.ingest.services import add_provider

    found = []
    for code in ("load_metro_a", "load_metro_b"):
        _provider, key = add_provider(code, f"负载测试地铁 {code[-1].upper()}", ["metro"])
        found.append({"code": code, "key": key, "scenario": "metro", "external_ids": []})
    return found


def seed_citizens(count: int, providers: list[dict], home: Path) -> list[int]:
    """Citizens bound to the providers in turn, with metro consent, a welcome bonus and a week of trips
    ingested through the pipeline (so statements have history and per-scenario totals)."""
    from tanhui.ingest.models import Provider
    from tanhui.ingest.pipeline import ingest_file
    from tanhui.ledger import services as ledger
    from tanhui.ledger.models import Account
    from tanhui.methodology.models import Scenario
    from tanhui.people.services import register_citizens_bulk
    from tanhui.synth.records import write_metro_records

    by_code = {p.code: p for p in Provider.objects.filter(code__in=[p["code"] for p in providers])}
    bindings = []
    for i in range(count):
        spec = providers[i % len(providers)]
        external_id = f"{spec['code']}-{i}"
        spec["external_ids"].append(external_id)
        bindings.append((by_code[spec["code"]], external_id))
    ids = register_citizens_bulk([(f"19{i:09d}", f"市民{i}") for i in range(count)], district="南山区",
                                 community="粤海街道", bindings=bindings,
                                 scenarios=[Scenario.objects.get(code="metro")])
    accounts = ledger.citizen_accounts(ids)

    def welcome(citizen_id: int) -> ledger.TxSpec:
        account = accounts[citizen_id]
        issuer = ledger.system_account(Account.Kind.ISSUANCE, ledger.shard_of(account))
        return ledger.move_points(issuer, account, WELCOME_POINTS, kind="bonus",
                                  idempotency_key=f"load:welcome:{citizen_id}", memo="负载测试欢迎积分")

    for first in range(0, count, 5000):
        ledger.post_transactions([welcome(c) for c in ids[first:first + 5000]])
    for spec in providers:
        path = write_metro_records(home / f"{spec['code']}.parquet", len(spec["external_ids"]) * TRIPS_PER_CITIZEN,
                                   seed=7, external_user_ids=spec["external_ids"],
                                   start_date=today() - timedelta(days=8), days=7)
        ingest_file(path, "metro", spec["code"])
    return ids


def seed_sessions(citizen_ids: list[int]) -> list[dict]:
    """A signed-in session per citizen, as a login would leave it, and a CSRF token for its writes."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from tanhui.people.models import Citizen

    store, expires = SessionStore(), timezone.now() + timedelta(days=1)
    sessions, plan = [], []
    for citizen in Citizen.objects.filter(pk__in=citizen_ids).select_related("user").order_by("pk"):
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        data = {SESSION_KEY: str(citizen.user.pk), BACKEND_SESSION_KEY: "tanhui.people.auth.PhoneBackend",
                HASH_SESSION_KEY: citizen.user.get_session_auth_hash()}
        sessions.append(Session(session_key=key, session_data=store.encode(data), expire_date=expires))
        plan.append({"session": key, "csrf": secrets.token_hex(16)})
    Session.objects.bulk_create(sessions, batch_size=5000)
    return plan


def seed_offers() -> list[int]:
    """Approved merchants with published offers of ample stock; each merchant's first offer is
    part-paid by a campaign budget (the funded claim path: two reservations)."""
    from tanhui.people.models import District, User
    from tanhui.rewards import services
    from tanhui.rewards.models import Category, Offer
    from tanhui.synth.population import merchant_rows

    admin = User.objects.create(username="load-admin", role=User.Role.ADMIN)
    budget = services.create_budget("load-budget", "负载测试补贴", 5)
    services.fund_budget(budget, 10_000_000, request_key="load")
    offers = []
    for index, (name, licence, _category, district, phone) in enumerate(
            merchant_rows(random.Random("load"), set())[:MERCHANTS]):
        place = District.objects.get_or_create(name=district)[0]
        merchant = services.register_applicant(
            f"load-merchant{index}", secrets.token_urlsafe(12), name=name, licence_no=licence, district=place,
            service_districts=[place], address=f"{district}负载路 {index} 号", contact_name="李店长",
            contact_phone=phone)
        merchant = services.review(merchant, admin, approve=True)
        for n in range(OFFERS_PER_MERCHANT):
            offer = services.save_offer(merchant, {
                "title": f"{name} 低碳优惠 {n + 1}", "description": "负载测试", "category": Category.GOODS,
                "points_price": OFFER_PRICE, "stock": OFFER_STOCK, "per_citizen_limit": 10_000,
                "valid_from": today() - timedelta(days=1), "valid_until": today() + timedelta(days=30),
                "coupon_days": 30, "districts": [place], "funding": budget if n == 0 else None,
                "funded_points": 3 if n == 0 else 0})
            offers.append(services.set_offer_status(merchant, offer, Offer.Status.PUBLISHED).pk)
    return offers


def seed_quiz() -> dict:
    """A published quiz of the engagement app's demo questions, in a campaign whose budget pays the pass
    reward; the answer key goes to the locust users so that most attempts pass."""
    from django.utils import timezone

    import tanhui.engagement
    from tanhui.engagement import services
    from tanhui.engagement.models import Campaign, Question, QuizEdition

    questions = json.loads((Path(tanhui.engagement.__file__).parent / "fixtures" / "demo_questions.json").read_text())
    Question.objects.bulk_create([Question(**item) for item in questions])
    campaign = Campaign.objects.create(code=CAMPAIGN_CODE, name="负载测试活动", starts_on=today() - timedelta(days=1),
                                       ends_on=today() + timedelta(days=30), status=Campaign.Status.PUBLISHED)
    services.fund_campaign(campaign, 10_000_000, memo="负载测试预算")
    now = timezone.now()
    QuizEdition.objects.create(code=QUIZ_CODE, title="负载测试知识竞赛", campaign=campaign,
                               status=QuizEdition.Status.PUBLISHED, opens_at=now - timedelta(days=1),
                               closes_at=now + timedelta(days=30), question_count=5, time_limit_seconds=300,
                               attempts_per_day=30_000, pass_percent=60, pass_points=QUIZ_PASS_POINTS)
    return {"quiz": QUIZ_CODE, "answers": {str(q.pk): q.answer for q in Question.objects.all()}}


# Server and load -----------------------------------------------------------------------------------

def start_server(args, home: Path) -> subprocess.Popen:
    command = [str(Path(sys.executable).parent / "gunicorn"), "tanhui.wsgi:application", "--bind", f"127.0.0.1:{PORT}",
               "--workers", str(args.workers), "--worker-class", args.worker_class, "--threads", str(args.threads),
               "--log-level", "warning", "--error-logfile", str(home / "gunicorn.log")]
    server = subprocess.Popen(command, cwd=home, env=os.environ.copy(), start_new_session=True)  # noqa: S603 - a fixed command
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/api/v1/health", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    stop_server(server)
    raise SystemExit("gunicorn did not answer /api/v1/health within 60 s")


def stop_server(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


class BackendCpu:
    """The CPU seconds PostgreSQL spent for this run's database since this object was made, polled: a
    connection may end during a phase (Django reconnects after CONN_MAX_AGE) and its process with it,
    so each backend's CPU is remembered as last seen; a new connection's CPU is all this phase's."""

    def __init__(self):
        self.seen = {}  # pid → [process, CPU seconds at the start, CPU seconds last seen]
        for process in database_backends():
            start = cpu_seconds([process])
            self.seen[process.pid] = [process, start, start]

    def poll(self) -> float:
        for process in database_backends():
            self.seen.setdefault(process.pid, [process, 0.0, 0.0])
        for entry in self.seen.values():
            entry[2] = max(entry[2], cpu_seconds([entry[0]]))  # an ended process counts 0: keep its last
        return sum(last - first for _process, first, last in self.seen.values())


def database_backends() -> list[psutil.Process]:
    """The PostgreSQL server processes serving this run's database (none on SQLite)."""
    url = os.environ.get("TANHUI_DATABASE_URL")
    if not url:
        return []
    name = f" {url.rsplit('/', 1)[1]} "
    return [process for process in psutil.process_iter(["name", "cmdline"])
            if process.info["name"] == "postgres" and name in " ".join(process.info["cmdline"] or []) + " "]


def run_locust(user_classes: list[str], seconds: int, users: int, max_requests: int, plan: Path, out: Path,
               server: subprocess.Popen) -> dict:
    """One headless locust phase; returns its per-endpoint stats, the client's own counts and the CPU split."""
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", f"http://127.0.0.1:{PORT}",
               "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{seconds}s", "--stop-timeout", "10",
               "--max-requests", str(max_requests), "--csv", str(out), "--only-summary", "--loglevel", "WARNING",
               *user_classes]
    env = {**os.environ, "LOAD_PLAN": str(plan), "LOAD_COUNTS": f"{out}_counts.json"}
    workers = psutil.Process(server.pid).children(recursive=True)
    backends = BackendCpu()
    machine, server_cpu = psutil.cpu_times(), cpu_seconds(workers)
    started, load = time.monotonic(), []
    log = Path(f"{out}_locust.log")
    with log.open("w") as stderr:
        client = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)  # noqa: S603
    while True:
        pid, status, usage = os.wait4(client.pid, os.WNOHANG)
        if pid:
            client.returncode = os.waitstatus_to_exitcode(status)
            break
        load.append(os.getloadavg()[0])
        backends.poll()
        time.sleep(1)
    wall = time.monotonic() - started
    after = psutil.cpu_times()
    busy = sum(getattr(after, f) - getattr(machine, f) for f in ("user", "system", "nice", "irq", "softirq"))
    cpu = {"cores": psutil.cpu_count(), "server_s": cpu_seconds(workers) - server_cpu,
           "client_s": usage.ru_utime + usage.ru_stime, "database_s": backends.poll()}
    cpu["other_s"] = busy - sum(cpu[k] for k in ("server_s", "client_s", "database_s"))
    cpu["idle_s"] = wall * psutil.cpu_count() - busy
    if not Path(f"{out}_stats.csv").exists():
        raise SystemExit(f"locust failed: {log.read_text()[-2000:]}")
    counts = json.loads(Path(f"{out}_counts.json").read_text()) if Path(f"{out}_counts.json").exists() else {}
    endpoints = read_stats(Path(f"{out}_stats.csv"))
    requests = max(endpoints[-1]["requests"], 1)
    per_request = {k[:-2]: round(cpu[k] * 1000 / requests, 2) for k in ("server_s", "database_s", "client_s")}
    return {"endpoints": endpoints, "counts": counts, "wall_s": round(wall, 1),
            "cpu": {k: round(v, 1) for k, v in cpu.items()}, "cpu_ms_per_request": per_request,
            # What the two cores would sustain if this run's processes had them to themselves.
            "quiet_machine_rps": round(cpu["cores"] * 1000 / sum(per_request.values())),
            "load_average": round(max(load, default=0.0), 2)}


def read_stats(path: Path) -> list[dict]:
    """locust's `_stats.csv`: one row per endpoint and the Aggregated row last."""
    with path.open() as f:
        return [{"name": row["Name"] if row["Type"] else "mix total", "requests": int(row["Request Count"]),
                 "failures": int(row["Failure Count"]), "rps": float(row["Requests/s"]),
                 "p50_ms": float(row["50%"]), "p99_ms": float(row["99%"]), "max_ms": float(row["Max Response Time"])}
                for row in csv.DictReader(f)]


# Effects -------------------------------------------------------------------------------------------

def check_effects(plan: dict, counts: dict) -> dict:
    """Processes the queued batches, then compares what the clients saw with what the database holds."""
    import django
    from django.core.management import call_command
    from django.db.models import Sum

    django.setup()
    from tanhui.engagement.models import Attempt, Award
    from tanhui.engagement.services import passed
    from tanhui.ingest.models import Batch, Reduction
    from tanhui.ledger import audit
    from tanhui.ledger.models import Transfer
    from tanhui.rewards.models import Coupon, Offer

    started = time.monotonic()
    call_command("worker", once=True, stdout=io.StringIO())
    drain_s = time.monotonic() - started
    codes = [p["code"] for p in plan["providers"]]
    # Batches a provider opened but had not closed when the run stopped stay receiving, as they should.
    sent = Batch.objects.filter(provider__code__in=codes, source=Batch.Source.RECORDS)
    batches = sent.filter(status=Batch.Status.DONE)
    totals = batches.aggregate(records=Sum("records"), accepted=Sum("accepted"), duplicates=Sum("duplicates"),
                               rejected=Sum("rejected"), points=Sum("points"))
    batch_ids = [str(pk) for pk in batches.values_list("pk", flat=True)]
    offers = Offer.objects.filter(pk__in=plan["offers"])
    submitted = Attempt.objects.filter(edition__code=plan["quiz"], status=Attempt.Status.SUBMITTED)
    passers = {a.citizen_id for a in submitted.select_related("edition") if passed(a)}
    awards = Award.objects.filter(kind=Award.Kind.QUIZ_PASS, campaign__code=CAMPAIGN_CODE)
    report = audit.verify()  # what `tanhui ledger verify` checks
    return {
        "ledger_verify_ok": report.ok and not audit.app_verifier_problems(),
        "coupons_claimed_seen": counts.get("claims_created", 0),
        "coupons_in_database": Coupon.objects.filter(offer__in=offers).count(),
        "coupons_with_reservation": Coupon.objects.filter(offer__in=offers, reservation_id__isnull=False).count(),
        "offers_taken": offers.aggregate(n=Sum("taken"))["n"],
        "stock_decrease": sum(OFFER_STOCK - o.remaining for o in offers),
        "quiz_submitted_seen": counts.get("quiz_submitted", 0),
        "quiz_submitted_in_database": submitted.count(),
        "quiz_passers": len(passers),
        "quiz_pass_awards": awards.count(),
        "quiz_pass_awards_citizens": awards.values("citizen").distinct().count(),
        "batches_sent_seen": counts.get("batches", 0),
        "batches_opened": sent.count(),
        "batches_done": batches.count(),
        "records_sent_seen": counts.get("records_unique", 0) + counts.get("records_resent", 0),
        "records_resent_seen": counts.get("records_resent", 0),
        **{("records" if k == "records" else f"records_{k}"): v or 0 for k, v in totals.items() if k != "points"},
        "reductions": Reduction.objects.filter(batch__in=batches).count(),
        "points_in_batches": totals["points"] or 0,
        "points_credited_for_batches": Transfer.objects.filter(
            kind="credit", ref_type="ingest.batch", ref_id__in=batch_ids).aggregate(p=Sum("points"))["p"] or 0,
        "drain_s": round(drain_s, 1),
    }


# Report --------------------------------------------------------------------------------------------

def render(result: dict) -> None:
    health, mix = result["health"], result["mix"]
    print(f"database: {result['database']}; gunicorn {result['server']}; locust {result['users']} users "
          f"(FastHttpUser, one process)")
    print("\n| endpoint | requests | req/s | p50 ms | p99 ms | errors |\n|---|---:|---:|---:|---:|---:|")
    for row in mix["endpoints"] + [r for r in health["endpoints"] if r["name"] != "mix total"]:
        name = f"**{row['name']}**" if row["name"] == "mix total" else row["name"]
        print(f"| {name} | {row['requests']:,} | {row['rps']:,.0f} | {row['p50_ms']:.0f} | {row['p99_ms']:.0f} "
              f"| {row['failures']} |")
    print(f"\nmix {result['mix_rps']:,.0f} req/s, error rate {result['error_rate']:.4%}; health alone "
          f"{result['health_rps']:,.0f} req/s; ratio mix/health {result['ratio']:.2f}")
    for phase in ("health", "mix"):
        cpu = result[phase]["cpu"]
        per = result[phase]["cpu_ms_per_request"]
        print(f"{phase}: {result[phase]['wall_s']} s wall, CPU seconds: gunicorn {cpu['server_s']}, locust "
              f"{cpu['client_s']}, PostgreSQL {cpu['database_s']}, the rest of the machine {cpu['other_s']}, "
              f"idle {cpu['idle_s']} ({cpu['cores']} cores); 1-min load average up to {result[phase]['load_average']}"
              f"\n  CPU ms per request: gunicorn {per['server']}, PostgreSQL {per['database']}, locust {per['client']}"
              f" -> {result[phase]['quiet_machine_rps']:,} req/s if these processes had the {cpu['cores']} cores")
    print("\neffects:", json.dumps(result["effects"], ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="duration of the mix phase")
    parser.add_argument("--health-seconds", type=int, default=None, help="of the trivial phase (default: a third)")
    parser.add_argument("--users", type=int, default=16, help="concurrent locust users (no think time)")
    parser.add_argument("--max-requests", type=int, default=None, help="per phase (default: 5,000 a second)")
    parser.add_argument("--database", default="postgresql", help="postgresql, sqlite or a postgresql:// URL")
    parser.add_argument("--citizens", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--home", type=Path, default=None, help="TANHUI_HOME to use (default: a new temporary one)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="tanhui-load-"))
    home.mkdir(parents=True, exist_ok=True)
    max_requests = args.max_requests or 5000 * args.seconds
    health_seconds = args.health_seconds or max(5, args.seconds // 3)

    database = use_database(args.database, home)
    # Every locust user comes from 127.0.0.1, so the per-IP limit of anonymous API calls (the health
    # phase) would throttle them as one client; the per-user and per-key limits stay as configured.
    os.environ["TANHUI_RATE_LIMITS"] = json.dumps({**json.loads(os.environ.get("TANHUI_RATE_LIMITS", "{}")),
                                                   "api_anon": "100000000/m"})
    started = time.monotonic()
    plan = seed(args.citizens, home)
    plan_path = home / "load-plan.json"
    plan_path.write_text(json.dumps(plan))
    seed_s = time.monotonic() - started
    server = start_server(args, home)
    try:
        health = run_locust(["HealthUser"], health_seconds, args.users, max_requests, plan_path, home / "health",
                            server)
        mix = run_locust(["CitizenUser", "ProviderUser"], args.seconds, args.users, max_requests, plan_path,
                         home / "mix", server)
    finally:
        stop_server(server)
    effects = check_effects(plan, mix["counts"])
    total, health_total = mix["endpoints"][-1], health["endpoints"][-1]
    result = {"database": database, "home": str(home), "seed_s": round(seed_s, 1), "users": args.users,
              "server": f"{args.workers} workers, {args.worker_class}, {args.threads} threads",
              "health": health, "mix": mix, "mix_rps": total["rps"], "health_rps": health_total["rps"],
              "ratio": round(total["rps"] / health_total["rps"], 3) if health_total["rps"] else None,
              "errors": total["failures"] + health_total["failures"],
              "error_rate": total["failures"] / total["requests"] if total["requests"] else 0.0,
              "effects": effects}
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        render(result)
    if not args.home and "://" not in database and not args.json:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
