"""Where the CPU of the load mix goes, per endpoint, in one process: seeds a city as bench_load.py does,
then calls each endpoint of the mix `--requests` times through Django's test client (the full
middleware stack and the API, no HTTP server) and prints the CPU milliseconds and database queries per
request; `--profile NAME…` (or `all`) adds cProfile's top functions by cumulative time.

    .venv/bin/python benchmarks/load/profile_mix.py                       # PostgreSQL (tanhui_load_profile)
    .venv/bin/python benchmarks/load/profile_mix.py --database sqlite --profile claim statement
"""

import argparse
import cProfile
import io
import itertools
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import bench_load  # noqa: E402 — the load benchmark's seed


def endpoints(plan: dict) -> dict:
    """name → a function making one request of that kind with a test client; citizens taken in turn."""
    from django.test import Client

    citizens = itertools.cycle(plan["citizens"])
    offers = itertools.cycle(plan["offers"])
    provider = plan["providers"][0]
    provider_client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {provider['key']}")
    anonymous = Client(HTTP_HOST="127.0.0.1")
    citizen_client = Client(HTTP_HOST="127.0.0.1", enforce_csrf_checks=True)  # one handler, as in a worker

    def citizen():
        seat = next(citizens)
        citizen_client.cookies.clear()
        citizen_client.cookies["sessionid"], citizen_client.cookies["csrftoken"] = seat["session"], seat["csrf"]
        citizen_client.defaults["HTTP_X_CSRFTOKEN"] = seat["csrf"]
        return citizen_client

    def expect(response, status=200):
        assert response.status_code == status, (response.status_code, response.content[:300])
        return response

    def quiz_attempt():
        client = citizen()
        attempt = expect(client.post(f"/api/v1/engagement/quizzes/{plan['quiz']}/attempts"), 201).json()
        answers = {str(q["id"]): plan["answers"][str(q["id"])] for q in attempt["questions"]}
        expect(client.post(f"/api/v1/engagement/attempts/{attempt['id']}/submit", {"answers": answers},
                           content_type="application/json"))

    def batch():
        key = uuid.uuid4().hex
        day = plan["record_day"]
        records = [{"record_id": f"{key}-{n}", "external_user_id": provider["external_ids"][n % 50],
                    "started_at": f"{day}T08:00:00", "ended_at": f"{day}T08:30:00", "distance_km": "12.5"}
                   for n in range(100)]
        expect(provider_client.post("/api/v1/batches", {"key": key, "scenario": "metro"},
                                    content_type="application/json"), 201)
        expect(provider_client.put(f"/api/v1/batches/{key}/chunks/1", {"records": records},
                                   content_type="application/json"))
        expect(provider_client.post(f"/api/v1/batches/{key}/close"))
        expect(provider_client.get(f"/api/v1/batches/{key}"))

    return {
        "health": lambda: expect(anonymous.get("/api/v1/health")),
        "statement": lambda: expect(citizen().get("/api/v1/me/ledger")),
        "history": lambda: expect(citizen().get("/api/v1/me/ledger/history?limit=20")),
        "offers": lambda: expect(citizen().get("/api/v1/rewards/offers")),
        "claim": lambda: expect(citizen().post(f"/api/v1/rewards/offers/{next(offers)}/claim",
                                               {"request_key": uuid.uuid4().hex},
                                               content_type="application/json"), 201),
        "coupons": lambda: expect(citizen().get("/api/v1/rewards/coupons")),
        "quiz (start + submit)": quiz_attempt,
        "batch (open, chunk, close, poll)": batch,
    }


def measure(name: str, call, requests: int, profile: bool, top: int) -> dict:
    from django.db import connection

    for _ in range(10):  # warm: connection, caches, first-use imports
        call()
    queries = []

    def record(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        call()
    started_cpu, started = time.process_time(), time.perf_counter()
    for _ in range(requests):
        call()
    row = {"endpoint": name, "cpu_ms": round((time.process_time() - started_cpu) * 1000 / requests, 2),
           "wall_ms": round((time.perf_counter() - started) * 1000 / requests, 2), "queries": len(queries)}
    if profile:
        profiler = cProfile.Profile(time.process_time)  # CPU, not the wait for the database
        profiler.runcall(lambda: [call() for _ in range(requests)])
        profiler.dump_stats(Path(tempfile.gettempdir()) / f"profile_mix-{name.split()[0]}.prof")  # for pstats
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
        row["profile"] = out.getvalue()
        row["sql"] = [sql[:160] for sql in queries]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=500, help="per endpoint")
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/tanhui_load_profile")
    parser.add_argument("--citizens", type=int, default=1000)
    parser.add_argument("--profile", nargs="*", default=[], help="endpoints to profile (names or 'all')")
    parser.add_argument("--only", nargs="*", default=None, help="measure only these endpoints")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="tanhui-profile-"))
    os.environ["TANHUI_RATE_LIMITS"] = json.dumps({"api_anon": "100000000/m"})
    print("database:", bench_load.use_database(args.database, home), file=sys.stderr)
    plan = bench_load.seed(args.citizens, home)
    from django.conf import settings

    assert not settings.DEBUG, "measure with DEBUG off"
    rows = []
    for name, call in endpoints(plan).items():
        if args.only is not None and not any(word in name for word in args.only):
            continue
        profile = "all" in args.profile or any(word in name for word in args.profile)
        rows.append(row := measure(name, call, args.requests, profile, args.top))
        print(f"{name:34} CPU {row['cpu_ms']:6.2f} ms  wall {row['wall_ms']:6.2f} ms  queries {row['queries']}")
        if profile:
            print("\n".join(row["sql"]), "\n", row["profile"])
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
