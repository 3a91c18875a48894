"""Back office for engagement configuration (campaigns and their units, venues and pledge tasks;
questions, quiz editions; unit teams and challenges). Everything that pays points or records what
citizens did (awards, fundings, attempts, check-ins, pledges, certifications) is read-only here: it
changes only through the services and their pages."""

from django.contrib import admin

from tanhui.engagement.models import (
    Attempt,
    Award,
    Campaign,
    CampaignUnit,
    Certification,
    CheckIn,
    Funding,
    Pledge,
    PledgeTask,
    Question,
    QuizEdition,
    Team,
    TeamChallenge,
    Venue,
)
from tanhui.people.admin import ReadOnlyAdmin


class UnitInline(admin.TabularInline):
    model = CampaignUnit
    extra = 0
    autocomplete_fields = ["organisation"]


class PledgeTaskInline(admin.TabularInline):
    model = PledgeTask
    extra = 0


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "starts_on", "ends_on", "status", "bonus_mode"]
    list_filter = ["kind", "status"]
    search_fields = ["code", "name"]
    filter_horizontal = ["scenarios"]
    inlines = [UnitInline, PledgeTaskInline]
    readonly_fields = ["created_by", "created_at"]


@admin.register(Venue)
class VenueAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "role", "campaign", "points", "radius_m", "active"]
    list_filter = ["kind", "role", "active"]
    search_fields = ["code", "name"]


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["code", "kind", "category", "difficulty", "text", "active"]
    list_filter = ["kind", "category", "difficulty", "active"]
    search_fields = ["code", "text"]


@admin.register(QuizEdition)
class QuizEditionAdmin(admin.ModelAdmin):
    list_display = ["code", "title", "opens_at", "closes_at", "status"]
    readonly_fields = ["prizes_awarded_at"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["organisation", "headcount", "join_code"]
    readonly_fields = ["join_code"]


@admin.register(TeamChallenge)
class TeamChallengeAdmin(admin.ModelAdmin):
    list_display = ["name", "starts_on", "ends_on", "campaign"]
    filter_horizontal = ["teams"]


@admin.register(Award)
class AwardAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "campaign", "kind", "local_date", "points", "tx_id"]
    list_filter = ["kind", "campaign"]


@admin.register(Funding)
class FundingAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "campaign", "points", "memo"]


@admin.register(Attempt)
class AttemptAdmin(ReadOnlyAdmin):
    list_display = ["pk", "edition", "status", "started_at", "correct", "duration_ms"]
    list_filter = ["status", "edition"]
    exclude = ["answers"]


@admin.register(CheckIn)
class CheckInAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "venue", "local_date", "points"]


@admin.register(Pledge)
class PledgeAdmin(ReadOnlyAdmin):
    list_display = ["task", "status", "created_at", "settled_at"]
    list_filter = ["status"]


@admin.register(Certification)
class CertificationAdmin(ReadOnlyAdmin):
    list_display = ["community", "level", "status", "submitted_at", "certificate_no"]
    list_filter = ["status", "level"]
