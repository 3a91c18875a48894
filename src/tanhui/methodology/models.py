"""Methodologies, their versions and emission factors: data, not code.

A scenario (metro, bus, …) is computed by one methodology; what is computed for a record depends
on the methodology version and the factor version effective on the record's local date. Both are
kept on every reduction, and a version that has credited anything can no longer be edited:
administrators publish a new version with a later effective date instead.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class Methodology(models.Model):
    code = models.SlugField(_("代码"), unique=True)
    name = models.CharField(_("名称"), max_length=200)
    basis = models.TextField(_("依据"), help_text=_("发布机构、文件名称与日期"))

    class Meta:
        verbose_name = _("方法学")
        verbose_name_plural = _("方法学")

    def __str__(self):
        return f"{self.name} ({self.code})"


class EmissionFactor(models.Model):
    code = models.SlugField(_("代码"), unique=True)
    name = models.CharField(_("名称"), max_length=200)
    unit = models.CharField(_("单位"), max_length=50)

    class Meta:
        verbose_name = _("排放因子")
        verbose_name_plural = _("排放因子")

    def __str__(self):
        return f"{self.name} [{self.unit}]"


class Scenario(models.Model):
    """A kind of low-carbon behaviour a citizen can authorise (场景授权) and providers can report."""

    class Kind(models.TextChoices):
        TRIP = "trip", _("出行")
        HOUSEHOLD = "household", _("居家")

    code = models.SlugField(_("代码"), unique=True)
    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    methodology = models.ForeignKey(Methodology, on_delete=models.PROTECT, related_name="scenarios")
    factor = models.ForeignKey(EmissionFactor, on_delete=models.PROTECT, related_name="scenarios")
    description = models.TextField(_("数据用途说明"), blank=True,
                                   help_text=_("向市民说明授权后平台如何使用其数据"))

    class Meta:
        verbose_name = _("场景")
        verbose_name_plural = _("场景")
        ordering = ["id"]

    def __str__(self):
        return f"{self.name} ({self.code})"


class LockedWhenUsed(models.Model):
    """A version row that can no longer change once a reduction refers to it."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk and self.is_used():
            raise ValidationError(_("该版本已用于核算减排量，不能修改；请发布新版本。"))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.is_used():
            raise ValidationError(_("该版本已用于核算减排量，不能删除。"))
        return super().delete(*args, **kwargs)

    def is_used(self) -> bool:
        raise NotImplementedError


class MethodologyVersion(LockedWhenUsed):
    methodology = models.ForeignKey(Methodology, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("版本号"))
    valid_from = models.DateField(_("生效日期"))
    parameters = models.JSONField(_("参数"), help_text=_("按场景代码给出的参数，数值以字符串表示的十进制数"))
    notes = models.TextField(_("说明"), blank=True)
    published_at = models.DateTimeField(_("发布时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("方法学版本")
        verbose_name_plural = _("方法学版本")
        constraints = [
            models.UniqueConstraint(fields=["methodology", "number"], name="methodology_version_number"),
            models.UniqueConstraint(fields=["methodology", "valid_from"], name="methodology_version_from"),
        ]
        ordering = ["methodology", "valid_from"]

    def __str__(self):
        return f"{self.methodology.code} v{self.number} (≥ {self.valid_from})"

    def is_used(self) -> bool:
        return self.reductions.exists()


class FactorVersion(LockedWhenUsed):
    factor = models.ForeignKey(EmissionFactor, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("版本号"))
    valid_from = models.DateField(_("生效日期"))
    value = models.DecimalField(_("数值"), max_digits=20, decimal_places=6)
    source = models.TextField(_("来源"))
    published_at = models.DateTimeField(_("发布时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("排放因子版本")
        verbose_name_plural = _("排放因子版本")
        constraints = [
            models.UniqueConstraint(fields=["factor", "number"], name="factor_version_number"),
            models.UniqueConstraint(fields=["factor", "valid_from"], name="factor_version_from"),
        ]
        ordering = ["factor", "valid_from"]

    def __str__(self):
        return f"{self.factor.code} v{self.number} = {self.value} {self.factor.unit} (≥ {self.valid_from})"

    def is_used(self) -> bool:
        return self.reductions.exists()
