"""Check-ins by rotating QR token: the current and the previous token work, an older one (a photo
of the code) does not; once per venue per local day (also in the database); the optional geofence;
points from the venue's campaign budget."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError

from tanhui.core.errors import DomainError
from tanhui.engagement import services, tokens
from tanhui.engagement.models import Award, CheckIn

from .conftest import DAY, at

pytestmark = pytest.mark.django_db


def token_at(venue, moment):
    return tokens.current(venue, moment)[0]


def test_the_token_rotates_and_a_photo_of_it_goes_stale(venue, citizens):
    place = venue()
    (a,) = citizens(1)
    shown = at(DAY, 9, 0, 30)
    photo = token_at(place, shown)
    assert token_at(place, shown + timedelta(seconds=60)) != photo
    assert tokens.is_valid(place, photo, shown + timedelta(seconds=70))  # the code just changed: still fine
    assert not tokens.is_valid(place, photo, shown + timedelta(seconds=130))
    with pytest.raises(DomainError) as refused:
        services.check_in(a, place, photo, now=shown + timedelta(minutes=5))
    assert refused.value.code == "stale_token"
    assert not CheckIn.objects.exists()


def test_a_token_of_another_venue_or_a_made_up_one_is_refused(venue, citizens):
    school = venue("school-1")
    park = venue("park-1", made=school.campaign)
    (a,) = citizens(1)
    now = at(DAY, 9)
    for token in (token_at(park, now), "AAAAAAAAAAAAAAAA", ""):
        with pytest.raises(DomainError) as refused:
            services.check_in(a, school, token, now=now)
        assert refused.value.code == "stale_token"


def test_once_per_venue_per_day_and_paid_from_the_campaign_budget(venue, campaign, citizens):
    made = campaign()
    services.fund_campaign(made, 100)
    place = venue(made=made)
    (a,) = citizens(1)
    morning = at(DAY, 9)
    first = services.check_in(a, place, token_at(place, morning), now=morning)
    assert first.points == 10 and first.local_date == DAY
    with pytest.raises(DomainError) as refused:
        services.check_in(a, place, token_at(place, morning + timedelta(hours=3)), now=morning + timedelta(hours=3))
    assert refused.value.code == "already_checked_in"
    late_evening = at(DAY, 23, 59)  # still the same local day
    with pytest.raises(DomainError):
        services.check_in(a, place, token_at(place, late_evening), now=late_evening)
    next_day = at(DAY + timedelta(days=1), 0, 1)
    assert services.check_in(a, place, token_at(place, next_day), now=next_day).points == 10
    assert Award.objects.filter(kind="checkin").count() == 2
    assert services.budget(made)["balance"] == 80


def test_the_database_refuses_a_second_check_in_the_same_day(venue, citizens):
    place = venue()
    (a,) = citizens(1)
    CheckIn.objects.create(venue=place, citizen=a, local_date=DAY, created_at=at(DAY))
    with pytest.raises(IntegrityError):
        CheckIn.objects.create(venue=place, citizen=a, local_date=DAY, created_at=at(DAY, 13))


def test_an_empty_budget_still_records_the_check_in_without_points(venue, campaign, citizens):
    made = campaign()
    services.fund_campaign(made, 5)
    place = venue(made=made)
    (a,) = citizens(1)
    now = at(DAY, 9)
    assert services.check_in(a, place, token_at(place, now), now=now).points == 0
    assert services.budget(made)["balance"] == 5


def test_outside_the_campaign_window_a_check_in_earns_nothing(venue, campaign, citizens):
    made = campaign()
    services.fund_campaign(made, 100)
    place = venue(made=made)
    (a,) = citizens(1)
    after = at(made.ends_on + timedelta(days=1))
    assert services.check_in(a, place, token_at(place, after), now=after).points == 0


def test_geofence(venue, citizens):
    place = venue(latitude=Decimal("22.543096"), longitude=Decimal("114.057865"), radius_m=200)
    (a,) = citizens(1)
    now = at(DAY, 9)
    token = token_at(place, now)
    for position, code in (((None, None), "location_required"), ((22.553096, 114.057865), "outside_geofence")):
        with pytest.raises(DomainError) as refused:
            services.check_in(a, place, token, latitude=position[0], longitude=position[1], now=now)
        assert refused.value.code == code
    assert services.check_in(a, place, token, latitude=22.543500, longitude=114.058000, now=now)
    assert 1100 < tokens.distance_m(22.543096, 114.057865, 22.553096, 114.057865) < 1125
