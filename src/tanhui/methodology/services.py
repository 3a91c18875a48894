"""Loading the shipped reference data and choosing the versions that apply to a record's date."""

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from tanhui.methodology.models import EmissionFactor, FactorVersion, Methodology, MethodologyVersion, Scenario
from tanhui.methodology.params import VersionedParams, params_from_json

SHIPPED = Path(__file__).with_name("shipped.json")


@transaction.atomic
def load_shipped_reference_data() -> dict:
    """Creates what is missing; never edits what exists (administrators may have published more)."""
    data = json.loads(SHIPPED.read_text(encoding="utf-8"))
    created = 0
    for m in data["methodologies"]:
        methodology, new = Methodology.objects.get_or_create(
            code=m["code"], defaults={"name": m["name"], "basis": m["basis"]})
        created += new
        for v in m["versions"]:
            created += MethodologyVersion.objects.get_or_create(
                methodology=methodology, number=v["number"],
                defaults={"valid_from": date.fromisoformat(v["valid_from"]), "parameters": v["parameters"]})[1]
    for f in data["factors"]:
        factor, new = EmissionFactor.objects.get_or_create(
            code=f["code"], defaults={"name": f["name"], "unit": f["unit"]})
        created += new
        for v in f["versions"]:
            created += FactorVersion.objects.get_or_create(
                factor=factor, number=v["number"],
                defaults={"valid_from": date.fromisoformat(v["valid_from"]), "value": Decimal(v["value"]),
                          "source": v["source"]})[1]
    for s in data["scenarios"]:
        created += Scenario.objects.get_or_create(
            code=s["code"], defaults={"name": s["name"], "kind": s["kind"], "description": s["description"],
                                      "methodology": Methodology.objects.get(code=s["methodology"]),
                                      "factor": EmissionFactor.objects.get(code=s["factor"])})[1]
    return {"created": created, "scenarios": Scenario.objects.count(),
            "methodology_versions": MethodologyVersion.objects.count(),
            "factor_versions": FactorVersion.objects.count()}


def version_segments(scenario: Scenario) -> list[tuple[date, MethodologyVersion, FactorVersion]]:
    """The (from date, methodology version, factor version) in force for the scenario, oldest first.

    A new segment starts whenever either a methodology version or a factor version takes effect;
    each segment lasts until the next one starts.
    """
    mvs = list(MethodologyVersion.objects.filter(methodology=scenario.methodology_id).order_by("valid_from"))
    fvs = list(FactorVersion.objects.filter(factor=scenario.factor_id).order_by("valid_from"))
    segments = []
    for start in sorted({v.valid_from for v in mvs} | {v.valid_from for v in fvs}):
        mv = next((v for v in reversed(mvs) if v.valid_from <= start), None)
        fv = next((v for v in reversed(fvs) if v.valid_from <= start), None)
        if mv and fv:
            segments.append((start, mv, fv))
    return segments


def engine_versions(scenario: Scenario) -> list[VersionedParams]:
    """The scenario's version segments as the engines take them (valid_to exclusive)."""
    segments = version_segments(scenario)
    return [VersionedParams(version_id=mv.pk, factor_version_id=fv.pk, valid_from=start,
                            valid_to=segments[i + 1][0] if i + 1 < len(segments) else None,
                            params=params_from_json(scenario.kind, mv.parameters[scenario.code], fv.value))
            for i, (start, mv, fv) in enumerate(segments)]
