"""Supervision in the back office, to look things up. Everything changes through the pages, the
API and the commands (`services`), which keep readings, emissions and alerts consistent."""

from django.contrib import admin

from tanhui.people.admin import ReadOnlyMixin
from tanhui.supervision.models import (
    Alert,
    Building,
    EnergyCap,
    EnergyFactor,
    Indicator,
    Meter,
    PlanTask,
    ReadingBatch,
    ReadingIssue,
)


@admin.register(Building)
class BuildingAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["code", "name", "type", "floor_area_m2", "district", "owner", "key_energy_user"]
    list_filter = ["type", "district", "key_energy_user"]
    search_fields = ["code", "name", "owner__name"]


@admin.register(Meter)
class MeterAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["code", "building", "kind", "mode", "interval_s", "parent", "active", "last_reading_at"]
    list_filter = ["kind", "mode", "interval_s", "active"]
    search_fields = ["code", "building__code", "building__name"]


@admin.register(ReadingBatch)
class ReadingBatchAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "source", "filename", "submitted_by", "status", "readings", "accepted", "rejected",
                    "created_at"]
    list_filter = ["status", "source"]


@admin.register(ReadingIssue)
class ReadingIssueAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["batch", "seq", "meter_code", "ts_text", "value_text", "reason", "rejected", "detail"]
    list_filter = ["reason", "rejected"]
    search_fields = ["meter_code"]


@admin.register(EnergyFactor)
class EnergyFactorAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["kind", "region", "valid_from", "kg_per_unit", "source"]
    list_filter = ["kind", "region"]


@admin.register(EnergyCap)
class EnergyCapAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["building", "year", "cap_kgce", "set_by", "set_at"]


@admin.register(Alert)
class AlertAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["day", "kind", "building", "meter", "message", "status"]
    list_filter = ["kind", "status"]
    search_fields = ["building__code", "building__name"]


@admin.register(PlanTask)
class PlanTaskAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["plan", "number", "area", "due"]
    list_filter = ["plan", "area"]
    search_fields = ["text"]


@admin.register(Indicator)
class IndicatorAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["plan", "code", "name", "unit", "direction", "baseline_year", "baseline_value"]
