"""The audit log of administrator and support actions: citizen look-ups, changes in the Django admin
and the staff pages, role grants, unlocks, account closures, personal data exports, API key rotation.

Events are appended, never changed or deleted (the model refuses it, the admin offers neither).
They name people only by their user and citizen rows, never by phone number or name: a look-up
that found nobody keeps only the keyed hash of the number asked for."""

from contextvars import ContextVar
from dataclasses import dataclass, field

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


@dataclass
class RequestScope:
    """The state-changing request being handled (set by `StaffActionAuditMiddleware`): who makes it,
    and the events written while it is handled."""

    user: object
    events: list[int] = field(default_factory=list)


current_request: ContextVar[RequestScope | None] = ContextVar("current_request", default=None)


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        CITIZEN_LOOKUP = "citizen_lookup", _("按手机号查询市民")
        ADMIN_ADD = "admin_add", _("后台新增")
        ADMIN_CHANGE = "admin_change", _("后台修改")
        ADMIN_DELETE = "admin_delete", _("后台删除")
        ROLE_CHANGE = "role_change", _("角色或权限变更")
        STAFF_ACTION = "staff_action", _("工作人员操作")
        LOGIN_UNLOCK = "login_unlock", _("解除登录锁定")
        ACCOUNT_CLOSE = "account_close", _("注销账户")
        DATA_EXPORT = "data_export", _("导出个人信息")
        API_KEY_ISSUED = "api_key_issued", _("签发或轮换 API 密钥")
        API_KEY_REVOKED = "api_key_revoked", _("吊销 API 密钥")

    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("操作人"), help_text=_("空表示命令行或系统"))
    action = models.CharField(_("操作"), max_length=30, choices=Action.choices, db_index=True)
    citizen = models.ForeignKey("people.Citizen", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+", verbose_name=_("涉及市民"))
    query_hash = models.CharField(_("查询号码哈希"), max_length=64, blank=True)
    target = models.CharField(_("对象"), max_length=100, blank=True,
                              help_text=_("模型（应用.模型）或页面名称"))
    object_id = models.CharField(_("对象编号"), max_length=100, blank=True)
    detail = models.JSONField(_("详情"), default=dict, blank=True,
                              help_text=_("字段名、数量等，不含个人信息"))

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("audit events are never changed")
        super().save(*args, **kwargs)
        if (scope := current_request.get()) is not None:
            scope.events.append(self.pk)

    def delete(self, *args, **kwargs):
        raise ValueError("audit events are never deleted")
