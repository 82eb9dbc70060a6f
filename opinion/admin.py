"""The 舆情 desk in the Django admin: gazetteer terms are edited through opinion.services (so
every change is audited, like on the desk's own page); the stream's rows are read-only here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from audit.services import record
from opinion import services
from opinion.models import Alert, AlertRule, Event, GazetteerTerm, Item, ResponseTask


class ReadOnlyAdmin(admin.ModelAdmin):
    """The stream's rows change only through ingest and the desk's services."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(GazetteerTerm)
class GazetteerTermAdmin(admin.ModelAdmin):
    list_display = ("term", "kind", "active", "note", "updated")
    list_filter = ("kind", "active")
    search_fields = ("term",)
    fields = ("term", "kind", "active", "note")

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        if not change:
            rows = services.do_add_terms(request.user, obj.kind, [obj.term], note=obj.note)
            if rows:
                obj.pk = rows[0].pk
            if not obj.active and rows:
                services.do_set_term_active(rows[0], request.user, False)
            return
        before = GazetteerTerm.objects.get(pk=obj.pk)
        changed = {f: getattr(obj, f) for f in form.changed_data}
        obj.save()
        record(
            request.user,
            "opinion.gazetteer_edit",
            obj,
            before={f: getattr(before, f) for f in changed},
            after=changed,
            request=request,
        )
        from opinion import ingest

        ingest.forget_config()

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        record(
            request.user,
            "opinion.gazetteer_delete",
            obj,
            before={"term": obj.term, "kind": obj.kind},
            request=request,
        )
        obj.delete()


@admin.register(AlertRule)
class AlertRuleAdmin(ReadOnlyAdmin):
    list_display = ("version", "created", "created_by", "note")


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("pk", "engine_id", "grade", "status", "size", "first_time", "last_time")
    list_filter = ("status", "grade")


@admin.register(Item)
class ItemAdmin(ReadOnlyAdmin):
    list_display = ("source", "external_id", "time", "relevant", "event")
    list_filter = ("relevant", "source")
    search_fields = ("external_id", "text")


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("pk", "grade", "event", "raised_at", "status")
    list_filter = ("grade", "status")


@admin.register(ResponseTask)
class ResponseTaskAdmin(ReadOnlyAdmin):
    list_display = ("pk", "grade", "event", "analyst", "unit", "state", "due_full")
    list_filter = ("state", "grade")
