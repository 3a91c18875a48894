"""The synthetic city's files, ingested day by day, give exactly the outcomes its generator expects
(the generator plants each defect and knows what a correct pipeline must report)."""

import json

import pytest

from tanhui.ingest.pipeline import ingest_file
from tanhui.ingest.services import add_provider
from tanhui.people.services import import_citizens
from tanhui.synth.city import generate_city


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_every_file_of_the_synthetic_city_matches_its_manifest(reference_data, tmp_path, fmt):
    city = tmp_path / "city"
    manifest = generate_city(city, citizens=150, days=9, bad_share=0.05)
    for spec in json.loads((city / "providers.json").read_text()):
        add_provider(spec["code"], spec["name"], spec["scenarios"])
    imported = import_citizens(city / "citizens.csv")
    assert imported.created == manifest["citizens"]["valid"]
    for entry in sorted(manifest["behaviour"], key=lambda e: (e["date"], e["scenario"])):
        summary = ingest_file(city / entry[fmt], entry["scenario"], entry["provider"]).summary()
        got = {key: summary[key] for key in entry["expected"]}
        assert got == entry["expected"], entry[fmt]
