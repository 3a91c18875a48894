from datetime import date

import pytest

from tanhui.core.errors import NotAllowed
from tanhui.registry import services
from tanhui.registry.workdays import add_working_days, working_days_between
from tests.registry.conftest import T0


def test_weekends_do_not_count(db):
    assert add_working_days(date(2026, 6, 1), 7) == date(2026, 6, 10)  # Monday → Wednesday of next week
    assert add_working_days(date(2026, 6, 5), 1) == date(2026, 6, 8)  # Friday → Monday
    assert add_working_days(date(2026, 6, 6), 1) == date(2026, 6, 8)  # from a Saturday
    assert working_days_between(date(2026, 6, 1), date(2026, 6, 14)) == 10
    assert working_days_between(date(2026, 6, 2), date(2026, 6, 1)) == 0


def test_holidays_and_days_worked_in_exchange(users):
    # Dragon Boat Festival 2026: Friday 19 June off; say Sunday 28 June is worked in exchange
    services.set_calendar_day(users.admin, date(2026, 6, 19), working=False, name="端午节", now=T0)
    services.set_calendar_day(users.admin, date(2026, 6, 28), working=True, name="调休上班", now=T0)
    assert add_working_days(date(2026, 6, 15), 7) == date(2026, 6, 25)  # the 19th is skipped
    assert add_working_days(date(2026, 6, 25), 2) == date(2026, 6, 28)  # Friday 26th, then the worked Sunday
    with pytest.raises(NotAllowed):
        services.set_calendar_day(users.energy, date(2026, 10, 1), working=False)


def test_the_notice_length_is_configurable(users, settings, citizens, ingest_trips, prepare):
    from tests.registry.conftest import may_days

    settings.TANHUI_REGISTRY_NOTICE_DAYS = 10
    ingest_trips(citizens(20), may_days(4, 8))
    request = services.publish_notice(users.admin, prepare(), now=T0)
    assert (request.notice_days, request.notice_ends_on) == (10, date(2026, 6, 15))
