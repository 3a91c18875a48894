"""Data providers and the batches of behaviour records they send."""

import hashlib
import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _


def hash_api_key(key: str) -> str:
    """API keys are 256-bit random, so a plain SHA-256 is enough to store them safely."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key(code: str) -> str:
    return f"th_{code}_{secrets.token_urlsafe(32)}"


class Provider(models.Model):
    """A data provider (metro/bus/bike-share operator, power utility) and its API client credential."""

    code = models.SlugField(_("代码"), unique=True)
    name = models.CharField(_("名称"), max_length=200)
    scenarios = models.ManyToManyField("methodology.Scenario", related_name="providers",
                                       verbose_name=_("可报送场景"))
    organisation = models.OneToOneField("people.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="provider")
    api_key_hash = models.CharField(max_length=64, unique=True, editable=False)
    api_key_prefix = models.CharField(_("密钥前缀"), max_length=24, editable=False)
    api_key_rotated_at = models.DateTimeField(auto_now_add=True)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("数据方")
        verbose_name_plural = _("数据方")

    def __str__(self):
        return f"{self.name} ({self.code})"

    def set_new_api_key(self) -> str:
        """Replaces the key; returns the plain key, which is shown once and never stored."""
        key = new_api_key(self.code)
        self.api_key_hash = hash_api_key(key)
        self.api_key_prefix = key[: len(self.code) + 8]
        return key
