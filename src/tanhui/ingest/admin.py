"""The back office for data providers and what they delivered.

An API key is shown once, in a message, when it is issued or rotated; only its hash is stored and the
hash is never shown. Keys are never edited or deleted: they are rotated or revoked, and revoked keys
stay listed. Batches, reductions and rejected records are the pipeline's output and are read-only here.
"""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from tanhui.ingest import services
from tanhui.ingest.models import ApiKey, Batch, Provider, Reduction, RejectedRecord
from tanhui.people.admin import PhoneSearchMixin, ReadOnlyAdmin


def show_key_once(model_admin, request, api_key: ApiKey, key: str) -> None:
    message = _("数据方 %(code)s 的 API 密钥 %(name)s 只显示这一次，请立即交给数据方保存：%(key)s")
    model_admin.message_user(request, message % {"code": api_key.provider.code, "name": api_key.name, "key": key},
                             messages.WARNING)


@admin.display(description=_("限定场景"))
def key_scenarios(api_key: ApiKey) -> str:
    return ", ".join(api_key.scenario_codes()) or _("全部")


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fields = ["name", "prefix", key_scenarios, "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "active", "scenario_codes"]
    list_filter = ["active", "scenarios"]
    search_fields = ["code", "name"]
    filter_horizontal = ["scenarios"]
    actions = ["rotate_api_key"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("scenarios")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["code", "name", "scenarios"]
        return ["code", "name", "scenarios", "active", "organisation"]

    def get_readonly_fields(self, request, obj=None):
        return ["code", "organisation"] if obj else []

    def get_inlines(self, request, obj):
        return [ApiKeyInline] if obj else []

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
        show_key_once(self, request, services.live_api_key(provider), key)

    @admin.action(description=_("轮换默认 API 密钥（旧密钥立即失效）"), permissions=["change"])
    def rotate_api_key(self, request, queryset):
        for provider in queryset:
            show_key_once(self, request, *services.rotate_api_key(services.live_api_key(provider)))


class ApiKeyForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        provider, scenarios = cleaned.get("provider"), cleaned.get("scenarios")
        if provider and scenarios and scenarios.exclude(providers=provider).exists():
            raise forms.ValidationError(_("只能限定在该数据方可报送的场景内"))
        return cleaned


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ["provider", "name", "prefix", key_scenarios, "created_at", "last_used_at", "revoked_at"]
    list_filter = ["provider", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["provider"]
    search_fields = ["provider__code", "name", "prefix"]
    filter_horizontal = ["scenarios"]
    actions = ["rotate", "revoke"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("scenarios")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["provider", "name", "scenarios"]
        return ["provider", "name", "prefix", key_scenarios, "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj else []

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return
        api_key, key = services.issue_api_key(obj.provider, obj.name, [s.code for s in form.cleaned_data["scenarios"]])
        obj.pk = api_key.pk
        show_key_once(self, request, api_key, key)

    def save_related(self, request, form, formsets, change):
        """The scenarios were set by the write path."""

    @admin.action(description=_("轮换所选密钥（旧密钥立即失效）"), permissions=["change"])
    def rotate(self, request, queryset):
        for api_key in queryset.filter(revoked_at__isnull=True):
            show_key_once(self, request, *services.rotate_api_key(api_key))

    @admin.action(description=_("吊销所选密钥"), permissions=["change"])
    def revoke(self, request, queryset):
        for api_key in queryset.filter(revoked_at__isnull=True):
            services.revoke_api_key(api_key)


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
