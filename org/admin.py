"""The organisation in the Django admin: every save and delete goes through org.services.

Rights follow roles, not Django's per-model permissions: admins edit (an admin at a unit only
its subtree), auditors look. Everyone else is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import models
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from minsheng.errors import Forbidden
from org import services
from org.models import CalendarOverride, Category, DeadlineRule, Grid, RoleAssignment, Unit
from org.roles import Role, has_role, units_for

# FKs to the user model: autocomplete when the user admin supports search, raw ids otherwise
# (the user admin belongs to the accounts app and may not be registered yet).
_USER_FKS = ("user", "leader", "worker", "granted_by")


def _user_admin_searchable() -> bool:
    user_admin = admin.site._registry.get(get_user_model())
    return bool(user_admin and user_admin.search_fields)


def _is_city_admin(user: Any) -> bool:
    if getattr(user, "is_superuser", False):
        return True
    return (
        has_role(user, Role.ADMIN)
        and units_for(user, Role.ADMIN).filter(parent__isnull=True).exists()
    )


@contextmanager
def _refused_as_403() -> Iterator[None]:
    """The services refuse with a ServiceError; the admin shows Django's 403 page for it."""
    try:
        yield
    except Forbidden as exc:
        raise PermissionDenied(str(exc.message)) from exc


class RoleRights:
    """Admins may change, auditors may view (for model admins and inlines alike).

    ``city_wide`` models (categories, deadlines, the calendar) need an admin at a root unit;
    the others an admin at or above the object's unit.
    """

    city_wide = False

    def _unit_for(self, obj: Any) -> Unit | None:
        return None

    def has_module_permission(self, request: HttpRequest) -> bool:
        return has_role(request.user, Role.ADMIN, Role.AUDITOR)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_role(request.user, Role.ADMIN, Role.AUDITOR)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        if self.city_wide:
            return _is_city_admin(request.user)
        return has_role(request.user, Role.ADMIN)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if self.city_wide:
            return _is_city_admin(request.user)
        unit = self._unit_for(obj) if obj is not None else None
        return has_role(request.user, Role.ADMIN, unit=unit)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_change_permission(request, obj)


class RoleScopedAdmin(RoleRights, admin.ModelAdmin):
    """Saves and deletes go through the services, which check rights again and audit."""

    def get_autocomplete_fields(self, request: HttpRequest) -> tuple[str, ...]:
        fields = tuple(super().get_autocomplete_fields(request))
        if _user_admin_searchable():
            fields += tuple(f for f in self.raw_id_fields if f in _USER_FKS)
        return fields

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        with _refused_as_403():
            services.save(request.user, obj, request=request)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with _refused_as_403():
            services.delete(request.user, obj, request=request)

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> None:
        with _refused_as_403():
            for obj in queryset:
                services.delete(request.user, obj, request=request)


class AuditedInlineMixin(RoleRights):
    """Inline rows saved and deleted through the services, so they reach the audit trail."""

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)  # type: ignore[misc]

        class AuditedFormSet(formset):  # type: ignore[misc,valid-type]
            def save_new(self, form: ModelForm, commit: bool = True) -> Any:
                instance = super().save_new(form, commit=False)
                if commit:
                    if isinstance(instance, RoleAssignment) and instance.granted_by_id is None:
                        instance.granted_by = cast(Any, request.user)
                    with _refused_as_403():
                        services.save(request.user, instance, request=request)
                return instance

            def save_existing(self, form: ModelForm, obj: Any, commit: bool = True) -> Any:
                instance = super().save_existing(form, obj, commit=False)
                if commit:
                    with _refused_as_403():
                        services.save(request.user, instance, request=request)
                return instance

            def delete_existing(self, obj: Any, commit: bool = True) -> None:
                if commit:
                    with _refused_as_403():
                        services.delete(request.user, obj, request=request)

        return AuditedFormSet


class RoleAssignmentInline(AuditedInlineMixin, admin.TabularInline):
    model = RoleAssignment
    extra = 0
    fields = ("user", "role", "granted_by", "created")
    readonly_fields = ("granted_by", "created")
    raw_id_fields = ("user",)
    verbose_name = _("角色授权")
    verbose_name_plural = _("本单位的角色授权")

    def _unit_for(self, obj: Any) -> Unit | None:
        return obj if isinstance(obj, Unit) else None


class UserRoleAssignmentInline(AuditedInlineMixin, admin.TabularInline):
    """For the user admin (accounts app): the person's roles, edited in place and audited.

    Attach with ``inlines = [UserRoleAssignmentInline]`` on the user's ModelAdmin.
    """

    model = RoleAssignment
    fk_name = "user"
    extra = 0
    fields = ("role", "unit", "granted_by", "created")
    readonly_fields = ("granted_by", "created")
    autocomplete_fields = ("unit",)
    verbose_name = _("角色授权")
    verbose_name_plural = _("角色授权")

    def _unit_for(self, obj: Any) -> Unit | None:
        # The parent object is a user, not a unit: rights are checked per row by the services.
        return None


