"""Workbench pages for auditors: export a verifiable report, and check one against the trail."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from audit import reports
from minsheng.errors import ServiceError
from org.roles import Role, role_required

auditors_only = role_required(Role.AUDITOR, Role.ADMIN)
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
}


class ReportForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("范围"),
        choices=[("object", _("对象")), ("actor", _("人员")), ("unit", _("单位"))],
    )
    value = forms.CharField(
        label=_("对象、人员账号或单位编码"),
        max_length=200,
        help_text=_("对象写成“类型:编号”，如 appeals.appeal:12；人员写账号；单位写编码。"),
    )
    since = forms.DateField(
        label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    fmt = forms.ChoiceField(label=_("格式"), choices=[("xlsx", "XLSX"), ("html", "HTML")])


class VerifyForm(forms.Form):
    file = forms.FileField(label=_("审计报告文件（XLSX 或 HTML）"))


@auditors_only
@require_http_methods(["GET", "POST"])
def export(request: HttpRequest) -> HttpResponse:
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            scope = reports.resolve_scope(data["kind"], data["value"], data["since"], data["until"])
            report = reports.build_report(request.user, scope, fmt=data["fmt"], request=request)
        except ServiceError as exc:
            form.add_error(None, str(exc.message))
        else:
            response = HttpResponse(
                report.render(data["fmt"]), content_type=CONTENT_TYPES[data["fmt"]]
            )
            response["Content-Disposition"] = (
                f'attachment; filename="{report.filename(data["fmt"])}"'
            )
            return response
    status = 400 if request.method == "POST" else 200
    return render(request, "audit/report_form.html", {"form": form}, status=status)


@auditors_only
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    form = VerifyForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            form.add_error("file", _("文件超过 50 MB。"))
        else:
            try:
                result = reports.verify_report(upload.read(), upload.name or "")
            except ServiceError as exc:
                form.add_error("file", str(exc.message))
    status = 400 if request.method == "POST" and result is None else 200
    return render(
        request, "audit/report_verify.html", {"form": form, "result": result}, status=status
    )
