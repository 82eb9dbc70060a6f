"""``{% load vault %}{{ value|mask_phone }}`` and ``{{ value|mask_id }}`` for templates."""

from __future__ import annotations

from django import template

from vault import crypto

register = template.Library()


@register.filter
def mask_phone(value: object) -> str:
    return crypto.mask_phone(str(value)) if value else ""


@register.filter
def mask_id(value: object) -> str:
    return crypto.mask_id_number(str(value)) if value else ""
