"""The back office for methodologies, scenarios, emission factors and their versions.

Codes are identifiers that providers and files refer to, so they are fixed once created. A version
that has credited anything is shown read-only and cannot be deleted: to change what is computed,
an administrator publishes a new version (adds one) with a later effective date.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from tanhui.methodology.models import EmissionFactor, FactorVersion, Methodology, MethodologyVersion, Scenario


class FixedCodeAdmin(admin.ModelAdmin):
    search_fields = ["code", "name"]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj else []


@admin.register(Methodology)
class MethodologyAdmin(FixedCodeAdmin):
    list_display = ["code", "name"]


@admin.register(EmissionFactor)
class EmissionFactorAdmin(FixedCodeAdmin):
    list_display = ["code", "name", "unit"]


@admin.register(Scenario)
class ScenarioAdmin(FixedCodeAdmin):
    list_display = ["code", "name", "kind", "methodology", "factor"]
    list_filter = ["kind"]
    list_select_related = ["methodology", "factor"]


class LockedWhenUsedAdmin(admin.ModelAdmin):
    readonly_fields = ["published_at"]

    @admin.display(boolean=True, description=_("已用于核算"))
    def used(self, obj):
        return obj.is_used()

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj and obj.is_used())

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not (obj and obj.is_used())


@admin.register(MethodologyVersion)
class MethodologyVersionAdmin(LockedWhenUsedAdmin):
    list_display = ["methodology", "number", "valid_from", "published_at", "used"]
    list_filter = ["methodology"]
    list_select_related = ["methodology"]
    fields = ["methodology", "number", "valid_from", "parameters", "notes", "published_at"]


@admin.register(FactorVersion)
class FactorVersionAdmin(LockedWhenUsedAdmin):
    list_display = ["factor", "number", "valid_from", "value", "published_at", "used"]
    list_filter = ["factor"]
    list_select_related = ["factor"]
    fields = ["factor", "number", "valid_from", "value", "source", "published_at"]
