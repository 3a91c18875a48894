"""Working days for notice periods: Monday to Friday, except the days in `CalendarDay` (public
holidays on weekdays, and weekend days worked in exchange, 调休上班)."""

from datetime import date, timedelta

from tanhui.registry.models import CalendarDay


def _overrides(first: date, last: date) -> dict[date, bool]:
    return dict(CalendarDay.objects.filter(day__range=(first, last)).values_list("day", "working"))


def add_working_days(start: date, days: int) -> date:
    """The `days`-th working day after `start` (`start` itself not counted)."""
    horizon = start + timedelta(days=days * 2 + 45)  # generous: even Spring Festival fits
    overrides = _overrides(start, horizon)
    day, counted = start, 0
    while counted < days:
        day += timedelta(days=1)
        if day > horizon:
            horizon = day + timedelta(days=days * 2 + 45)
            overrides.update(_overrides(day, horizon))
        counted += overrides.get(day, day.weekday() < 5)
    return day


def working_days_between(first: date, last: date) -> int:
    """Working days in first..last, both included (0 when last < first)."""
    if last < first:
        return 0
    overrides = _overrides(first, last)
    return sum(overrides.get(first + timedelta(days=i), (first + timedelta(days=i)).weekday() < 5)
               for i in range((last - first).days + 1))
