"""Read-only views of the registry in the Django admin: every change goes through
`registry.services` (pages, API, commands), so that it reaches the event log."""

from django.contrib import admin

from tanhui.registry import models


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.IssuanceRequest)
class IssuanceRequestAdmin(ReadOnly):
    list_display = ["pk", "kind", "status", "period_start", "period_end", "tonnes", "verified_tonnes", "verifier"]
    list_filter = ["kind", "status"]


@admin.register(models.SerialBlock)
class SerialBlockAdmin(ReadOnly):
    list_display = ["serial", "account", "retirement"]
    list_select_related = ["request", "account__organisation", "retirement"]


@admin.register(models.Retirement)
class RetirementAdmin(ReadOnly):
    list_display = ["certificate_no", "account", "purpose", "tonnes", "created_at"]


@admin.register(models.Project)
class ProjectAdmin(ReadOnly):
    list_display = ["code", "name", "owner", "status", "validator"]


@admin.register(models.Event)
class EventAdmin(ReadOnly):
    list_display = ["seq", "at", "kind", "subject", "hash"]


@admin.register(models.CalendarDay)
class CalendarDayAdmin(ReadOnly):
    list_display = ["day", "working", "name"]
