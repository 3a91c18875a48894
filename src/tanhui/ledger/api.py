"""The citizen's statement (balance, credited reductions, history, expiring points) and the
public roots."""

from datetime import date, datetime

from ninja import Router, Schema
from ninja.security import django_auth

from tanhui.ledger import audit, services
from tanhui.people.api import current_citizen

router = Router(tags=["ledger"])


class ScenarioTotals(Schema):
    reduction_mg: int
    points: int


class Expiring(Schema):
    expires_on: date
    points: int


class StatementOut(Schema):
    citizen_id: str
    points: int
    reduction_mg: int
    by_scenario: dict[str, ScenarioTotals]
    expire_days: int
    expiring_soon: list[Expiring]


class Ref(Schema):
    type: str
    id: str | None


class HistoryItem(Schema):
    id: int
    created_at: datetime
    kind: str
    points: int
    mg_co2e: int
    scenario: str | None
    ref: Ref | None
    memo: str
    reverses: int | None
    reversed_by: int | None


class HistoryOut(Schema):
    items: list[HistoryItem]
    next_before: int | None


class RootOut(Schema):
    day: date
    created_at: datetime
    root: str
    transfers: int
    heads: list[tuple[int, int, str]]
    algorithm: str


def statement(citizen) -> dict:
    """The signed-in citizen's statement (also rendered by the statement page)."""
    account_id = services.account_of(citizen.pk)
    return {**services.citizen_summary(citizen.pk), "expire_days": services.expire_days(),
            "expiring_soon": services.expiring_soon(account_id) if account_id else []}


@router.get("/me/ledger", response=StatementOut, auth=django_auth)
def my_statement(request):
    """Balance, reductions and points credited per scenario, and the points that expire within 30 days."""
    return statement(current_citizen(request))


@router.get("/me/ledger/history", response=HistoryOut, auth=django_auth)
def my_history(request, before: int | None = None, limit: int = 20):
    """Newest first; pass `next_before` as `before` for the next page. A credit's `ref` names the batch
    (`ingest.batch`) whose records it pays for."""
    account_id = services.account_of(current_citizen(request).pk)
    if account_id is None:
        return {"items": [], "next_before": None}
    return services.history(account_id, before=before, limit=max(1, min(limit, 100)))


@router.get("/ledger/roots", response=list[RootOut])
def roots(request, limit: int = 30):
    """The latest published roots: anyone who keeps one can later check the ledger against it."""
    return audit.latest_roots(max(1, min(limit, 365)))
