from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SynthConfig(AppConfig):
    name = "tanhui.synth"
    verbose_name = _("合成城市")
