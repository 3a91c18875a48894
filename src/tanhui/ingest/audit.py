"""Auditing the reductions' references in bulk (run by `tanhui ledger verify`).

The reduction table's foreign keys are not constraints in the database (see `Reduction`): this
check finds, with one anti-join per reference, every reduction whose batch, provider, citizen,
scenario, methodology version or factor version does not exist, and every reduction whose provider
or scenario is not its batch's.
"""

from django.db.models import Exists, OuterRef

from tanhui.ingest.models import Batch, Reduction

MAX_PROBLEMS = 20
REFERENCES = ("batch", "provider", "citizen", "scenario", "methodology_version", "factor_version")


def verify() -> list[str]:
    problems: list[str] = []
    for field in REFERENCES:
        target = Reduction._meta.get_field(field).related_model
        dangling = Reduction.objects.filter(~Exists(target.objects.filter(pk=OuterRef(f"{field}_id"))))
        problems += _named(dangling, f"refers to a {field.replace('_', ' ')} that does not exist")
    for field in ("provider", "scenario"):
        same = Batch.objects.filter(pk=OuterRef("batch_id"), **{f"{field}_id": OuterRef(f"{field}_id")})
        problems += _named(Reduction.objects.filter(~Exists(same)), f"has another {field} than its batch")
    return problems[:MAX_PROBLEMS]


def _named(reductions, what: str) -> list[str]:
    found = reductions.order_by("pk").values_list("pk", "provider_id", "record_id")[:MAX_PROBLEMS]
    return [f"reduction #{pk} (provider {provider}, record {record}) {what}" for pk, provider, record in found]
