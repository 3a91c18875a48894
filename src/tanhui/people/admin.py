"""The back office for people: citizens, staff users, organisations, places, bindings, consents.

Personal data stays masked here too (张*, 138****8000). A full phone number typed into the search
box is matched through its keyed hash, so no row is ever decrypted to be searched. Citizens'
records change only through their own actions and the import (`services`); the admin shows them.
"""

from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from tanhui.core.pii import lookup_hash
from tanhui.people import export, guards
from tanhui.people.models import Binding, Citizen, Community, Consent, District, LoginLock, Organisation, User
from tanhui.people.phones import normalise_phone
from tanhui.people.views import LoginGuard
from tanhui.portal.audit import record
from tanhui.portal.models import AuditEvent


class StaffLoginForm(LoginGuard, AdminAuthenticationForm):
    """The admin's login, with the same rate limit and lockout as the site's."""


admin.site.site_header = _("碳惠管理后台")
admin.site.site_title = _("碳惠管理后台")
admin.site.index_title = _("平台管理")
admin.site.login_form = StaffLoginForm
# Fields whose change grants or takes away what a login may do.
ROLE_FIELDS = ("role", "organisation", "is_active", "is_staff", "is_superuser", "groups", "user_permissions")


class ReadOnlyMixin:
    """History and computed records: administrators may look, never add, edit or delete."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    pass


class PhoneSearchMixin:
    """Lets an administrator type a full phone number (any common spelling) into the search box.

    `phone_hash_lookup` is the path from the listed model to `Citizen.phone_hash`.
    """

    phone_hash_lookup = "phone_hash"
    search_help_text = _("可输入完整手机号查找")

    def get_search_results(self, request, queryset, search_term):
        phone = normalise_phone(search_term)
        if phone:
            return queryset.filter(**{self.phone_hash_lookup: lookup_hash(phone)}), False
        return super().get_search_results(request, queryset, search_term)


class BindingInline(ReadOnlyMixin, admin.TabularInline):
    model = Binding
    fields = readonly_fields = ["provider", "external_user_id", "bound_at", "unbound_at"]
    ordering = ["-bound_at"]
    extra = 0


class ConsentInline(ReadOnlyMixin, admin.TabularInline):
    model = Consent
    fields = readonly_fields = ["scenario", "effective_from", "granted_at", "revoked_at"]
    ordering = ["-granted_at"]
    extra = 0


@admin.register(Citizen)
class CitizenAdmin(PhoneSearchMixin, ReadOnlyAdmin):
    list_display = ["public_id", "masked_name", "masked_phone", "district", "community", "status",
                    "created_at"]
    list_filter = ["status", "district"]
    list_select_related = ["district", "community__district"]
    search_fields = ["public_id"]
    search_help_text = _("输入完整手机号或公开编号")
    fields = ["public_id", "masked_name", "masked_phone", "status", "district", "community", "created_at",
              "closed_at"]
    inlines = [BindingInline, ConsentInline]
    actions = ["export_personal_data"]

    @admin.action(description=_("导出个人信息（JSON，记入审计日志）"), permissions=["view"])
    def export_personal_data(self, request, queryset):
        """Support exports one citizen's data on their request (PIPL access right)."""
        if queryset.count() != 1:
            self.message_user(request, _("请只选择一位市民导出。"), messages.ERROR)
            return None
        return export.export_personal_data(queryset.get(), request.user)

    @admin.display(description=_("姓名"))
    def masked_name(self, obj):
        return obj.masked_name

    @admin.display(description=_("手机号"))
    def masked_phone(self, obj):
        return obj.masked_phone


@admin.register(Binding)
class BindingAdmin(PhoneSearchMixin, ReadOnlyAdmin):
    phone_hash_lookup = "citizen__phone_hash"
    list_display = ["citizen", "provider", "external_user_id", "bound_at", "unbound_at"]
    list_filter = ["provider", ("unbound_at", admin.EmptyFieldListFilter)]
    list_select_related = ["citizen", "provider"]
    search_fields = ["external_user_id", "citizen__public_id"]
    ordering = ["-bound_at"]


@admin.register(Consent)
class ConsentAdmin(PhoneSearchMixin, ReadOnlyAdmin):
    phone_hash_lookup = "citizen__phone_hash"
    list_display = ["citizen", "scenario", "effective_from", "granted_at", "revoked_at"]
    list_filter = ["scenario", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["citizen", "scenario"]
    search_fields = ["citizen__public_id"]
    ordering = ["-granted_at"]


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    """Staff logins only (citizens are managed as citizens); personal name and e-mail stay unused."""

    list_display = ["username", "role", "organisation", "is_staff", "is_superuser", "is_active", "last_login"]
    list_filter = ["role", "organisation__kind", "is_staff", "is_superuser", "is_active"]
    list_select_related = ["organisation"]
    search_fields = ["username", "organisation__name"]
    autocomplete_fields = ["organisation"]
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("角色与组织"), {"fields": ["role", "organisation"]}),
        (_("权限"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        (_("时间"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"],
                "fields": [*UserAdmin.add_fieldsets[0][1]["fields"], "role", "organisation"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(citizen__isnull=True)

    def save_model(self, request, obj, form, change):
        """A change of role, organisation or permissions is audited as such, besides the admin's log."""
        super().save_model(request, obj, form, change)
        if changed := [name for name in ROLE_FIELDS if name in form.changed_data]:
            record(AuditEvent.Action.ROLE_CHANGE, actor=request.user, target="people.user", object_id=obj.pk,
                   detail={"fields": changed, "role": obj.role, "is_staff": obj.is_staff,
                           "is_superuser": obj.is_superuser, "is_active": obj.is_active})

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role":
            kwargs["choices"] = [choice for choice in User.Role.choices if choice[0] != User.Role.CITIZEN]
        return super().formfield_for_choice_field(db_field, request, **kwargs)


class StaffInline(ReadOnlyMixin, admin.TabularInline):
    model = User
    fields = readonly_fields = ["username", "role", "is_active", "last_login"]
    verbose_name = _("工作人员")
    verbose_name_plural = _("工作人员")
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "licence_no", "district"]
    list_filter = ["kind", "district"]
    list_select_related = ["district"]
    search_fields = ["name", "licence_no"]
    inlines = [StaffInline]


class CommunityInline(admin.TabularInline):
    model = Community
    extra = 1


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]
    inlines = [CommunityInline]


@admin.register(Community)
class CommunityAdmin(admin.ModelAdmin):
    list_display = ["name", "district"]
    list_filter = ["district"]
    list_select_related = ["district"]
    search_fields = ["name", "district__name"]


@admin.register(LoginLock)
class LoginLockAdmin(PhoneSearchMixin, ReadOnlyAdmin):
    """Logins locked after repeated failures. The phone number or username typed is kept only as its
    keyed hash: type the full number (or find the staff user) to see its lock."""

    phone_hash_lookup = "subject_hash"
    list_display = ["kind", "user", "failures", "first_failure_at", "locked_until"]
    list_filter = ["kind"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    search_help_text = _("输入完整手机号或工作人员用户名")
    fields = ["kind", "user", "failures", "first_failure_at", "locked_until"]
    actions = ["unlock"]

    def has_unlock_permission(self, request):
        return request.user.has_role(User.Role.ADMIN)

    @admin.action(description=_("解除锁定（记入审计日志）"), permissions=["unlock"])
    def unlock(self, request, queryset):
        locks = list(queryset)
        for lock in locks:
            guards.unlock(lock, request.user)
        self.message_user(request, _("已解除 %(n)d 个登录锁定。")
                          % {"n": len(locks)}, messages.SUCCESS)
