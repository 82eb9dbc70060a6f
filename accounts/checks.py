"""Deploy checks: a production site must not print citizens' sign-in codes to a console or file."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

DEVELOPMENT_BACKENDS = {
    "accounts.sms.ConsoleBackend",
    "accounts.sms.FileBackend",
    "accounts.sms.ConsoleAndFileBackend",
}


@register(Tags.security, deploy=True)
def sms_backend_is_a_gateway_in_production(app_configs: Any, **kwargs: Any) -> list[Error]:
    if not settings.PRODUCTION or settings.SMS_BACKEND not in DEVELOPMENT_BACKENDS:
        return []
    return [
        Error(
            f"MINSHENG_SMS_BACKEND is {settings.SMS_BACKEND}, which writes sign-in codes and "
            "phone numbers to the console or a file.",
            hint="Set MINSHENG_SMS_BACKEND=accounts.sms.HttpGatewayBackend and "
            "MINSHENG_SMS_GATEWAY_URL / MINSHENG_SMS_GATEWAY_API_KEY.",
            id="accounts.E001",
        )
    ]


@register(Tags.security, deploy=True)
def sms_gateway_is_configured(app_configs: Any, **kwargs: Any) -> list[Error]:
    if settings.SMS_BACKEND == "accounts.sms.HttpGatewayBackend" and not settings.SMS_GATEWAY_URL:
        return [
            Error(
                "the HTTP SMS gateway has no URL",
                hint="set MINSHENG_SMS_GATEWAY_URL",
                id="accounts.E002",
            )
        ]
    return []
