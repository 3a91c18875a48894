"""Bar charts as inline SVG, rendered on the server: no script, no CDN, readable without JavaScript."""

from decimal import Decimal

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe


def bars(items: list[tuple[str, Decimal | int | float]], *, title: str, unit: str = "",
         highlight: int | None = None, width: int = 720, height: int = 220, label_every: int = 1) -> SafeString:
    """A vertical bar chart; `highlight` is the index of a bar drawn in the accent colour (a building
    among its peers). Each bar carries a <title> tooltip with its exact value."""
    if not items:
        return format_html('<p class="muted">{}</p>', "暂无数据")
    top = max((float(v) for _, v in items), default=0) or 1
    left, bottom, plot_h = 56, 36, height - 56
    step = (width - left - 8) / len(items)
    heading = escape(f"{title} ({unit})" if unit else title)
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{heading}</title>", f'<text x="{left}" y="14" font-size="12">{heading}</text>']
    for fraction in (0, 0.5, 1):
        y = 20 + plot_h * (1 - fraction)
        parts.append(f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ccd" stroke-width="0.5"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">'
                     f"{top * fraction:,.0f}</text>")
    for i, (label, value) in enumerate(items):
        h = plot_h * float(value) / top
        x = left + i * step
        colour = "#d9822b" if i == highlight else "#1b7a43"
        parts.append(f'<rect x="{x + step * 0.1:.1f}" y="{20 + plot_h - h:.1f}" width="{max(step * 0.8, 1):.1f}" '
                     f'height="{h:.1f}" fill="{colour}"><title>{escape(label)}: {float(value):,.2f} {escape(unit)}'
                     f"</title></rect>")
        if i % label_every == 0:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{height - bottom + 16}" font-size="10" '
                         f'text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every label and title above is escaped
