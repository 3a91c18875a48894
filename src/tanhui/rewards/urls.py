from datetime import date

from django.urls import path, register_converter

from tanhui.rewards.views import citizen, manage, merchant


class MonthConverter:
    """YYYY-MM in a URL → datetime.date of the month's first day."""

    regex = r"\d{4}-\d{2}"

    def to_python(self, value):
        year, month = map(int, value.split("-"))
        try:
            return date(year, month, 1)
        except ValueError as exc:
            raise ValueError(value) from exc

    def to_url(self, value):
        return f"{value:%Y-%m}"


register_converter(MonthConverter, "month")

app_name = "rewards"

urlpatterns = [
    # citizens (browsing is public)
    path("", citizen.offers, name="offers"),
    path("offers/<int:pk>/", citizen.offer, name="offer"),
    path("offers/<int:pk>/image", citizen.offer_image, name="offer-image"),
    path("offers/<int:pk>/claim/", citizen.claim, name="claim"),
    path("coupons/", citizen.coupons, name="coupons"),
    path("coupons/<int:pk>/", citizen.coupon, name="coupon"),
    path("coupons/<int:pk>/qr.png", citizen.coupon_qr, name="coupon-qr"),
    path("coupons/<int:pk>/cancel/", citizen.cancel, name="cancel"),
    path("charity/", citizen.projects, name="charity"),
    path("charity/<slug:code>/", citizen.project, name="project"),
    path("charity/<slug:code>/donate/", citizen.donate, name="donate"),
    # merchants
    path("merchant/apply/", merchant.apply, name="apply"),
    path("merchant/", merchant.home, name="merchant"),
    path("merchant/offers/new/", merchant.offer_form, name="offer-new"),
    path("merchant/offers/<int:pk>/edit/", merchant.offer_form, name="offer-edit"),
    path("merchant/offers/<int:pk>/status/", merchant.offer_status, name="offer-status"),
    path("merchant/verify/", merchant.verify, name="verify"),
    path("merchant/settlement/", merchant.settlement, name="settlement"),
    path("merchant/settlement/<month:month>.<str:fmt>", merchant.settlement_file, name="settlement-file"),
    # administrators
    path("manage/", manage.report, name="manage"),
    path("manage/merchants/", manage.applications, name="applications"),
    path("manage/merchants/<int:pk>/", manage.application, name="application"),
    path("manage/budgets/", manage.budgets, name="budgets"),
    path("manage/budgets/<int:pk>/fund/", manage.fund, name="fund"),
    path("manage/charity/", manage.projects, name="projects"),
]
