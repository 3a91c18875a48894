"""Steps the reliability tests run inside an installation of their own, as a separate process:
`python -m tests.reliability.actions STEP [ARG]` with that installation's TANHUI_HOME / TANHUI_DATABASE_URL.
Each step prints one JSON object (the writer runs until it is killed)."""

import itertools
import json
import os
import sys
from pathlib import Path


def sessions(count: str) -> dict:
    """Signed-in sessions of the first `count` citizens of the synthetic city (tests.ingest.test_crash)."""
    from django.test import Client

    from tanhui.people.services import find_citizen_by_phone

    found = []
    for i in range(int(count)):
        client = Client()
        client.force_login(find_citizen_by_phone(f"138{i:08d}").user)
        found.append(client.cookies["sessionid"].value)
    return {"sessions": found}


def charity(code: str) -> dict:
    from tanhui.rewards.services import create_project

    project = create_project(code=code, title="城市种树", organiser="绿色协会", description="", goal_points=10**9)
    return {"code": project.code, "account_id": project.account_id}


def queue_upload(path: str) -> dict:
    """A provider's batch sent as one uploaded file and closed: queued for `tanhui worker`."""
    from tanhui.ingest import services
    from tanhui.ingest.models import Provider

    upload = Path(path)
    batch, _ = services.open_batch(services.live_api_key(Provider.objects.get(code="metro_op")), "big", "metro")
    with upload.open("rb") as f:
        services.store_upload(batch, upload.name, iter(lambda: f.read(1 << 20), b""))
    return {"batch_id": services.close_batch(batch).pk}


def write_credits(citizens: str) -> None:
    """Posts one credit after another (one transaction each) to the first `citizens` citizens, until killed."""
    from tanhui.ledger import services as ledger
    from tanhui.people.models import Citizen

    accounts = list(ledger.citizen_accounts(Citizen.objects.order_by("pk").values_list("pk", flat=True)[
        :int(citizens)]).values())
    for n in itertools.count():
        ledger.post_transactions([ledger.mint_credit(accounts[n % len(accounts)], 1, 1000, scenario="metro",
                                                     idempotency_key=f"writer:{n}", ref_type=None, ref_id=None)])
        if n == 0:
            print(json.dumps({"writing": True}), flush=True)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tanhui.settings")
    import django

    django.setup()
    step, *args = sys.argv[1:]
    result = {"sessions": sessions, "charity": charity, "queue_upload": queue_upload,
              "write_credits": write_credits}[step](*args)
    print(json.dumps(result))
