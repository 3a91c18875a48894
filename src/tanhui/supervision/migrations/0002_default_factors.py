"""The shipped emission factors (reference/methodologies.md); administrators add later versions."""

from datetime import date

from django.db import migrations

GRID = "MEE & NBS announcement of the national/regional average CO2 emission factor of electricity"
NDRC = ("国家发展改革委《公共建筑运营单位（企业）温室气体排放核算方法和报告指南（试行）》缺省值")
FACTORS = [
    ("electricity", "", date(2021, 1, 1), 556_800, f"{GRID}, 2021 national: 0.5568 kgCO2/kWh"),
    ("electricity", "", date(2022, 1, 1), 536_600, f"{GRID}, 2022 national: 0.5366 kgCO2/kWh (published 26 Dec 2024)"),
    ("electricity", "", date(2023, 1, 1), 530_600, f"{GRID}, 2023 national: 0.5306 kgCO2/kWh"),
    ("electricity", "north", date(2023, 1, 1), 636_100, f"{GRID}, 2023 North China grid: 0.6361 kgCO2/kWh"),
    ("electricity", "northeast", date(2023, 1, 1), 512_200, f"{GRID}, 2023 Northeast grid: 0.5122 kgCO2/kWh"),
    ("electricity", "east", date(2023, 1, 1), 550_000, f"{GRID}, 2023 East China grid: 0.5500 kgCO2/kWh"),
    ("electricity", "central", date(2023, 1, 1), 527_100, f"{GRID}, 2023 Central China grid: 0.5271 kgCO2/kWh"),
    ("electricity", "northwest", date(2023, 1, 1), 554_300, f"{GRID}, 2023 Northwest grid: 0.5543 kgCO2/kWh"),
    ("electricity", "south", date(2023, 1, 1), 404_200, f"{GRID}, 2023 South grid: 0.4042 kgCO2/kWh"),
    ("electricity", "southwest", date(2023, 1, 1), 247_200, f"{GRID}, 2023 Southwest grid: 0.2472 kgCO2/kWh"),
    ("gas", "", date(2015, 1, 1), 2_162_189,
     f"{NDRC}：天然气低位发热量 389.31 GJ/万Nm³ × 单位热值含碳量 15.3 tC/TJ × 碳氧化率 99% × 44/12 "
     "= 2.162189 kgCO2/m³"),
    ("heat", "", date(2015, 1, 1), 110_000_000, f"{NDRC}：外购热力排放因子 0.11 tCO2/GJ"),
]


def load(apps, schema_editor):
    EnergyFactor = apps.get_model("supervision", "EnergyFactor")
    for kind, region, valid_from, mg, source in FACTORS:
        EnergyFactor.objects.get_or_create(kind=kind, region=region, valid_from=valid_from,
                                           defaults={"mg_per_unit": mg, "source": source})


class Migration(migrations.Migration):
    dependencies = [("supervision", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
