"""Admin for the segmenter's dictionary: add, edit, switch off and import words.

Every change is audited; a saved change reaches every process's segmenter within seconds
(lexicon.services).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _

from audit.services import diff, record
from lexicon import services
from lexicon.models import Word

FILE_LIMIT = 2 * 1024 * 1024


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("词典文件"),
        help_text=_("UTF-8 文本，每行一个词：词语 [词频] [词性]，与 jieba 用户词典格式相同"),
    )

    def clean_file(self) -> list[str]:
        upload = self.cleaned_data["file"]
        if upload.size > FILE_LIMIT:
            raise forms.ValidationError(_("文件不能超过 2 MB"))
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(_("文件不是 UTF-8 编码的文本")) from exc
        return text.splitlines()


@admin.register(Word)
class WordAdmin(admin.ModelAdmin):
    list_display = ("word", "freq", "tag", "active", "note", "added_by", "updated")
    list_filter = ("active", "tag")
    search_fields = ("word", "note")
    readonly_fields = ("added_by", "created", "updated")
    actions = ("switch_off",)
    change_list_template = "admin/lexicon/word/change_list.html"

    @transaction.atomic
    def save_model(self, request: HttpRequest, obj: Word, form: Any, change: bool) -> None:
        if not change:
            obj.added_by = request.user  # type: ignore[assignment]
        before = {f: form.initial.get(f) for f in form.changed_data} if change else None
        super().save_model(request, obj, form, change)
        after = {f: getattr(obj, f) for f in form.changed_data}
        if before is not None:
            before, after = diff(before, after)
        action = "lexicon.word.change" if change else "lexicon.word.add"
        record(request.user, action, obj, before=before, after=after, request=request)

    @transaction.atomic
    def delete_model(self, request: HttpRequest, obj: Word) -> None:
        record(request.user, "lexicon.word.delete", obj, before={"word": obj.word}, request=request)
        super().delete_model(request, obj)

    @transaction.atomic
    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Word]) -> None:
        for word in queryset:
            record(
                request.user,
                "lexicon.word.delete",
                word,
                before={"word": word.word},
                request=request,
            )
        super().delete_queryset(request, queryset)

    @admin.action(description=_("停用所选词语"))
    def switch_off(self, request: HttpRequest, queryset: QuerySet[Word]) -> None:
        with transaction.atomic():
            for word in queryset.filter(active=True):
                word.active = False
                word.save(update_fields=["active", "updated"])
                record(
                    request.user,
                    "lexicon.word.change",
                    word,
                    before={"active": True},
                    after={"active": False},
                    request=request,
                )

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="lexicon_word_import",
            )
        ]
        return extra + super().get_urls()

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request) or not self.has_change_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        form = ImportForm(request.POST or None, request.FILES or None)
        errors: list[tuple[int, str]] = []
        status = 200
        if request.method == "POST":
            if form.is_valid():
                upload = form.files["file"]
                try:
                    added, updated = services.import_lines(
                        request.user,
                        form.cleaned_data["file"],
                        source=getattr(upload, "name", "") or "",
                    )
                except services.DictionaryFileError as exc:
                    errors = exc.errors
                    status = 400
                else:
                    messages.success(
                        request,
                        _("已导入：新增 %(added)d 个词，更新 %(updated)d 个词")
                        % {"added": added, "updated": updated},
                    )
                    return HttpResponseRedirect(reverse("admin:lexicon_word_changelist"))
            else:
                status = 400
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("导入词典文件"),
            "form": form,
            "errors": errors,
        }
        return TemplateResponse(request, "admin/lexicon/word/import.html", context, status=status)
