"""The API mix of issue 10, for locust (benchmarks/bench_load.py seeds the city and runs this file).

Users never wait between tasks (a closed loop: the figures are what the server sustains at this many
concurrent requests):
- `CitizenUser`: signed-in citizens reading their statement and history, browsing offers, claiming
  coupons, listing their coupons, taking the quiz (start, then submit). Each user acts for its own slice
  of the seeded citizens, so that no two users ever act for the same citizen at once (one active quiz
  attempt per citizen).
- `ProviderUser`: a data provider sending a batch every second: open it, put two record chunks, close it,
  poll its status; every fifth batch re-sends the records of an earlier one under a new key (a retry), which
  must count as duplicates and never be credited twice.
- `HealthUser`: `GET /api/v1/health` only, run alone: the framework's own ceiling on the same server.

Environment: LOAD_PLAN (the seed's plan file), LOAD_COUNTS (where the client's own counts are written
at the end: coupons created, quizzes submitted, batches and records sent). `--max-requests` stops the run
after that many requests.
"""

import itertools
import json
import os
import random
import uuid
from collections import Counter
from datetime import datetime, timedelta
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path

from locust import FastHttpUser, constant, events, task

PLAN = json.loads(Path(os.environ["LOAD_PLAN"]).read_text())
COUNTS: Counter = Counter()
CHUNK_RECORDS = 100
CHUNKS_PER_BATCH = 2
RESEND_EVERY = 5
_citizen_users = itertools.count()
_provider_users = itertools.count()


@events.init_command_line_parser.add_listener
def _options(parser):
    parser.add_argument("--max-requests", type=int, default=0, help="stop after this many requests (0: no limit)")


@events.init.add_listener
def _stop_after_max_requests(environment, **_kwargs):
    limit = environment.parsed_options.max_requests if environment.parsed_options else 0
    if not limit:
        return

    def counted(**_request):
        COUNTS["requests"] += 1
        if COUNTS["requests"] == limit and environment.runner is not None:
            environment.runner.quit()

    environment.events.request.add_listener(counted)


@events.quitting.add_listener
def _write_counts(environment, **_kwargs):
    if os.environ.get("LOAD_COUNTS"):
        Path(os.environ["LOAD_COUNTS"]).write_text(json.dumps(COUNTS))


class _ApiUser(FastHttpUser):
    abstract = True
    wait_time = constant(0)

    def on_start(self):
        # The server sets no cookie on these routes; refusing any keeps one user's citizens apart.
        self.client.cookiejar.set_policy(DefaultCookiePolicy(allowed_domains=[]))


class CitizenUser(_ApiUser):
    def on_start(self):
        super().on_start()
        stride = self.environment.parsed_options.num_users
        self.citizens = PLAN["citizens"][next(_citizen_users) % stride::stride]
        self.offers = PLAN["offers"]

    def _as_citizen(self) -> dict:
        citizen = random.choice(self.citizens)
        return {"Cookie": f"sessionid={citizen['session']}; csrftoken={citizen['csrf']}",
                "X-CSRFToken": citizen["csrf"]}

    @task(30)
    def statement(self):
        self.client.get("/api/v1/me/ledger", headers=self._as_citizen(), name="GET /me/ledger")

    @task(15)
    def history(self):
        self.client.get("/api/v1/me/ledger/history?limit=20", headers=self._as_citizen(),
                        name="GET /me/ledger/history")

    @task(10)
    def offers_page(self):
        self.client.get("/api/v1/rewards/offers", headers=self._as_citizen(), name="GET /rewards/offers")

    @task(8)
    def claim(self):
        response = self.client.post(f"/api/v1/rewards/offers/{random.choice(self.offers)}/claim",
                                    json={"request_key": uuid.uuid4().hex}, headers=self._as_citizen(),
                                    name="POST /rewards/offers/{id}/claim")
        if response.status_code == 201:
            COUNTS["claims_created"] += 1

    @task(6)
    def coupons(self):
        self.client.get("/api/v1/rewards/coupons", headers=self._as_citizen(), name="GET /rewards/coupons")

    @task(5)
    def quiz(self):
        """Starts an attempt and submits it, three answers in four right."""
        headers = self._as_citizen()
        started = self.client.post(f"/api/v1/engagement/quizzes/{PLAN['quiz']}/attempts", headers=headers,
                                   name="POST /engagement/quizzes/{code}/attempts")
        if started.status_code != 201:
            return
        attempt = started.json()
        answers = {}
        for question in attempt["questions"]:
            right = PLAN["answers"][str(question["id"])]
            answers[str(question["id"])] = right if random.random() < 0.75 else [(right[0] + 1) % 2]
        submitted = self.client.post(f"/api/v1/engagement/attempts/{attempt['id']}/submit",
                                     json={"answers": answers}, headers=headers,
                                     name="POST /engagement/attempts/{id}/submit")
        if submitted.status_code == 200:
            COUNTS["quiz_submitted"] += 1


class ProviderUser(_ApiUser):
    fixed_count = 2
    wait_time = constant(1)

    def on_start(self):
        super().on_start()
        provider = PLAN["providers"][next(_provider_users) % len(PLAN["providers"])]
        self.headers = {"Authorization": f"Bearer {provider['key']}"}
        self.external_ids = provider["external_ids"]
        self.day = datetime.fromisoformat(PLAN["record_day"])
        self.sent: list[list[dict]] = []
        self.batches = 0

    def _records(self, key: str) -> list[dict]:
        records = []
        for n in range(CHUNK_RECORDS):
            km = round(random.uniform(2, 25), 2)
            start = self.day + timedelta(hours=random.uniform(6, 21))
            records.append({"record_id": f"{key}-{n}", "external_user_id": random.choice(self.external_ids),
                            "started_at": start.isoformat(timespec="seconds"),
                            "ended_at": (start + timedelta(minutes=3 + km * 2)).isoformat(timespec="seconds"),
                            "distance_km": str(km)})
        return records

    @task
    def send_batch(self):
        key = uuid.uuid4().hex
        self.batches += 1
        resend = bool(self.sent) and self.batches % RESEND_EVERY == 0
        chunks = random.choice(self.sent) if resend else [self._records(f"{key}-{c}") for c in range(CHUNKS_PER_BATCH)]
        opened = self.client.post("/api/v1/batches", json={"key": key, "scenario": "metro"}, headers=self.headers,
                                  name="POST /batches")
        if opened.status_code != 201:
            return
        for number, records in enumerate(chunks, start=1):
            put = self.client.put(f"/api/v1/batches/{key}/chunks/{number}", json={"records": records},
                                  headers=self.headers, name="PUT /batches/{key}/chunks/{n}")
            if put.status_code != 200:
                return
        closed = self.client.post(f"/api/v1/batches/{key}/close", headers=self.headers,
                                  name="POST /batches/{key}/close")
        if closed.status_code != 200:
            return
        COUNTS["batches"] += 1
        COUNTS["records_resent" if resend else "records_unique"] += sum(len(c) for c in chunks)
        if not resend:
            self.sent.append(chunks)
        self.client.get(f"/api/v1/batches/{key}", headers=self.headers, name="GET /batches/{key}")


class HealthUser(_ApiUser):
    @task
    def health(self):
        self.client.get("/api/v1/health", name="GET /health")
