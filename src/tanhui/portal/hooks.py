"""Optional contributions from other apps: an app that exists and offers a function in a known
module adds to a portal page or the big screen; until then the page simply goes without."""

from importlib import import_module

from django.apps import apps


def collect(app_names, module: str, function: str, *args) -> dict:
    """{app name: `<app>.<module>.<function>(*args)`} for the installed apps that offer it."""
    results = {}
    for app in app_names:
        if not apps.is_installed(app):
            continue
        try:
            offered = import_module(f"{app}.{module}")
        except ModuleNotFoundError:
            continue
        results[app] = getattr(offered, function)(*args)
    return results
