"""Open311 clients in the Django admin: list, add (the key is shown once), revoke."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from open311 import services
from open311.models import Open311Client, Open311Request


class ClientAddForm(forms.ModelForm):
    key = forms.CharField(
        label=_("API 密钥"),
        required=False,
        min_length=services.KEY_MIN,
        max_length=services.KEY_MAX,
        strip=True,
        help_text=_("留空则自动生成；保存后只显示这一次。"),
    )

    class Meta:
        model = Open311Client
        fields = ("name", "jurisdiction")

    def clean_key(self) -> str:
        key = str(self.cleaned_data.get("key") or "")
        if any(ch.isspace() for ch in key):
            raise forms.ValidationError(_("密钥不能含空白。"))
        if key and Open311Client.objects.filter(key_hash=services.key_hash(key)).exists():
            raise forms.ValidationError(_("该密钥已被另一个客户端使用，请换一个。"))
        return key


@admin.register(Open311Client)
class Open311ClientAdmin(admin.ModelAdmin):
    list_display = ("name", "jurisdiction", "active", "created", "last_used")
    list_filter = ("active",)
    search_fields = ("name",)
    readonly_fields = ("name", "jurisdiction", "active", "created", "last_used")
    actions = ("revoke",)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = ClientAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ("name", "jurisdiction", "key")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A key is never edited: revoke it and add a new client.
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        data = form.cleaned_data
        # The form checked the name, the key's length and that it is free; the service checks
        # again inside its transaction.
        client, key = services.do_create_client(
            data["name"],
            key=data.get("key") or None,
            jurisdiction=data.get("jurisdiction") or "",
            actor=request.user,
            request=request,
        )
        obj.pk, obj.key_hash, obj.created = client.pk, client.key_hash, client.created
        self.message_user(
            request,
            _("客户端“%(name)s”的 API 密钥（只显示这一次，请立即转交）：%(key)s")
            % {"name": client.name, "key": key},
            messages.WARNING,
        )

    @admin.action(description=_("吊销所选客户端的密钥"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[Open311Client]) -> None:
        done = sum(
            services.do_revoke_client(c, actor=request.user, request=request) for c in queryset
        )
        self.message_user(request, _("已吊销 %(n)d 个客户端。") % {"n": done}, messages.SUCCESS)


@admin.register(Open311Request)
class Open311RequestAdmin(admin.ModelAdmin):
    list_display = ("appeal", "client", "created")
    list_filter = ("client",)
    search_fields = ("appeal__code",)
    # The e-mail stays in the vault: the admin list is not a place to read personal data.
    fields = ("appeal", "client", "media_url", "address_id", "device_id", "account_id", "created")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
