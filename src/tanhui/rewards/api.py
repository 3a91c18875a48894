"""低碳惠生活 API: offers (public), a citizen's coupons and donations, counter verification for
merchant staff. Writes go through `rewards.services`; a coupon or donation is only ever shown to
the citizen it belongs to."""

from datetime import date, datetime

from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.security import django_auth

from tanhui.core import ratelimit
from tanhui.people.api import current_citizen
from tanhui.rewards import codes, services
from tanhui.rewards.models import Category, CharityProject, Coupon
from tanhui.rewards.queries import available_offers, with_prices

router = Router(tags=["rewards"])
PAGE_SIZE = 50


class OfferOut(Schema):
    id: int
    title: str
    description: str
    merchant: str
    category: str
    category_label: str
    points_price: int
    citizen_points: int  # what a claim costs the citizen now
    funded_points: int  # what a campaign budget pays now
    remaining: int
    per_citizen_limit: int
    valid_from: date
    valid_until: date
    coupon_days: int
    districts: list[str]


class ClaimIn(Schema):
    request_key: str | None = None
    expected_points: int | None = None


class CouponOut(Schema):
    id: int
    offer_id: int
    offer: str
    merchant: str
    code: str
    status: str
    citizen_points: int
    funded_points: int
    claimed_at: datetime
    expires_at: datetime
    used_at: datetime | None


class RedeemIn(Schema):
    code: str


class RedemptionOut(Schema):
    coupon_id: int
    offer: str
    points: int
    citizen_points: int
    funded_points: int
    used_at: datetime


class ProjectOut(Schema):
    code: str
    title: str
    organiser: str
    status: str
    goal_points: int
    raised_points: int


class DonateIn(Schema):
    points: int
    request_key: str | None = None


class DonationOut(Schema):
    id: int
    project: str
    points: int
    created_at: datetime


def _offer_out(offer) -> OfferOut:
    return OfferOut(id=offer.pk, title=offer.title, description=offer.description, merchant=offer.merchant.name,
                    category=offer.category, category_label=str(offer.get_category_display()),
                    points_price=offer.points_price, citizen_points=offer.price, funded_points=offer.subsidy,
                    remaining=offer.remaining, per_citizen_limit=offer.per_citizen_limit,
                    valid_from=offer.valid_from, valid_until=offer.valid_until, coupon_days=offer.coupon_days,
                    districts=[d.name for d in offer.districts.all()])


def _coupon_out(c: Coupon) -> CouponOut:
    status = Coupon.Status.EXPIRED if c.status == Coupon.Status.ISSUED and not c.usable else c.status
    return CouponOut(id=c.pk, offer_id=c.offer_id, offer=c.offer.title, merchant=c.offer.merchant.name,
                     code=codes.grouped(c.code), status=status, citizen_points=c.citizen_points,
                     funded_points=c.funded_points, claimed_at=c.claimed_at, expires_at=c.expires_at,
                     used_at=c.used_at)


@router.get("/offers", response=list[OfferOut])
def list_offers(request, category: Category | None = None, district: str | None = None, offset: int = 0):
    """Offers claimable today; filter by category (clothing, food, housing, transport, goods) and
    district name."""
    found = available_offers()
    if category:
        found = found.filter(category=category)
    if district:
        found = found.filter(districts__name=district)
    page = list(found.order_by("-created_at", "pk")[max(offset, 0):max(offset, 0) + PAGE_SIZE])
    return [_offer_out(o) for o in with_prices(page)]


@router.get("/offers/{offer_id}", response=OfferOut)
def get_offer(request, offer_id: int):
    return _offer_out(with_prices([get_object_or_404(available_offers(), pk=offer_id)])[0])


@router.post("/offers/{offer_id}/claim", response={201: CouponOut}, auth=django_auth)
def claim(request, offer_id: int, payload: ClaimIn):
    coupon = services.claim(current_citizen(request), offer_id, request_key=payload.request_key,
                            expected_points=payload.expected_points)
    return Status(201, _coupon_out(coupon))


@router.get("/coupons", response=list[CouponOut], auth=django_auth)
def list_coupons(request):
    coupons = Coupon.objects.filter(citizen=current_citizen(request)).select_related("offer__merchant")
    return [_coupon_out(c) for c in coupons.order_by("-claimed_at")[:200]]


@router.get("/coupons/{coupon_id}", response=CouponOut, auth=django_auth)
def get_coupon(request, coupon_id: int):
    coupon = get_object_or_404(Coupon.objects.select_related("offer__merchant"), pk=coupon_id,
                               citizen=current_citizen(request))
    return _coupon_out(coupon)


@router.post("/coupons/{coupon_id}/cancel", response=CouponOut, auth=django_auth)
def cancel(request, coupon_id: int):
    return _coupon_out(services.cancel(current_citizen(request), coupon_id))


@router.post("/redemptions", response=RedemptionOut, auth=django_auth)
def redeem(request, payload: RedeemIn):
    """For merchant staff at the counter: uses the coupon with this code (typed or scanned). Limited per
    staff user (429 `rate_limited`), besides the merchant's lockout after wrong codes."""
    ratelimit.enforce("coupon_verify", str(request.user.pk))
    coupon = services.redeem(request.user, payload.code)
    return RedemptionOut(coupon_id=coupon.pk, offer=coupon.offer.title, points=coupon.points,
                         citizen_points=coupon.citizen_points, funded_points=coupon.funded_points,
                         used_at=coupon.used_at)


@router.get("/charity", response=list[ProjectOut])
def list_projects(request):
    return list(CharityProject.objects.order_by("-created_at")[:200])


@router.post("/charity/{code}/donations", response={201: DonationOut}, auth=django_auth)
def donate(request, code: str, payload: DonateIn):
    project = get_object_or_404(CharityProject, code=code)
    donation = services.donate(current_citizen(request), project.pk, payload.points,
                               request_key=payload.request_key)
    return Status(201, DonationOut(id=donation.pk, project=project.code, points=donation.points,
                                   created_at=donation.created_at))
