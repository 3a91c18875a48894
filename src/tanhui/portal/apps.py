from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    """The portal shell (navigation by role) and the citizen, provider and administrator pages."""

    name = "tanhui.portal"
    verbose_name = _("门户")

    def ready(self):
        from tanhui.portal import audit  # noqa: F401 — connects the audit receivers
