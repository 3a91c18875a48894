"""Citizens: browse offers (public), claim, show and cancel coupons, donate to charity projects."""

import mimetypes

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tanhui.core.errors import DomainError
from tanhui.people.api import current_citizen
from tanhui.people.models import District
from tanhui.portal.access import citizen_page, is_admin
from tanhui.rewards import codes, services
from tanhui.rewards.forms import IMAGE_TYPES, DonateForm
from tanhui.rewards.models import Category, CharityProject, Coupon, Offer
from tanhui.rewards.queries import available_offers, points_of, with_prices
from tanhui.rewards.views import new_token

PAGE_SIZE = 12


def _signed_in_citizen(request):
    try:
        return current_citizen(request)
    except DomainError:
        return None


def offers(request):
    category, district, q = request.GET.get("category", ""), request.GET.get("district", ""), request.GET.get("q", "")
    found = available_offers()
    if category in Category.values:
        found = found.filter(category=category)
    if district.isdigit():
        found = found.filter(districts=int(district))
    if q.strip():
        found = found.filter(Q(title__icontains=q.strip()) | Q(merchant__name__icontains=q.strip()))
    page = Paginator(found.order_by("-created_at", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    with_prices(page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "rewards/citizen/offers.html", {
        "page": page, "categories": Category.choices, "districts": District.objects.all(),
        "category": category, "district": district, "q": q, "filter_query": query.urlencode() + "&" if query else "",
        "points": points_of(_signed_in_citizen(request))})


def offer(request, pk: int):
    the_offer = get_object_or_404(available_offers(), pk=pk)
    with_prices([the_offer])
    citizen = _signed_in_citizen(request)
    held = the_offer.coupons.filter(citizen=citizen, status__in=(Coupon.Status.ISSUED, Coupon.Status.USED)).count() \
        if citizen else 0
    return render(request, "rewards/citizen/offer.html", {
        "offer": the_offer, "citizen": citizen, "points": points_of(citizen), "held": held, "token": new_token()})


def offer_image(request, pk: int):
    """Published offers' images are public; a draft's or withdrawn offer's only for its merchant's
    staff and administrators."""
    the_offer = get_object_or_404(Offer.objects.exclude(image=""), pk=pk)
    merchant = services.merchant_of(request.user)
    if the_offer.status != Offer.Status.PUBLISHED and not (
            is_admin(request.user) or merchant and merchant.organisation_id == the_offer.merchant_id):
        raise Http404
    kind, _encoding = mimetypes.guess_type(the_offer.image.name)
    if kind not in IMAGE_TYPES.values():
        raise Http404
    return FileResponse(the_offer.image.open("rb"), content_type=kind)


@require_POST
@citizen_page
def claim(request, citizen, pk: int):
    expected = request.POST.get("expected_points", "")
    try:
        coupon = services.claim(citizen, pk, request_key=request.POST.get("token") or None,
                                expected_points=int(expected) if expected.isdigit() else None)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("rewards:offer", pk=pk)
    messages.success(request, _("兑换成功，积分已冻结；到店出示券码或二维码即可使用。"))
    return redirect("rewards:coupon", pk=coupon.pk)


@citizen_page
def coupons(request, citizen):
    mine = Coupon.objects.filter(citizen=citizen).select_related("offer__merchant").order_by("-claimed_at")
    usable = [c for c in mine if c.usable]
    return render(request, "rewards/citizen/coupons.html", {
        "usable": usable, "others": [c for c in mine if not c.usable][:50]})


def _own_coupon(citizen, pk: int) -> Coupon:
    """Another citizen's coupon is not found: its existence is not revealed."""
    return get_object_or_404(Coupon.objects.select_related("offer__merchant"), pk=pk, citizen=citizen)


@citizen_page
def coupon(request, citizen, pk: int):
    the_coupon = _own_coupon(citizen, pk)
    return render(request, "rewards/citizen/coupon.html", {
        "coupon": the_coupon, "code": codes.grouped(the_coupon.code),
        "districts": the_coupon.offer.districts.all()})


@citizen_page
def coupon_qr(request, citizen, pk: int):
    the_coupon = _own_coupon(citizen, pk)
    if not the_coupon.usable:
        raise Http404
    response = HttpResponse(codes.qr_png(codes.grouped(the_coupon.code)), content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@citizen_page
def cancel(request, citizen, pk: int):
    try:
        services.cancel(citizen, _own_coupon(citizen, pk).pk)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已取消，冻结的积分已退回您的账户。"))
    return redirect("rewards:coupon", pk=pk)


# Charity ---------------------------------------------------------------------------------------

def projects(request):
    return render(request, "rewards/citizen/projects.html", {
        "projects": CharityProject.objects.select_related("district").order_by("status", "-created_at")})


def project(request, code: str):
    the_project = get_object_or_404(CharityProject, code=code)
    return _project_page(request, the_project, DonateForm(initial={"token": new_token()}))


def _project_page(request, the_project, form, status=200):
    citizen = _signed_in_citizen(request)
    donations = the_project.donations.select_related("citizen").order_by("-created_at")[:20]
    return render(request, "rewards/citizen/project.html", {
        "project": the_project, "form": form, "citizen": citizen, "points": points_of(citizen),
        "donations": donations, "donors": the_project.donations.values("citizen").distinct().count()},
        status=status)


@require_POST
@citizen_page
def donate(request, citizen, code: str):
    the_project = get_object_or_404(CharityProject, code=code)
    form = DonateForm(request.POST)
    if form.is_valid():
        try:
            services.donate(citizen, the_project.pk, form.cleaned_data["points"],
                            request_key=form.cleaned_data["token"] or None)
        except DomainError as exc:
            form.add_error("points", exc.message)
        else:
            messages.success(request, _("感谢您的捐赠！"))
            return redirect("rewards:project", code=code)
    return _project_page(request, the_project, form, status=400)
