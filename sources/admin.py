"""Admin for 舆情 sources: configure them, poll now, upload an export; read the fetch log and the
raw items (both read-only: they record what happened)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from minsheng.errors import ServiceError
from sources import services
from sources.models import FetchLog, Kind, RawItem, Source
from sources.plugins.imports import MAX_FILE_BYTES


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("导出文件（JSONL 或 CSV）"),
        help_text=gettext_lazy("每行一条；有问题的行会列出行号并跳过，其余照常导入。"),
    )


class SourceForm(forms.ModelForm):
    url = forms.URLField(
        label=gettext_lazy("地址"), max_length=1000, required=False, assume_scheme="https"
    )

    class Meta:
        model = Source
        fields = (
            "name",
            "title",
            "kind",
            "enabled",
            "interval",
            "url",
            "article_pattern",
            "max_articles",
            "path",
            "file_format",
            "field_map",
            "partner",
            "next_poll_at",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if kind in {Kind.FEED, Kind.PAGE, Kind.SECTION} and not data.get("url"):
            self.add_error("url", _("此类来源必须填写地址。"))
        if kind == Kind.SECTION:
            pattern = data.get("article_pattern") or ""
            if not pattern:
                self.add_error("article_pattern", _("网站栏目必须填写文章链接规则。"))
            else:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    self.add_error("article_pattern", _("不是有效的正则表达式：%(e)s") % {"e": exc})
        if kind == Kind.PUSH and not data.get("partner"):
            self.add_error("partner", _("推送类来源必须指定推送方账号。"))
        if not isinstance(data.get("field_map") or {}, dict):
            self.add_error("field_map", _("字段对应应为 JSON 对象。"))
        return data


class FetchLogInline(admin.TabularInline):
    model = FetchLog
    extra = 0
    max_num = 0
    can_delete = False
    fields = (
        "started_at",
        "trigger",
        "status",
        "items_found",
        "items_new",
        "error_reason",
        "error_message",
    )
    readonly_fields = fields
    ordering = ("-started_at",)
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[FetchLog]:
        return super().get_queryset(request).order_by("-started_at")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "title",
        "kind",
        "enabled",
        "interval",
        "next_poll_at",
        "failures",
        "last_ok_at",
        "short_error",
    )
    list_filter = ("kind", "enabled")
    search_fields = ("name", "title", "url")
    form = SourceForm
    readonly_fields = (
        "failures",
        "last_polled_at",
        "last_ok_at",
        "last_error",
        "state",
        "import_link",
    )
    raw_id_fields = ("partner",)
    actions = ("poll_selected",)
    inlines = (FetchLogInline,)

    @admin.display(description=gettext_lazy("最近错误"))
    def short_error(self, obj: Source) -> str:
        return obj.last_error[:80]

    @admin.display(description=gettext_lazy("上传导出文件"))
    def import_link(self, obj: Source) -> str:
        if obj.pk is None or obj.kind != Kind.IMPORT:
            return "-"
        url = reverse("admin:sources_source_import", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("上传 JSONL/CSV 文件导入"))

    def save_model(self, request: HttpRequest, obj: Source, form: Any, change: bool) -> None:
        # SourceForm has checked what save_source would refuse.
        services.save_source(request.user, obj, changed=form.changed_data if change else ())

    @admin.action(description=gettext_lazy("立即抓取所选来源"))
    def poll_selected(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        logs = services.poll_now(request.user, queryset)
        for fetch_log in logs:
            level = (
                messages.ERROR if fetch_log.status == FetchLog.Status.ERROR else messages.SUCCESS
            )
            text = _("%(name)s：%(status)s，新条目 %(new)d 条") % {
                "name": fetch_log.source.name,
                "status": fetch_log.get_status_display(),
                "new": fetch_log.items_new,
            }
            if fetch_log.error_message and fetch_log.status == FetchLog.Status.ERROR:
                text += f"（{fetch_log.error_reason}: {fetch_log.error_message}）"
            self.message_user(request, text, level)
        skipped = queryset.count() - len(logs)
        if skipped:
            self.message_user(
                request,
                _("%(n)d 个来源未抓取（推送类、无文件路径的导入类，或正被其他进程抓取）")
                % {"n": skipped},
                messages.WARNING,
            )

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path(
                "<int:pk>/import/",
                self.admin_site.admin_view(self.import_view),
                name="sources_source_import",
            )
        ]
        return extra + super().get_urls()

    def import_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        source = get_object_or_404(Source, pk=pk)
        form = ImportForm(request.POST or None, request.FILES or None)
        status = 200
        fetch_log: FetchLog | None = None
        if request.method == "POST":
            if form.is_valid():
                upload = form.cleaned_data["file"]
                if upload.size > MAX_FILE_BYTES:
                    form.add_error("file", _("文件太大。"))
                    status = 400
                else:
                    try:
                        fetch_log = services.import_data(
                            request.user, source, upload.read(), name=upload.name or "upload"
                        )
                    except ServiceError as exc:
                        form.add_error(None, str(exc.message))
                        status = 400
                    else:
                        if not fetch_log.problems:
                            messages.success(
                                request,
                                _("已导入 %(found)d 条，其中新条目 %(new)d 条。")
                                % {"found": fetch_log.items_found, "new": fetch_log.items_new},
                            )
                            return HttpResponseRedirect(
                                reverse("admin:sources_source_change", args=[source.pk])
                            )
            else:
                status = 400
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("导入到来源 %(name)s") % {"name": source.name},
            "source": source,
            "form": form,
            "fetch_log": fetch_log,
        }
        return TemplateResponse(request, "admin/sources/source/import.html", context, status=status)


@admin.register(FetchLog)
class FetchLogAdmin(admin.ModelAdmin):
    list_display = (
        "started_at",
        "source",
        "trigger",
        "status",
        "http_status",
        "items_found",
        "items_new",
        "error_reason",
        "error_message",
    )
    list_filter = ("status", "trigger", "error_reason", "source")
    search_fields = ("source__name", "error_message")
    date_hierarchy = "started_at"
    list_select_related = ("source",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in FetchLog._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RawItem)
class RawItemAdmin(admin.ModelAdmin):
    list_display = (
        "item_id",
        "source",
        "fetched_at",
        "ingested",
        "ingest_attempts",
        "ingest_error",
    )
    list_filter = ("ingested", "source")
    search_fields = ("item_id",)
    list_select_related = ("source",)
    date_hierarchy = "fetched_at"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in RawItem._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
