from decimal import Decimal

from django import template
from django.urls import reverse

from tanhui.core.units import MG_PER_TONNE
from tanhui.portal.nav import items_for

register = template.Library()

MG_PER_KG = 1_000_000


@register.inclusion_tag("portal/nav.html", takes_context=True)
def portal_nav(context):
    request = context["request"]
    links = [(item.label, reverse(item.url_name)) for item in items_for(request.user)]
    return {"links": links, "path": request.path}


def _scaled(mg, per: int, places: int) -> str:
    """Exact decimal display of integer milligrams (no float rounding)."""
    if mg in (None, ""):
        mg = 0
    value = (Decimal(int(mg)) / per).quantize(Decimal(1).scaleb(-places))
    return f"{value:,}"


@register.filter
def thousands(n) -> str:
    """12345 → "12,345"."""
    return f"{int(n or 0):,}"


@register.filter
def kg(mg) -> str:
    """Milligrams CO2e as kilograms with three decimals: 1234567 → "1.235"."""
    return _scaled(mg, MG_PER_KG, 3)


@register.filter
def tonnes(mg) -> str:
    """Milligrams CO2e as tonnes with two decimals."""
    return _scaled(mg, MG_PER_TONNE, 2)
