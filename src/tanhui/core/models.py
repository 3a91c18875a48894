from django.db import models
from django.utils.translation import gettext_lazy as _


class RateCounter(models.Model):
    """A shared request count of one rate-limit window (tanhui.core.ratelimit) when no Redis cache is
    configured: `key` is the scope, the window and the identity's keyed hash. Rows of ended windows
    are deleted by `tanhui citizens purge` (the worker runs it hourly). On PostgreSQL the table is
    UNLOGGED: counting writes no WAL and waits for no disk flush, and a crash merely empties it."""

    key = models.CharField(max_length=100, primary_key=True)
    count = models.PositiveIntegerField(default=0)
    expires = models.BigIntegerField(db_index=True, help_text=_("窗口结束时间（Unix 秒）"))

    class Meta:
        verbose_name = _("限流计数")
        verbose_name_plural = _("限流计数")

    def __str__(self):
        return f"{self.key}: {self.count}"
