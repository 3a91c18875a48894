"""The back office for data providers and what they delivered.

A provider's API key is shown once, in a message, when it is created or rotated; only its hash is
stored and the hash is never shown. Batches, reductions and rejected records are the pipeline's
output and are read-only here.
"""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from tanhui.ingest import services
from tanhui.ingest.models import Batch, Provider, Reduction, RejectedRecord
from tanhui.people.admin import PhoneSearchMixin, ReadOnlyAdmin


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "active", "scenario_codes", "api_key_prefix", "api_key_rotated_at"]
    list_filter = ["active", "scenarios"]
    search_fields = ["code", "name"]
    filter_horizontal = ["scenarios"]
    actions = ["rotate_api_key"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("scenarios")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["code", "name", "scenarios"]
        return ["code", "name", "scenarios", "active", "organisation", "api_key_prefix", "api_key_rotated_at"]

    def get_readonly_fields(self, request, obj=None):
        return ["code", "organisation", "api_key_prefix", "api_key_rotated_at"] if obj else []

    @admin.display(description=_("可报送场景"))
    def scenario_codes(self, obj):
        return ", ".join(s.code for s in obj.scenarios.all())

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # New providers go through the ingest write path, which also creates their organisation.
        scenario_codes = [s.code for s in form.cleaned_data["scenarios"]]
        provider, key = services.add_provider(obj.code, obj.name, scenario_codes)
        obj.pk = provider.pk
        obj.refresh_from_db()
        self._show_key_once(request, obj, key)

    @admin.action(description=_("轮换 API 密钥（旧密钥立即失效）"), permissions=["change"])
    def rotate_api_key(self, request, queryset):
        for provider in queryset:
            self._show_key_once(request, provider, services.rotate_api_key(provider))

    def _show_key_once(self, request, provider, key):
        self.message_user(request, _("数据方 %(code)s 的 API 密钥只显示这一次，请立即交给数据方保存：%(key)s")
                          % {"code": provider.code, "key": key}, messages.WARNING)


@admin.register(Batch)
class BatchAdmin(ReadOnlyAdmin):
    list_display = ["id", "provider", "scenario", "source", "status", "records", "accepted", "duplicates",
                    "rejected", "capped", "reduction_mg", "points", "created_at", "finished_at"]
    list_filter = ["status", "source", "scenario", "provider"]
    list_select_related = ["provider", "scenario"]
    search_fields = ["key", "filename"]


@admin.register(Reduction)
class ReductionAdmin(PhoneSearchMixin, ReadOnlyAdmin):
    phone_hash_lookup = "citizen__phone_hash"
    list_display = ["record_id", "provider", "scenario", "citizen", "local_date", "reduction_mg", "capped",
                    "vacant", "methodology_version", "factor_version", "batch"]
    list_filter = ["scenario", "provider", "capped", "vacant"]
    list_select_related = ["provider", "scenario", "citizen", "methodology_version__methodology",
                           "factor_version__factor", "batch__provider", "batch__scenario"]
    search_fields = ["record_id", "citizen__public_id"]
    show_full_result_count = False


@admin.register(RejectedRecord)
class RejectedRecordAdmin(ReadOnlyAdmin):
    list_display = ["batch", "seq", "record_id", "reason", "purge_after"]
    list_filter = ["reason"]
    list_select_related = ["batch__provider", "batch__scenario"]
    search_fields = ["record_id"]
    ordering = ["batch", "seq"]
