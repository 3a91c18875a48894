from django.apps import AppConfig


class SynthConfig(AppConfig):
    name = "tanhui.synth"
    verbose_name = "合成城市"
