from django import template

register = template.Library()


@register.filter
def units(value) -> str:
    value = float(value or 0)
    return f"{value:,.1f}" if value != int(value) else f"{int(value):,}"


@register.filter
def percent(value) -> str:
    return "—" if value is None else f"{100 * value:.0f} %"


@register.filter
def ms(value) -> str:
    if value is None:
        return "—"
    return "> 1 s" if value == float("inf") else f"≤ {value:g} ms"


@register.filter
def size(value) -> str:
    value = float(value or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return ""


@register.filter
def stat(table, name: str) -> str:
    return f"{int(table.window_total(name)):,}"
