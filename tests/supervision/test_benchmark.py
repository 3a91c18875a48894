"""Benchmarking by building type: percentile rank and a 1–100 score."""

from datetime import date
from decimal import Decimal

import pytest

from tanhui.supervision import analytics

from .conftest import quarter_hours

D = Decimal


@pytest.mark.parametrize(("eui", "peers", "expected"), [
    (D(100), [D(100), D(200), D(300)], (100, 100)),       # the most efficient
    (D(200), [D(100), D(200), D(300)], (50, 50)),         # the median
    (D(300), [D(100), D(200), D(300)], (1, 0)),           # the least efficient still scores 1
    (D(150), [D(100), D(150), D(150), D(300)], (50, 50)),  # ties count half
    (D(100), [D(100)], None),                              # no peers, no score
])
def test_score(eui, peers, expected):
    assert analytics.score(eui, peers) == expected


def test_benchmark_ranks_peers_of_one_type(make_building, make_meter, send, db):
    rows = []
    for i, (kwh, area) in enumerate([(10, 1000), (30, 1000), (20, 1000), (5, 500)]):
        building = make_building(code=f"O{i}", area=area)
        make_meter(code=f"E{i}", building=building)
        rows += quarter_hours(f"E{i}", "2024-03-01 00:00", ["0", str(kwh)])
    hotel = make_building(code="H0", type="hotel")
    make_meter(code="EH", building=hotel)
    rows += quarter_hours("EH", "2024-03-01 00:00", ["0", "1"])
    make_meter(code="E-late", building=make_building(code="O9"))
    rows += quarter_hours("E-late", "2024-03-05 00:00", ["0", "1"])
    send(rows)
    peers = analytics.benchmark("office", date(2024, 3, 1), date(2024, 3, 1))
    assert [(p.figures.building.code, p.score, p.percentile) for p in peers] == [
        ("O0", 83, 83), ("O3", 83, 83), ("O2", 33, 33), ("O1", 1, 0), ("O9", None, None)]
    assert peers[0].figures.eui == D("3.65")  # 10 kWh in a day × 365 / 1,000 m²
