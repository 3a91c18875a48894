"""Set-based SQL that gathers reductions into an issuance request, whatever their number.

Eligible: accepted with a reduction above zero, in the period, of the chosen scenarios and
methodology versions, in no earlier request, of an active citizen whose market-use consent is
active now, and not excluded by an active flag on the record, its batch or its citizen.

Whole tonnes: T = floor(eligible mg / 10^9). The eligible reductions are taken in (local_date, id)
order up to and including the one at which the running total reaches T tonnes; whole reductions
only. The part of that last reduction above T tonnes (`excess_mg`) stays attached to the request
and is never issued; every later reduction stays available for the next request.
"""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection

from tanhui.core.units import MG_PER_TONNE
from tanhui.ingest.models import Reduction
from tanhui.people.models import Citizen
from tanhui.registry.models import Exclusion, IssuanceItem, MarketConsent, MonitoringEntry

R = Reduction._meta.db_table
ITEMS = IssuanceItem._meta.db_table
CONSENTS = MarketConsent._meta.db_table
CITIZENS = Citizen._meta.db_table
EXCLUSIONS = Exclusion._meta.db_table
MONITORING = MonitoringEntry._meta.db_table

CONSENTED = f"""EXISTS (SELECT 1 FROM {CONSENTS} mc JOIN {CITIZENS} c ON c.id = mc.citizen_id
                  WHERE mc.citizen_id = r.citizen_id AND mc.revoked_at IS NULL AND c.status = 'active')"""  # noqa: S608
FLAGGED = " OR ".join(
    f"EXISTS (SELECT 1 FROM {EXCLUSIONS} x WHERE x.{column} = r.{target} AND x.lifted_at IS NULL)"  # noqa: S608
    for column, target in (("reduction_id", "id"), ("batch_id", "batch_id"), ("citizen_id", "citizen_id")))


@dataclass(frozen=True)
class Selection:
    period_start: object
    period_end: object
    scenario_ids: tuple[int, ...]
    methodology_version_ids: tuple[int, ...]

    def where(self) -> tuple[str, list]:
        """Conditions on `r` before consent and flags: period, scenarios, versions, not yet requested."""
        scenarios = ", ".join(["%s"] * len(self.scenario_ids))
        versions = ", ".join(["%s"] * len(self.methodology_version_ids))
        sql = f"""r.local_date BETWEEN %s AND %s AND r.reduction_mg > 0 AND r.scenario_id IN ({scenarios})
                  AND r.methodology_version_id IN ({versions})
                  AND NOT EXISTS (SELECT 1 FROM {ITEMS} i WHERE i.reduction_id = r.id)"""  # noqa: S608
        return sql, [self.period_start, self.period_end, *self.scenario_ids, *self.methodology_version_ids]


def _one(sql: str, params: list) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def eligible_totals(selection: Selection) -> dict:
    """What a request would gather now, and what consent and flags keep out."""
    base, params = selection.where()
    sql = f"""SELECT CAST(coalesce(sum(CASE WHEN consented AND NOT flagged THEN mg ELSE 0 END), 0) AS bigint),
                     CAST(coalesce(sum(CASE WHEN consented AND NOT flagged THEN 1 ELSE 0 END), 0) AS bigint),
                     CAST(coalesce(sum(CASE WHEN NOT consented THEN 1 ELSE 0 END), 0) AS bigint),
                     CAST(coalesce(sum(CASE WHEN consented AND flagged THEN 1 ELSE 0 END), 0) AS bigint)
                FROM (SELECT r.reduction_mg AS mg, {CONSENTED} AS consented, ({FLAGGED}) AS flagged
                        FROM {R} r WHERE {base}) e"""  # noqa: S608 - table names and fixed fragments
    mg, records, no_consent, flagged = _one(sql, params)
    return {"mg": mg, "records": records, "without_market_consent": no_consent, "flagged": flagged}