class GridInline(AuditedInlineMixin, admin.TabularInline):
    model = Grid
    extra = 0
    fields = ("code", "name", "worker", "households", "active")
    raw_id_fields = ("worker",)
    show_change_link = True

    def _unit_for(self, obj: Any) -> Unit | None:
        return obj if isinstance(obj, Unit) else None


class ChildUnitInline(RoleRights, admin.TabularInline):
    model = Unit
    fk_name = "parent"
    extra = 0
    fields = ("code", "name", "kind", "active")
    readonly_fields = ("code", "name", "kind", "active")
    show_change_link = True
    can_delete = False
    verbose_name_plural = _("下级单位")

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Unit)
class UnitAdmin(RoleScopedAdmin):
    list_display = ("indented_name", "code", "kind", "leader", "active")
    list_filter = ("kind", "active")
    search_fields = ("name", "short_name", "code")
    autocomplete_fields = ("parent",)
    raw_id_fields = ("leader",)
    readonly_fields = ("path", "depth", "created", "updated")
    list_select_related = ("leader",)
    fieldsets = (
        (None, {"fields": ("name", "short_name", "code", "kind", "parent", "leader", "active")}),
        (_("联系方式"), {"fields": ("phone", "address", "sort_order")}),
        (_("系统"), {"fields": ("path", "depth", "created", "updated"), "classes": ("collapse",)}),
    )
    inlines = (ChildUnitInline, RoleAssignmentInline)

    def _unit_for(self, obj: Any) -> Unit | None:
        return obj if isinstance(obj, Unit) else None

    def get_inlines(self, request: HttpRequest, obj: Any) -> list[Any]:
        inlines: list[Any] = list(super().get_inlines(request, obj))
        if obj is not None and obj.kind == Unit.Kind.COMMUNITY:
            inlines.append(GridInline)
        return inlines

    @admin.display(description=_("名称"), ordering="path")
    def indented_name(self, obj: Unit) -> str:
        return "　" * obj.depth + obj.name


@admin.register(Grid)
class GridAdmin(RoleScopedAdmin):
    list_display = ("name", "code", "community", "worker", "households", "active")
    list_filter = ("active", "community__parent")
    search_fields = ("name", "code", "community__name")
    autocomplete_fields = ("community",)
    raw_id_fields = ("worker",)
    list_select_related = ("community", "worker")

    def _unit_for(self, obj: Any) -> Unit | None:
        return obj.community if isinstance(obj, Grid) else None


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(RoleScopedAdmin):
    list_display = ("user", "role", "unit", "granted_by", "created")
    list_filter = ("role", "unit__kind")
    search_fields = ("user__username", "user__display_name", "unit__name", "unit__code")
    autocomplete_fields = ("unit",)
    raw_id_fields = ("user",)
    readonly_fields = ("granted_by", "created")
    list_select_related = ("user", "unit", "granted_by")

    def _unit_for(self, obj: Any) -> Unit | None:
        return obj.unit if isinstance(obj, RoleAssignment) else None

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        if obj.granted_by_id is None:
            obj.granted_by = request.user
        super().save_model(request, obj, form, change)


class DeadlineRuleInline(AuditedInlineMixin, admin.StackedInline):
    model = DeadlineRule
    city_wide = True
    extra = 0
    max_num = 1
    fields = (
        ("sign_amount", "sign_unit"),
        ("handle_amount", "handle_unit"),
        ("reply_amount", "reply_unit"),
        ("warn_amount", "warn_unit"),
        "petition",
        "legal_basis",
    )


@admin.register(Category)
class CategoryAdmin(RoleScopedAdmin):
    city_wide = True
    list_display = ("__str__", "code", "responsible_unit", "rule_summary", "active")
    list_filter = ("active", "parent", "deadline_rule__petition")
    search_fields = ("name", "code", "parent__name")
    autocomplete_fields = ("parent", "responsible_unit")
    list_select_related = ("parent", "responsible_unit", "deadline_rule")
    inlines = (DeadlineRuleInline,)

    @admin.display(description=_("时限"))
    def rule_summary(self, obj: Category) -> str:
        try:
            return obj.deadline_rule.summary()
        except DeadlineRule.DoesNotExist:
            return "—"


@admin.register(DeadlineRule)
class DeadlineRuleAdmin(RoleScopedAdmin):
    city_wide = True
    list_display = ("category", "sign_amount", "handle_amount", "reply_amount", "petition")
    list_filter = ("petition", "handle_unit")
    search_fields = ("category__name", "category__code")
    autocomplete_fields = ("category",)
    list_select_related = ("category", "category__parent")


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(RoleScopedAdmin):
    city_wide = True
    list_display = ("date", "is_workday", "name", "note")
    list_filter = ("is_workday",)
    search_fields = ("name", "note")
    date_hierarchy = "date"
