from django import template

register = template.Library()


@register.filter
def yuan(fen) -> str:
    """Integer fen as yuan with two decimals: 435000 → "4,350.00"."""
    fen = int(fen or 0)
    return f"{fen // 100:,}.{fen % 100:02d}"
