from django import template

from clinic.context_processors import url_or_none as _url_or_none
from patients.phone import format_phone

register = template.Library()


@register.simple_tag
def url_or_none(name, *args):
    """{% url_or_none "call_detail" call.pk as href %}: the URL, or None while that page does not exist."""
    return _url_or_none(name, *args)


@register.filter
def phone(value):
    """E.164 as staff read it: "+923001234567" -> "0300 1234567"."""
    return format_phone(value or "")
