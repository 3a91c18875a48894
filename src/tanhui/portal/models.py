"""The audit log of sensitive look-ups made through the portal."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """Who looked at whose personal data, and when. Written by the view that shows the data, never
    edited afterwards. A look-up that found nobody keeps only the keyed hash of the number asked
    for, so an auditor can check a number without the log storing it."""

    class Action(models.TextChoices):
        CITIZEN_LOOKUP = "citizen_lookup", _("按手机号查询市民")

    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("操作人"))
    action = models.CharField(_("操作"), max_length=30, choices=Action.choices)
    citizen = models.ForeignKey("people.Citizen", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+", verbose_name=_("被查询市民"))
    query_hash = models.CharField(_("查询号码哈希"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        ordering = ["-at"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action}"
