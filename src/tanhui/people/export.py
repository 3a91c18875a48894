"""A citizen's personal data as one JSON document: the right of access and portability (个人信息保护法
第四十五条). The profile is decrypted; then every row of every app that points at the citizen
(bindings, consents, reductions, coupons, donations, quiz attempts, check-ins, …) with all its
columns, found through the model relations so a new app's data is included without changes here;
then the ledger history of the citizen's carbon account. Each export is audited."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.http import HttpResponse
from django.utils import timezone

from tanhui.people.models import Citizen
from tanhui.portal.audit import record
from tanhui.portal.models import AuditEvent

# Rows that point at the citizen but are not the citizen's data: the staff's audit trail; the ledger
# account comes with its history instead.
LEFT_OUT = {"portal.auditevent", "ledger.account"}


def _row(obj) -> dict:
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def _related_rows(citizen: Citizen) -> dict[str, list[dict]]:
    found = {}
    for relation in Citizen._meta.get_fields(include_hidden=True):
        if not (relation.auto_created and not relation.concrete):
            continue
        model = relation.related_model
        if model._meta.label_lower in LEFT_OUT:
            continue
        rows = model._default_manager.filter(**{relation.field.name: citizen}).order_by("pk")
        found[model._meta.label_lower] = [_row(obj) for obj in rows]
    return found


def _ledger(citizen: Citizen) -> dict:
    from tanhui.ledger.models import Transfer
    from tanhui.ledger.services import account_of, balance

    account = account_of(citizen.pk)
    if account is None:
        return {"account": None, "balance": None, "transfers": []}
    transfers = (Transfer.objects.filter(Q(debit_id=account) | Q(credit_id=account)).order_by("id")
                 .values("id", "created_at", "kind", "scenario", "ref_type", "ref_id", "memo", "debit_id",
                         "credit_id", "points", "mg_co2e"))
    return {"account": account, "balance": balance(account),
            "transfers": [{**t, "direction": "in" if t["credit_id"] == account else "out"} for t in transfers]}


def personal_data(citizen: Citizen) -> dict:
    return {
        "exported_at": timezone.now(),
        "profile": {"public_id": citizen.public_id, "phone": citizen.phone, "name": citizen.name,
                    "district": citizen.district.name if citizen.district else None,
                    "community": citizen.community.name if citizen.community else None,
                    "status": citizen.status, "created_at": citizen.created_at, "closed_at": citizen.closed_at},
        "records": _related_rows(citizen),
        "ledger": _ledger(citizen),
    }


def export_personal_data(citizen: Citizen, actor) -> HttpResponse:
    """The JSON document as a download, after auditing who exported it (the citizen or support)."""
    document = personal_data(citizen)
    record(AuditEvent.Action.DATA_EXPORT, actor=actor, citizen=citizen, target="people.citizen",
           object_id=citizen.pk, detail={"rows": sum(len(rows) for rows in document["records"].values()),
                                         "transfers": len(document["ledger"]["transfers"])})
    response = HttpResponse(json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=1),
                            content_type="application/json")
    filename = f"tanhui-{citizen.public_id}-{timezone.localdate():%Y%m%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