def gather_reductions(request_id: int, selection: Selection, tonnes: int) -> int:
    """Inserts the (local_date, id)-ordered prefix of eligible reductions that reaches `tonnes`;
    returns how many. The primary key of the items refuses a reduction already requested."""
    base, params = selection.where()
    sql = f"""INSERT INTO {ITEMS} (reduction_id, request_id)
              SELECT id, %s FROM (
                SELECT r.id, r.reduction_mg AS mg,
                       sum(r.reduction_mg) OVER (ORDER BY r.local_date, r.id ROWS UNBOUNDED PRECEDING) AS running
                  FROM {R} r WHERE {base} AND {CONSENTED} AND NOT ({FLAGGED})
              ) ranked WHERE running - mg < %s"""  # noqa: S608 - table names and fixed fragments
    with connection.cursor() as cursor:
        cursor.execute(sql, [request_id, *params, tonnes * MG_PER_TONNE])
        return cursor.rowcount


def gathered_totals(request_id: int) -> tuple[int, int, int]:
    """(records, mg, citizens) of the reductions in a request."""
    sql = f"""SELECT count(*), CAST(coalesce(sum(r.reduction_mg), 0) AS bigint), count(DISTINCT r.citizen_id)
                FROM {ITEMS} i JOIN {R} r ON r.id = i.reduction_id WHERE i.request_id = %s"""  # noqa: S608
    return _one(sql, [request_id])


def breakdown(request_id: int) -> list[tuple]:
    """(scenario, methodology version, factor version, local date, records, mg) of a request's
    reductions, for the report's tables."""
    sql = f"""SELECT r.scenario_id, r.methodology_version_id, r.factor_version_id, r.local_date, count(*),
                     CAST(sum(r.reduction_mg) AS bigint)
                FROM {ITEMS} i JOIN {R} r ON r.id = i.reduction_id WHERE i.request_id = %s
               GROUP BY r.scenario_id, r.methodology_version_id, r.factor_version_id, r.local_date"""  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [request_id])
        return cursor.fetchall()


def citizens_by_scenario(request_id: int) -> dict[int, int]:
    sql = f"""SELECT r.scenario_id, count(DISTINCT r.citizen_id)
                FROM {ITEMS} i JOIN {R} r ON r.id = i.reduction_id WHERE i.request_id = %s
               GROUP BY r.scenario_id"""  # noqa: S608 - table names
    with connection.cursor() as cursor:
        cursor.execute(sql, [request_id])
        return dict(cursor.fetchall())


def gather_monitoring(request_id: int, project_id: int, period_start, period_end, tonnes: int) -> int:
    """Projects: the same rule over the project's unrequested monitoring entries in the period,
    ordered by (period_start, id)."""
    sql = f"""UPDATE {MONITORING} SET request_id = %s WHERE id IN (
                SELECT id FROM (
                  SELECT m.id, m.reduction_mg AS mg,
                         sum(m.reduction_mg) OVER (ORDER BY m.period_start, m.id ROWS UNBOUNDED PRECEDING) AS running
                    FROM {MONITORING} m
                   WHERE m.project_id = %s AND m.request_id IS NULL AND m.reduction_mg > 0
                     AND m.period_start >= %s AND m.period_end <= %s
                ) ranked WHERE running - mg < %s)"""  # noqa: S608 - table names only
    with connection.cursor() as cursor:
        cursor.execute(sql, [request_id, project_id, period_start, period_end, tonnes * MG_PER_TONNE])
        return cursor.rowcount


def member_ids(request) -> Iterator[int]:
    """The ids of what a request holds (reductions, or monitoring entries), ascending."""
    if request.kind == request.Kind.PROJECT:
        sql = f"SELECT id FROM {MONITORING} WHERE request_id = %s ORDER BY id"  # noqa: S608
    else:
        sql = f"SELECT reduction_id FROM {ITEMS} WHERE request_id = %s ORDER BY reduction_id"  # noqa: S608
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, [request.pk])
        while rows := cursor.fetchmany(10_000):
            for (member,) in rows:
                yield member


def members_digest(request) -> str:
    """SHA-256 over the member ids, one per line, ascending: recorded when the request is
    prepared and recomputed by the audit."""
    digest = hashlib.sha256()
    for member in member_ids(request):
        digest.update(f"{member}\n".encode())
    return digest.hexdigest()
