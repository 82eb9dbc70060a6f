"""Admin for people and tokens. Phones appear masked only; token secrets never appear."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.models import ApiToken, User
from minsheng.errors import ServiceError
from org.admin import UserRoleAssignmentInline
from vault.crypto import mask_phone


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    inlines = (UserRoleAssignmentInline,)
    list_display = (
        "username",
        "display_name",
        "kind",
        "masked_phone",
        "is_active",
        "is_locked_now",
    )
    list_filter = ("kind", "is_active", "is_staff", "is_superuser", "totp_enabled")
    search_fields = ("username", "display_name", "email")
    readonly_fields = (
        "masked_phone",
        "failed_logins",
        "last_failed_login",
        "totp_enabled",
        "last_login",
        "date_joined",
    )
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("个人信息"), {"fields": ("display_name", "kind", "masked_phone", "email")}),
        (
            _("登录安全"),
            {"fields": ("locked_until", "failed_logins", "last_failed_login", "totp_enabled")},
        ),
        (
            _("权限"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("重要日期"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "display_name", "kind", "password1", "password2"),
            },
        ),
    )
    actions = ("unlock",)

    @admin.display(description=_("手机号"))
    def masked_phone(self, obj: User) -> str:
        return mask_phone(obj.phone) if obj.phone else "—"

    @admin.display(description=_("已锁定"), boolean=True)
    def is_locked_now(self, obj: User) -> bool:
        return obj.is_locked()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[User], search_term: str
    ) -> tuple[QuerySet[User], bool]:
        # A full phone number is found through its blind index; the plaintext is never queried.
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            phone = services.normalise_phone(search_term)
        except ServiceError:
            return results, may_have_duplicates
        return results | queryset.filter(phone_hash=services.phone_index(phone)), True

    @admin.action(description=_("解除所选账户的登录锁定"))
    def unlock(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        from audit.services import record

        count = 0
        for user in queryset.filter(locked_until__gt=timezone.now()):
            with transaction.atomic():
                User.objects.filter(pk=user.pk).update(
                    locked_until=None, failed_logins=0, last_failed_login=None
                )
                record(request.user, "auth.unlock", user, request=request)
            count += 1
        self.message_user(
            request, _("已解除 %(n)d 个账户的锁定。") % {"n": count}, messages.SUCCESS
        )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "prefix",
        "user",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__username")
    fields = (
        "user",
        "name",
        "prefix",
        "scopes",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    readonly_fields = fields
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Created on the tokens page or with `minsheng token create`, where the secret is shown once.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("吊销所选令牌"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        done = sum(services.revoke_token(t, actor=request.user, request=request) for t in queryset)
        self.message_user(request, _("已吊销 %(n)d 个令牌。") % {"n": done}, messages.SUCCESS)
