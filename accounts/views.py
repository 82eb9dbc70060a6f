"""Sign-in pages. Each view parses a form, calls one service, and renders or redirects."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import segno
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts import forms, second_factor, services
from accounts.models import ApiToken, User
from minsheng.errors import RateLimited, ServiceError
from vault import crypto

CITIZEN_PHONE_KEY = "accounts.citizen_phone"
CITIZEN_NEXT_KEY = "accounts.citizen_next"

_View = Callable[..., HttpResponse]


def staff_required(view: _View) -> _View:
    """Signed-in staff only: anonymous → sign-in page, citizens → 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if getattr(request.user, "kind", None) != User.Kind.STAFF:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _safe_next(request: HttpRequest, candidate: str | None, default: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(default)


def _render_error(
    request: HttpRequest, template: str, context: dict[str, Any], exc: ServiceError
) -> HttpResponse:
    """Show a service's message on the page, with the status the API would give."""
    form = context.get("form")
    if isinstance(form, forms.AccessibleForm) and form.is_bound:
        form.add_error(None, str(exc.message))
    else:
        context["page_error"] = exc.message
    status = exc.status if exc.status in (403, 429, 503) else 200
    response = render(request, template, context, status=status)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


# --- staff ------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    template = "accounts/login.html"
    if request.method != "POST":
        return render(request, template, {"form": forms.StaffLoginForm(), "next": next_url})
    form = forms.StaffLoginForm(request.POST)
    context = {"form": form, "next": next_url}
    if not form.is_valid():
        return render(request, template, context)
    try:
        result = services.check_password_sign_in(
            request, form.cleaned_data["username"], form.cleaned_data["password"]
        )
    except ServiceError as exc:
        return _render_error(request, template, context, exc)
    if result.needs_second_factor:
        services.begin_second_factor(request, result.user, next_url)
        return redirect("accounts:login_code")
    services.complete_sign_in(request, result.user, method="password")
    return HttpResponseRedirect(_safe_next(request, next_url, settings.LOGIN_REDIRECT_URL))


@never_cache
@require_http_methods(["GET", "POST"])
def login_code_view(request: HttpRequest) -> HttpResponse:
    pending = services.pending_second_factor(request)
    if pending is None:
        return redirect("accounts:login")
    _user, next_url = pending
    recovery = request.GET.get("recovery") == "1" or request.POST.get("recovery") == "1"
    template = "accounts/login_code.html"
    form = forms.SecondFactorForm(request.POST or None, recovery=recovery)
    context = {"form": form, "recovery": recovery}
    if request.method != "POST" or not form.is_valid():
        return render(request, template, context)
    try:
        services.verify_second_factor(request, form.cleaned_data["code"])
    except ServiceError as exc:
        if services.pending_second_factor(request) is None:
            # Locked or timed out: the password step must be done again.
            login_form = forms.StaffLoginForm()
            return _render_error(
                request, "accounts/login.html", {"form": login_form, "next": next_url}, exc
            )
        return _render_error(request, template, context, exc)
    return HttpResponseRedirect(_safe_next(request, next_url, settings.LOGIN_REDIRECT_URL))


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    was_citizen = getattr(request.user, "kind", None) == User.Kind.CITIZEN
    services.sign_out(request)
    return redirect("portal:home" if was_citizen else "accounts:login")


def _qr_svg(uri: str) -> SafeString:
    # segno writes a self-contained <svg> with no script; the CSP allows inline SVG markup.
    svg = segno.make(uri, error="m").svg_inline(
        scale=5, border=2, title=_("动态口令二维码"), dark="#000", light="#fff"
    )
    return mark_safe(svg)  # noqa: S308 - generated by segno from our own URI, not user markup


@never_cache
@staff_required
@require_http_methods(["GET", "POST"])
def totp_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    template = "accounts/totp.html"
    if user.totp_enabled:
        return _totp_manage(request, user)
    secret = services.totp_secret_for_enrollment(user)
    uri = services.provisioning_uri(user, secret)
    form = forms.TotpConfirmForm(request.POST or None)
    context = {
        "form": form,
        "secret": secret,
        "secret_grouped": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "uri": uri,
        "qr": _qr_svg(uri),
        "required": second_factor.is_required(user),
    }
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.confirm_totp(user, form.cleaned_data["code"], request)
        except ServiceError as exc:
            return _render_error(request, template, context, exc)
        return render(request, "accounts/recovery_codes.html", {"codes": codes, "new": True})
    return render(request, template, context)


def _totp_manage(request: HttpRequest, user: User) -> HttpResponse:
    template = "accounts/totp_manage.html"
    action = request.POST.get("action") if request.method == "POST" else None
    disable_form = forms.TotpDisableForm(request.POST if action == "disable" else None, prefix="d")
    codes_form = forms.RecoveryCodesForm(request.POST if action == "codes" else None, prefix="r")
    context = {
        "disable_form": disable_form,
        "codes_form": codes_form,
        "unused_codes": services.unused_recovery_codes(user),
    }
    try:
        if action == "disable" and disable_form.is_valid():
            context["form"] = disable_form
            services.disable_totp(
                user,
                disable_form.cleaned_data["password"],
                disable_form.cleaned_data["code"],
                request,
            )
            return render(request, "accounts/totp_disabled.html")
        if action == "codes" and codes_form.is_valid():
            context["form"] = codes_form
            if not services.verify_totp(user, codes_form.cleaned_data["code"]):
                raise ServiceError(
                    _("动态口令不正确或已使用过，请输入验证器上的新口令。"), code="totp_invalid"
                )
            codes = services.regenerate_recovery_codes(user, request)
            return render(request, "accounts/recovery_codes.html", {"codes": codes, "new": False})
    except ServiceError as exc:
        return _render_error(request, template, context, exc)
    return render(request, template, context)


# --- citizens ---------------------------------------------------------------------------------


def _session_phone(request: HttpRequest) -> str | None:
    # The phone waits in the session encrypted: session rows are not part of the vault.
    token = request.session.get(CITIZEN_PHONE_KEY)
    if not token:
        return None
    try:
        return crypto.decrypt(token)
    except crypto.VaultError:
        request.session.pop(CITIZEN_PHONE_KEY, None)
        return None


@never_cache
@require_http_methods(["GET", "POST"])
def citizen_view(request: HttpRequest) -> HttpResponse:
    template = "accounts/citizen.html"
    if request.GET.get("next"):
        request.session[CITIZEN_NEXT_KEY] = request.GET["next"]
    action = request.POST.get("action", "") if request.method == "POST" else ""
    phone = _session_phone(request)
    if action == "change":
        request.session.pop(CITIZEN_PHONE_KEY, None)
        return redirect("accounts:citizen")
    if phone is None or action == "send":
        form: forms.AccessibleForm = forms.PhoneForm(request.POST if action == "send" else None)
        context: dict[str, Any] = {"form": form, "step": "phone"}
        if action == "send" and form.is_valid():
            try:
                services.request_phone_code(request, form.cleaned_data["phone"])
            except ServiceError as exc:
                return _render_error(request, template, context, exc)
            normalised = services.normalise_phone(form.cleaned_data["phone"])
            request.session[CITIZEN_PHONE_KEY] = crypto.encrypt(normalised)
            return redirect("accounts:citizen")
        return render(request, template, context)

    form = forms.PhoneCodeForm(request.POST if action == "verify" else None)
    context = {"form": form, "step": "code", "phone_masked": crypto.mask_phone(phone)}
    try:
        if action == "resend":
            services.request_phone_code(request, phone)
            context["resent"] = True
        elif action == "verify" and form.is_valid():
            services.verify_phone_code(request, phone, form.cleaned_data["code"])
            request.session.pop(CITIZEN_PHONE_KEY, None)
            next_url = request.session.pop(CITIZEN_NEXT_KEY, "")
            return HttpResponseRedirect(_safe_next(request, next_url, "portal:home"))
    except ServiceError as exc:
        return _render_error(request, template, context, exc)
    return render(request, template, context)


# --- API tokens -------------------------------------------------------------------------------


@never_cache
@staff_required
@require_http_methods(["GET", "POST"])
def tokens_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    form = forms.TokenCreateForm(request.POST or None)
    context: dict[str, Any] = {"form": form}
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = services.create_token(
                user, form.cleaned_data["name"], days=form.cleaned_data["days"], request=request
            )
        except ServiceError as exc:
            context["tokens"] = ApiToken.objects.filter(user=user)
            return _render_error(request, "accounts/tokens.html", context, exc)
        context |= {"created": token, "secret": secret, "form": forms.TokenCreateForm()}
    context["tokens"] = ApiToken.objects.filter(user=user)
    return render(request, "accounts/tokens.html", context)


@staff_required
@require_POST
def token_revoke_view(request: HttpRequest, prefix: str) -> HttpResponse:
    token = get_object_or_404(ApiToken, prefix=prefix, user=request.user)
    services.revoke_token(token, actor=request.user, request=request)
    return redirect("accounts:tokens")
