from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from tanhui.portal.access import is_admin
from tanhui.portal.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit log is read-only, for administrators as for everyone else; every administrator
    may read it."""

    list_display = ["at", "actor", "action", "target", "object_id", "citizen_public_id"]
    list_filter = ["action"]
    list_select_related = ["actor", "citizen"]
    search_fields = ["target", "object_id", "actor__username", "citizen__public_id"]
    date_hierarchy = "at"
    fields = ["at", "actor", "action", "target", "object_id", "citizen_public_id", "detail", "query_hash"]
    readonly_fields = fields

    @admin.display(description=_("涉及市民"))
    def citizen_public_id(self, obj):
        return obj.citizen.public_id if obj.citizen_id else ""

    def has_module_permission(self, request):
        return is_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return is_admin(request.user)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
