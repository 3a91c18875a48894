"""Merchants: apply, manage offers, verify coupons at the counter, download the monthly settlement."""

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tanhui.core import ratelimit
from tanhui.core.errors import DomainError
from tanhui.core.timeutil import SHANGHAI, local_date
from tanhui.people.models import User
from tanhui.rewards import reports, services
from tanhui.rewards.forms import ApplicantForm, ApplicationForm, OfferForm, VerifyForm
from tanhui.rewards.models import Coupon, Merchant, Offer
from tanhui.rewards.views import merchant_page, month_param

APPLICATION_FIELDS = ("name", "licence_no", "district", "service_districts", "address", "contact_name",
                      "contact_phone")
ERROR_FIELDS = {"invalid_licence": "licence_no", "invalid_phone": "contact_phone", "name_taken": "name",
                "username_taken": "username", "no_districts": "service_districts"}
FILE_TYPES = {"csv": "text/csv; charset=utf-8",
              "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def apply(request):
    """Anyone may apply: without a login the form also creates the merchant's account. A merchant
    account waiting for review sees its application's status here and may correct and resubmit it."""
    user, application = request.user, None
    if user.is_authenticated:
        if services.merchant_of(user):
            return redirect("rewards:merchant")
        if user.role != User.Role.MERCHANT or user.organisation_id:
            raise PermissionDenied("请使用商家账号申请入驻")
        application = Merchant.objects.filter(applicant=user).first()
    form_class = ApplicationForm if user.is_authenticated else ApplicantForm
    form = form_class(request.POST or None, instance=application)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in APPLICATION_FIELDS}
        try:
            if user.is_authenticated:
                services.submit_application(user, **data)
            else:
                application = services.register_applicant(form.cleaned_data["username"],
                                                          form.cleaned_data["password"], **data)
                login(request, application.applicant, backend="tanhui.people.auth.StaffBackend")
        except DomainError as exc:
            form.add_error(ERROR_FIELDS.get(exc.code), exc.message)
        else:
            messages.success(request, _("申请已提交，审核结果将在本页显示。"))
            return redirect("rewards:apply")
    return render(request, "rewards/merchant/apply.html", {"form": form, "application": application},
                  status=400 if form.errors else 200)


@merchant_page
def home(request, merchant):
    offers = (Offer.objects.filter(merchant=merchant.organisation).select_related("funding")
              .annotate(used=Count("coupons", filter=Q(coupons__status=Coupon.Status.USED)))
              .order_by("-created_at"))
    return render(request, "rewards/merchant/home.html", {
        "merchant": merchant, "offers": offers, "districts": merchant.service_districts.all(),
        "locked_until": services.verification_locked_until(merchant.organisation)})


@merchant_page
def offer_form(request, merchant, pk: int | None = None):
    offer = get_object_or_404(Offer, pk=pk, merchant=merchant.organisation) if pk else None
    form = OfferForm(request.POST or None, request.FILES or None, instance=offer, merchant=merchant)
    if request.method == "POST" and form.is_valid():
        data = {**form.cleaned_data, "districts": list(form.cleaned_data["districts"])}
        try:
            saved = services.save_offer(merchant, data, offer)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("已保存。") if offer else _("已创建。上架后市民即可兑换。"))
            return redirect("rewards:offer-edit", pk=saved.pk)
    return render(request, "rewards/merchant/offer_form.html", {"form": form, "offer": offer},
                  status=400 if form.errors else 200)


@require_POST
@merchant_page
def offer_status(request, merchant, pk: int):
    offer = get_object_or_404(Offer, pk=pk, merchant=merchant.organisation)
    try:
        services.set_offer_status(merchant, offer, request.POST.get("status", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("rewards:merchant")


@merchant_page
def verify(request, merchant):
    """One field: staff type the code, or a scanner types it from the QR image and presses Enter."""
    form, used, status = VerifyForm(request.POST or None), None, 200
    if request.method == "POST" and form.is_valid():
        try:
            ratelimit.enforce("coupon_verify", str(request.user.pk))
            used = services.redeem(request.user, form.cleaned_data["code"])
        except DomainError as exc:
            form.add_error("code", exc.message)
            status = exc.status
        else:
            form = VerifyForm()
    today = local_date(timezone.now())
    recent = (Coupon.objects.filter(offer__merchant=merchant.organisation, status=Coupon.Status.USED,
                                    used_at__gte=reports.month_bounds(today)[0])
              .select_related("offer", "used_by").order_by("-used_at")[:10])
    return render(request, "rewards/merchant/verify.html", {
        "form": form, "used": used, "recent": recent,
        "locked_until": services.verification_locked_until(merchant.organisation)}, status=status)


@merchant_page
def settlement(request, merchant):
    month = month_param(request)
    months = (Coupon.objects.filter(offer__merchant=merchant.organisation, status=Coupon.Status.USED)
              .annotate(month=TruncMonth("used_at", tzinfo=SHANGHAI)).values("month")
              .annotate(n=Count("pk"), citizen=Sum("citizen_points"), funded=Sum("funded_points"))
              .order_by("-month"))
    rows = reports.settlement_rows(merchant.organisation_id, month)
    return render(request, "rewards/merchant/settlement.html", {
        "month": month, "rows": rows, "totals": reports.settlement_totals(rows),
        "months": [{**m, "month": local_date(m["month"]).replace(day=1)} for m in months]})


@merchant_page
def settlement_file(request, merchant, month, fmt: str):
    if fmt not in FILE_TYPES:
        raise Http404
    rows = reports.settlement_rows(merchant.organisation_id, month)
    body = reports.settlement_csv(rows) if fmt == "csv" else reports.settlement_xlsx(rows, f"{month:%Y-%m}")
    response = HttpResponse(body, content_type=FILE_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="settlement-{month:%Y-%m}.{fmt}"'
    return response
