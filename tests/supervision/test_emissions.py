"""Emissions = energy × the factor in force that day; intensities per floor area and year."""

from datetime import date
from decimal import Decimal

import pytest

from tanhui.core.errors import Conflict, DomainError
from tanhui.supervision import analytics, services
from tanhui.supervision.models import DailyUsage, EnergyFactor

pytestmark = pytest.mark.django_db


def daily(meter="M1"):
    return {d: (e, f and f.valid_from) for d, e, f in
            ((u.day, u.emission_g, u.factor) for u in DailyUsage.objects.filter(meter__code=meter).select_related(
                "factor"))}


def test_shipped_factors_regional_before_national(make_building, make_meter, send):
    make_meter(building=make_building(grid_region="east"), mode="delta")
    make_meter(code="S1", building=make_building(code="B9", grid_region="south"), mode="delta")
    # 10 kWh on 2022-06-01 (national 2022: 0.5366) and on 2024-06-01 (East China 2023: 0.5500)
    send([("M1", "2022-06-01 00:15", "10"), ("M1", "2024-06-01 00:15", "10"), ("S1", "2024-06-01 00:15", "10")])
    assert daily() == {date(2022, 6, 1): (5366, date(2022, 1, 1)), date(2024, 6, 1): (5500, date(2023, 1, 1))}
    assert daily("S1") == {date(2024, 6, 1): (4042, date(2023, 1, 1))}  # South grid 0.4042


def test_factor_change_mid_year(make_meter, send):
    make_meter(mode="delta")
    send([("M1", "2024-06-30 00:15", "10"), ("M1", "2024-07-01 00:15", "10")])
    assert daily() == {date(2024, 6, 30): (5500, date(2023, 1, 1)), date(2024, 7, 1): (5500, date(2023, 1, 1))}
    # a new East China factor from 1 July: days before keep the old one, days after are recomputed
    services.publish_factor("electricity", "east", date(2024, 7, 1), Decimal("0.5012"), "test notice")
    assert daily() == {date(2024, 6, 30): (5500, date(2023, 1, 1)), date(2024, 7, 1): (5012, date(2024, 7, 1))}
    # readings arriving later use the factor of their own day
    send([("M1", "2024-07-02 00:15", "1")])
    assert daily()[date(2024, 7, 2)] == (501, date(2024, 7, 1))  # 1 kWh × 0.5012 = 501.2 g → 501


def test_factor_versions_are_never_edited(db):
    with pytest.raises(Conflict):
        services.publish_factor("electricity", "east", date(2023, 1, 1), Decimal("0.6"), "again")
    with pytest.raises(DomainError):
        services.publish_factor("gas", "", date(2025, 1, 1), Decimal("2.1234567"), "too precise")
    with pytest.raises(DomainError):
        services.publish_factor("gas", "", date(2025, 1, 1), Decimal("2.1"), " ")


def test_gas_heat_and_water(make_building, make_meter, send):
    building = make_building()
    make_meter(code="G1", building=building, kind="gas", interval_s=3600)
    make_meter(code="H1", building=building, kind="heat", mode="delta", interval_s=86400)
    make_meter(code="W1", building=building, kind="water", mode="delta", interval_s=86400)
    send([("G1", "2024-03-01 09:00", "500"), ("G1", "2024-03-01 10:00", "600"),
          ("H1", "2024-03-02 00:00", "2.5"), ("W1", "2024-03-02 00:00", "30")])
    assert daily("G1") == {date(2024, 3, 1): (216_219, date(2015, 1, 1))}  # 100 m³ × 2.162189 kg/m³
    assert daily("H1") == {date(2024, 3, 1): (275_000, date(2015, 1, 1))}  # 2.5 GJ × 0.11 t/GJ
    assert daily("W1") == {date(2024, 3, 1): (0, None)}                     # water carries no emissions
    f = analytics.figures([building], date(2024, 3, 1), date(2024, 3, 1))[building.pk]
    assert f.kwh == Decimal("100") * Decimal("10.814") + Decimal("2.5") * Decimal("277.78")
    assert f.kgce == Decimal("100") * Decimal("1.33") + Decimal("2.5") * Decimal("34.12")


def test_rounding_half_up_per_meter_and_day(make_meter, send):
    make_meter()
    EnergyFactor.objects.all().delete()
    services.publish_factor("electricity", "", date(2020, 1, 1), Decimal("0.5"), "round numbers")
    send([("M1", "2024-01-01 00:00", "0"), ("M1", "2024-01-01 00:15", "0.001"),
          ("M1", "2024-01-02 00:00", "0.002"), ("M1", "2024-01-02 00:15", "0.005")])
    # 1 Wh × 0.5 = 0.5 g → 1 g (half up); 3 Wh → 1.5 g → 2 g
    assert [e for e, _ in daily().values()] == [1, 2]


def test_intensity_per_floor_area_and_year_main_meters_only(make_building, make_meter, send):
    building = make_building(area=2000)
    main = make_meter(building=building)
    make_meter(code="M1-AC", building=building, parent=main)
    send([("M1", "2024-04-01 00:00", "0"), ("M1", "2024-04-01 00:15", "100"),
          ("M1-AC", "2024-04-01 00:00", "0"), ("M1-AC", "2024-04-01 00:15", "60")])
    f = analytics.figures([building], date(2024, 4, 1), date(2024, 4, 10))[building.pk]
    assert f.kwh == 100 and f.emission_g == 55_000  # the sub-meter is part of the main meter
    assert f.eui == Decimal("1.83")                  # 100 kWh × 365/10 days / 2000 m²
    assert f.carbon_intensity == Decimal("1.00")     # 55 kg × 36.5 / 2000
    assert (f.days_with_data, f.days, f.coverage) == (1, 10, Decimal("0.1"))


def test_factor_periods_before_the_first_version(db):
    periods = analytics.factor_periods("electricity", "east")
    assert periods[0] == (None, None, date(2021, 1, 1))
    assert [(p[0].mg_per_unit, p[1]) for p in periods[1:]] == [(556_800, date(2021, 1, 1)),
                                                               (536_600, date(2022, 1, 1)),
                                                               (550_000, date(2023, 1, 1))]
