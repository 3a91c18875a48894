from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "tanhui.people"
    verbose_name = "用户与授权"
