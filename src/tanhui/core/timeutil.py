"""Time helpers: "a day" is always the Asia/Shanghai local date."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_date(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def parse_iso_date(text: str) -> date:
    """Strict YYYY-MM-DD; raises ValueError otherwise."""
    if len(text) != 10:
        raise ValueError(f"not a YYYY-MM-DD date: {text!r}")
    return date.fromisoformat(text)
