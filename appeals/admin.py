"""Appeals in the Django admin: reply templates are edited here; the cases are only looked at.

Appeals change state through the workbench and the services, never through admin forms, so the
case models are read-only here. Reply templates are saved through ``templates_service`` (rights
and audit): admins over the template's unit edit, auditors look.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.forms import ModelForm
from django.http import HttpRequest

from appeals import templates_service
from appeals.models import Appeal, ReplyTemplate, Review
from minsheng.errors import ServiceError
from org.roles import Role, has_role


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin):
    list_display = ("title", "category", "unit", "active", "sort_order")
    list_filter = ("active", "category")
    search_fields = ("title", "text")
    raw_id_fields = ("unit",)
    ordering = ("category", "unit", "sort_order")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return has_role(request.user, Role.ADMIN, Role.AUDITOR)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_role(request.user, Role.ADMIN, Role.AUDITOR)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return has_role(request.user, Role.ADMIN)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return has_role(request.user, Role.ADMIN)
        return templates_service.may_manage(request.user, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        try:
            templates_service.save_template(request.user, obj, request=request)
        except ServiceError as exc:
            raise PermissionDenied(str(exc.message)) from exc

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        try:
            templates_service.delete_template(request.user, obj, request=request)
        except ServiceError as exc:
            raise PermissionDenied(str(exc.message)) from exc

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)

        class CheckedForm(form):  # type: ignore[misc,valid-type]
            def clean_text(self) -> str:
                from django.core.exceptions import ValidationError

                text = str(self.cleaned_data.get("text", ""))
                try:
                    templates_service.check_placeholders(text)
                except ServiceError as exc:
                    raise ValidationError(str(exc.message)) from None
                return text

        return CheckedForm


class ReadOnlyAdmin(admin.ModelAdmin):
    """Auditors and admins look; every change goes through the services."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return has_role(request.user, Role.ADMIN, Role.AUDITOR)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_role(request.user, Role.ADMIN, Role.AUDITOR)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ("appeal", "kind", "unit", "requested_at", "due", "decided_at", "outcome")
    list_filter = ("kind", "outcome", "overdue")
    raw_id_fields = ("appeal",)


@admin.register(Appeal)
class AppealAdmin(ReadOnlyAdmin):
    # No contact fields here: personal data is read in the workbench, where access is recorded.
    list_display = ("code", "title", "state", "category", "current_unit", "created")
    list_filter = ("state", "channel", "petition")
    search_fields = ("code", "external_ref")
    fields = ("code", "title", "state", "category", "channel", "current_unit", "created")
    readonly_fields = fields
