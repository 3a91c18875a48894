"""The back office shows 低碳惠生活's records read-only: every change carries value or an approval
and goes through `rewards.services` (the pages under /rewards/manage/). Coupon codes and contact
phones stay masked here."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from tanhui.people.admin import ReadOnlyMixin
from tanhui.rewards.models import CharityProject, Coupon, Donation, FundingBudget, Merchant, Offer, VerificationFailure


@admin.register(Merchant)
class MerchantAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["name", "licence_no", "district", "status", "submitted_at", "reviewed_at"]
    list_filter = ["status", "district"]
    search_fields = ["name", "licence_no"]
    fields = readonly_fields = ["name", "licence_no", "district", "address", "masked_contact_phone", "status",
                                "reason", "organisation", "applicant", "submitted_at", "reviewed_at", "reviewed_by"]


@admin.register(Offer)
class OfferAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["title", "merchant", "category", "points_price", "taken", "stock", "status", "valid_until"]
    list_filter = ["status", "category"]
    search_fields = ["title", "merchant__name"]


@admin.register(Coupon)
class CouponAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["pk", "offer", "masked_code", "status", "citizen_points", "funded_points", "claimed_at",
                    "used_at"]
    list_filter = ["status"]
    fields = readonly_fields = ["offer", "citizen", "masked_code", "status", "citizen_points", "funded_points",
                                "reservation_id", "funding_reservation_id", "claimed_at", "expires_at", "used_at",
                                "used_by", "closed_at"]

    @admin.display(description=_("券码"))
    def masked_code(self, coupon):
        return coupon.masked_code


@admin.register(FundingBudget)
class FundingBudgetAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["name", "code", "account_id", "max_points_per_coupon", "active"]


@admin.register(CharityProject)
class CharityProjectAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["title", "organiser", "raised_points", "goal_points", "status"]


@admin.register(Donation)
class DonationAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["project", "points", "transfer_id", "created_at"]
    exclude = ["citizen"]


@admin.register(VerificationFailure)
class VerificationFailureAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["merchant", "user", "reason", "at"]
    list_filter = ["reason"]
