"""Large files of valid metro records for the ingest benchmark, streamed chunk by chunk.

Each chunk is generated with pyarrow compute (the venv has no numpy) and appended to the file,
so memory depends on `chunk_size`, not on the number of records. Every record is valid:
bound users, distances and speeds within methodology v1 limits (the city's metro habits:
log-normal distances around 9 km, 28-38 km/h plus 2-8 minutes in stations), record ids
unique, local times without offset, starting within the days from `start_date` on, in date
order through the file. Weekdays have morning and evening peaks; weekends ride later and flatter.

Same arguments (chunk_size included) give the same bytes. Progress convention as in city.py:
`progress(done, total)` counted in records.
"""

import csv
import hashlib
import json
import math
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from .behaviour import TRANSIT_COLUMNS
from .population import KM_SIGMA, MODES, PROVIDER_FOR
from .tables import TableWriter

TRIPS_PER_USER_DAY = 2


class Peak(NamedTuple):
    """A component of the mixture the start hour is drawn from."""

    weekday: float  # share of weekday rides
    weekend: float
    hour: float  # mean start hour
    spread: float  # standard deviation, hours


MORNING = Peak(0.38, 0.08, 8.0, 0.7)
EVENING = Peak(0.40, 0.12, 18.3, 0.9)
OFF_PEAK = Peak(0.22, 0.80, 14.5, 3.5)
FIRST_HOUR, LAST_HOUR = 5.75, 23.5


def write_metro_records(
    path: Path,
    n: int,
    *,
    seed: int,
    external_user_ids: Sequence[str],
    start_date: date,
    days: int | None = None,
    chunk_size: int = 200_000,
    progress: Callable[[int, int], object] | None = None,
) -> Path:
    """Writes n metro records to path (.csv or .parquet, all columns strings) and returns it.

    The records cover `days` days (default: enough for about two rides per user and day),
    in date order through the file; within a day, users and times are shuffled.
    """
    if n < 0 or chunk_size < 1 or not external_user_ids or (days is not None and days < 1):
        raise ValueError("n must be >= 0, chunk_size and days >= 1, external_user_ids not empty")
    users = pa.array(external_user_ids, pa.string())
    days = days or max(1, math.ceil(n / (TRIPS_PER_USER_DAY * len(users))))
    with TableWriter(path, TRANSIT_COLUMNS) as out:
        for first in range(0, n, chunk_size):
            size = min(chunk_size, n - first)
            out.write(_chunk(seed, first, size, n, users, start_date, days))
            if progress:
                progress(first + size, n)
    return Path(path)


def _chunk(
    seed: int, first: int, size: int, n: int, users: pa.Array, start_date: date, days: int
) -> list[pa.Array]:
    """Records first … first+size-1 of n as the five string columns."""

    def uniform(stream: int, low: float = 0.0, high: float = 1.0) -> pa.Array:
        digest = hashlib.sha256(f"{seed}/{first}/{stream}".encode()).digest()
        draws = pc.random(size, initializer=int.from_bytes(digest[:8], "big"))
        return pc.add(pc.multiply(draws, high - low), low)

    def below(limit: int, stream: int) -> pa.Array:
        """Integers in [0, limit); the min guards against u * limit rounding up to limit."""
        return pc.min_element_wise(pc.cast(pc.floor(uniform(stream, 0, limit)), pa.int64()), limit - 1)

    metro = MODES["metro"]
    index = pa.array(range(first, first + size), pa.int64())
    day = pc.divide(pc.multiply(index, days), n)  # integer division: days follow each other
    weekday = pc.less(pc.modulo(pc.add(day, start_date.weekday()), 7), 5)
    draw = uniform(2)
    morning = pc.less(draw, pc.if_else(weekday, MORNING.weekday, MORNING.weekend))
    evening = pc.less(
        draw, pc.if_else(weekday, MORNING.weekday + EVENING.weekday, MORNING.weekend + EVENING.weekend)
    )

    def by_peak(field: str) -> pa.Array:
        off_peak = pc.if_else(evening, getattr(EVENING, field), getattr(OFF_PEAK, field))
        return pc.if_else(morning, getattr(MORNING, field), off_peak)

    # Box-Muller: two independent standard normals, one for the hour and one for the distance.
    radius = pc.sqrt(pc.multiply(pc.ln(uniform(1, 1.0, 0.0)), -2.0))  # 1 - u: never ln(0)
    angle = uniform(3, 0.0, 2 * math.pi)
    normal = pc.multiply(radius, pc.cos(angle))
    hour = _clip(pc.add(by_peak("hour"), pc.multiply(by_peak("spread"), normal)), FIRST_HOUR, LAST_HOUR)
    log_km = pc.add(metro.mu, pc.multiply(KM_SIGMA, pc.multiply(radius, pc.sin(angle))))
    km = pc.round(_clip(pc.exp(log_km), *metro.km_range), 2)
    ride_s = pc.add(
        pc.divide(pc.multiply(km, 3600), uniform(4, *metro.speed_kmh)), uniform(5, *metro.access_s)
    )

    midnight = (start_date - date(1970, 1, 1)).days * 86400
    started = pc.add(pc.add(pc.multiply(day, 86400), midnight), _seconds(pc.multiply(hour, 3600)))
    ended = pc.add(started, _seconds(ride_s))
    return [
        pc.binary_join_element_wise(
            f"B{seed}-", pc.utf8_lpad(pc.cast(index, pa.string()), width=10, padding="0"), ""
        ),
        pc.take(users, below(len(users), 0)),
        _local_time(started),
        _local_time(ended),
        pc.cast(km, pa.string()),
    ]


def _clip(values: pa.Array, low: float, high: float) -> pa.Array:
    return pc.min_element_wise(pc.max_element_wise(values, low), high)


def _seconds(values: pa.Array) -> pa.Array:
    return pc.cast(pc.round(values), pa.int64())


def _local_time(epoch_seconds: pa.Array) -> pa.Array:
    return pc.strftime(pc.cast(epoch_seconds, pa.timestamp("s")), format="%Y-%m-%dT%H:%M:%S")


def city_external_ids(city_dir: Path, scenario: str = "metro") -> list[str]:
    """The external ids a generated city binds for scenario's provider, limited to valid
    citizen rows that authorise the scenario from always, so every record of theirs counts."""
    city_dir = Path(city_dir)
    manifest = json.loads((city_dir / "manifest.json").read_text(encoding="utf-8"))
    bad_lines = {line for lines in manifest["citizens"]["defect_lines"].values() for line in lines}
    provider = PROVIDER_FOR[scenario].code
    ids = []
    with open(city_dir / manifest["citizens"]["file"], encoding="utf-8", newline="") as file:
        for line, row in enumerate(csv.DictReader(file), start=2):
            if line in bad_lines or scenario not in row["consents"].split(";"):
                continue
            bindings = dict(binding.split(":", 1) for binding in row["bindings"].split(";") if binding)
            if provider in bindings:
                ids.append(bindings[provider])
    return ids
