"""Organiser pages: the list, the builder, publishing and closing, results, themes, exports.

Every page needs the organiser (or admin) role; a questionnaire of another unit answers 404.
Each POST calls one service; a refused step comes back as a message on the builder.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from minsheng.errors import ServiceError
from minsheng.spreadsheet import csv_row, xlsx_row
from org.roles import Role, role_required, units_for
from surveys import services
from surveys.forms import (
    QuestionForm,
    SectionForm,
    SettingsForm,
    condition_choices,
    condition_value,
)
from surveys.models import Kind, Question, Questionnaire, Section

organisers = role_required(Role.ORGANISER, Role.ADMIN)


def _managed(request: HttpRequest, pk: int) -> Questionnaire:
    q = get_object_or_404(Questionnaire.objects.select_related("unit"), pk=pk)
    if not services.can_manage(request.user, q):
        raise Http404
    return q


def _units(user: Any) -> Any:
    return units_for(user, Role.ORGANISER) | units_for(user, Role.ADMIN)


def _back(q: Questionnaire, anchor: str = "") -> HttpResponse:
    response = redirect("surveys_wb:edit", pk=q.pk)
    if anchor:
        response["Location"] += f"#{anchor}"
    return response


@organisers
def questionnaire_list(request: HttpRequest) -> HttpResponse:
    found = services.managed_by(request.user).order_by("-created")[:200]
    rows = [
        {"q": q, "responses": services.tallies(q).get((0, "#"), 0) if q.is_frozen else 0}
        for q in found
    ]
    return render(request, "surveys/wb/list.html", {"rows": rows})


@organisers
def create(request: HttpRequest) -> HttpResponse:
    form = SettingsForm(request.POST or None, units=_units(request.user).distinct())
    if request.method == "POST" and form.is_valid():
        try:
            q = services.create_questionnaire(
                request.user, form.cleaned_data["unit"], form.settings()
            )
        except ServiceError as exc:
            form.add_error(None, str(exc.message))
        else:
            messages.success(request, _("问卷已创建，请添加分节和题目。"))
            return _back(q)
    return render(request, "surveys/wb/create.html", {"form": form})


def _section_form(
    q: Questionnaire, structure: services.Structure, section: Section | None
) -> SectionForm:
    before = (
        services.questions_before_section(structure, section)
        if section is not None
        else structure.all_questions()
    )
    initial = (
        {
            "title": section.title,
            "description": section.description,
            "condition": condition_value(section.condition),
        }
        if section is not None
        else {}
    )
    return SectionForm(initial=initial, conditions=condition_choices(structure, before))


@organisers
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    q = _managed(request, pk)
    structure = services.load_structure(q)
    settings_form = SettingsForm(
        initial={
            "title": q.title,
            "description": q.description,
            "audience": q.audience,
            "opens_at": q.opens_at,
            "closes_at": q.closes_at,
            "grids": list(q.grids.all()),
            "communities": list(q.communities.all()),
        }
    )
    sections: list[dict[str, Any]] = [
        {
            "section": s,
            "questions": [
                {"question": x, "number": structure.number_of(x)} for x in structure.questions[s.pk]
            ],
            "condition": _describe_condition(structure, s.condition),
        }
        for s in structure.sections
    ]
    for block in sections:
        for item in block["questions"]:
            item["condition"] = _describe_condition(structure, item["question"].condition)
    context = {
        "q": q,
        "settings_form": settings_form,
        "sections": sections,
        "new_section": _section_form(q, structure, None),
        "kinds": Kind.choices,
        "problems": services.validate_structure(q) if not q.is_frozen else [],
    }
    return render(request, "surveys/wb/edit.html", context)


def _describe_condition(structure: services.Structure, condition: dict[str, Any]) -> str:
    if not condition:
        return ""
    source = next(
        (x for x in structure.all_questions() if x.pk == int(condition["question"])), None
    )
    if source is None:
        return ""
    label = source.option_labels().get(str(condition["value"]), str(condition["value"]))
    return _("仅当第%(n)d题选“%(label)s”时显示") % {
        "n": structure.number_of(source),
        "label": label,
    }


def _step(
    request: HttpRequest, q: Questionnaire, work: Any, done: str, anchor: str = ""
) -> HttpResponse:
    try:
        work()
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, done)
    return _back(q, anchor)


@organisers
@require_POST
def save_settings(request: HttpRequest, pk: int) -> HttpResponse:
    q = _managed(request, pk)
    form = SettingsForm(request.POST)
    if not form.is_valid():
        messages.error(request, "；".join(str(e) for errs in form.errors.values() for e in errs))
        return _back(q)
    return _step(
        request,
        q,
        lambda: services.update_settings(request.user, q, form.settings()),
        _("设置已保存。"),
    )


@organisers
@require_POST
def add_section(request: HttpRequest, pk: int) -> HttpResponse:
    q = _managed(request, pk)
    structure = services.load_structure(q)
    form = SectionForm(
        request.POST, conditions=condition_choices(structure, structure.all_questions())
    )
    if not form.is_valid():
        messages.error(request, _("请填写这一节的标题。"))
        return _back(q)
    from surveys.forms import parse_condition

    data = form.cleaned_data
    return _step(
        request,
        q,
        lambda: services.add_section(
            request.user,
            q,
            data["title"],
            data.get("description") or "",
            parse_condition(data.get("condition") or ""),
        ),
        _("已添加一节。"),
    )


@organisers
def question_form(
    request: HttpRequest, pk: int, section_id: int, question_id: int | None = None
) -> HttpResponse:
    q = _managed(request, pk)
    section = get_object_or_404(Section, pk=section_id, questionnaire=q)
    question = get_object_or_404(Question, pk=question_id, section=section) if question_id else None
    kind = (
        question.kind
        if question is not None
        else request.GET.get("kind") or request.POST.get("kind", "")
    )
    if kind not in Kind.values:
        messages.error(request, _("请选择题型。"))
        return _back(q)
    structure = services.load_structure(q)
    if question is not None:
        before = services.questions_before(structure, question)
    else:
        before = []
        for s in structure.sections:
            before.extend(structure.questions[s.pk])
            if s.pk == section.pk:
                break
    conditions = condition_choices(structure, before)
    initial = QuestionForm.initial_for(question) if question is not None else {}
    form = QuestionForm(request.POST or None, kind=kind, conditions=conditions, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if question is None:
                services.add_question(request.user, section, form.spec())
            else:
                services.update_question(request.user, question, form.spec(question))
        except ServiceError as exc:
            field = (exc.detail or {}).get("field") if isinstance(exc.detail, dict) else None
            form.add_error(field if field in form.fields else None, str(exc.message))
        else:
            messages.success(request, _("题目已保存。"))
            return _back(q, f"section-{section.pk}")
    context = {
        "q": q,
        "section": section,
        "question": question,
        "kind": kind,
        "kind_label": Kind(kind).label,
        "form": form,
    }
    return render(request, "surveys/wb/question.html", context)


@organisers
@require_POST
def delete_question(request: HttpRequest, pk: int, question_id: int) -> HttpResponse:
    q = _managed(request, pk)
    question = get_object_or_404(Question, pk=question_id, questionnaire=q)
    return _step(
        request, q, lambda: services.delete_question(request.user, question), _("题目已删除。")
    )


@organisers
@require_POST
def delete_section(request: HttpRequest, pk: int, section_id: int) -> HttpResponse:
    q = _managed(request, pk)
    section = get_object_or_404(Section, pk=section_id, questionnaire=q)
    return _step(
        request, q, lambda: services.delete_section(request.user, section), _("这一节已删除。")
    )


@organisers
@require_POST
def move(request: HttpRequest, pk: int, what: str, item_id: int, direction: str) -> HttpResponse:
    q = _managed(request, pk)
    item: Question | Section
    if what == "question":
        item = get_object_or_404(Question, pk=item_id, questionnaire=q)
    elif what == "section":
        item = get_object_or_404(Section, pk=item_id, questionnaire=q)
    else:
        raise Http404
    step = -1 if direction == "up" else 1
    return _step(request, q, lambda: services.move(request.user, item, step), _("顺序已调整。"))


@organisers
@require_POST
def publish(request: HttpRequest, pk: int) -> HttpResponse:
    q = _managed(request, pk)
    return _step(
        request, q, lambda: services.publish(request.user, q), _("问卷已发布，群众现在可以填写。")
    )


@organisers
@require_POST
def close(request: HttpRequest, pk: int) -> HttpResponse:
    q = _managed(request, pk)

    def work() -> None:
        services.close(request.user, q)
        for question in q.questions.filter(kind=Kind.TEXT):
            services.refresh_themes(request.user, question)

    return _step(request, q, work, _("问卷已结束，填空题的意见已重新归纳。"))


@organisers
@require_POST
def new_version(request: HttpRequest, pk: int) -> HttpResponse:
    q = _managed(request, pk)
    try:
        copy = services.new_version(request.user, q)
    except ServiceError as exc:
        messages.error(request, str(exc.message))
        return _back(q)
    messages.success(request, _("已另存为第 %(v)d 版草稿，可以修改后发布。") % {"v": copy.version})
    return _back(copy)


@organisers
@require_POST
def publish_results(request: HttpRequest, pk: int) -> HttpResponse:
    q = _managed(request, pk)
    public = request.POST.get("public") == "1"
    done = _("结果已公开。") if public else _("结果已取消公开。")
    try:
        services.set_results_public(request.user, q, public)
        if public:
            # The public page shows themes for every free-text question: group any not yet done.
            for question in q.questions.filter(kind=Kind.TEXT):
                services.themes(question)
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, done)
    return redirect("surveys_wb:results", pk=q.pk)


@organisers
def results(request: HttpRequest, pk: int) -> HttpResponse:
    q = _managed(request, pk)
    return render(request, "surveys/wb/results.html", {"q": q, "results": services.results(q)})


@organisers
@require_POST
def refresh_themes(request: HttpRequest, pk: int, question_id: int) -> HttpResponse:
    q = _managed(request, pk)
    question = get_object_or_404(Question, pk=question_id, questionnaire=q)
    try:
        made = services.refresh_themes(request.user, question)
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("已归纳出 %(n)d 个主题。") % {"n": len(made)})
    response = redirect("surveys_wb:results", pk=q.pk)
    response["Location"] += f"#q{question.pk}"
    return response


class _Echo:
    def write(self, value: str) -> str:
        return value


def _filename(q: Questionnaire, ext: str) -> str:
    return f"questionnaire-{q.pk}-v{q.version}.{ext}"


@organisers
def export_csv(request: HttpRequest, pk: int) -> HttpResponse:
    q = _managed(request, pk)
    services.record_export(request.user, q, "csv")
    writer = csv.writer(_Echo())
    structure = services.structure_of(q)

    def lines() -> Iterator[str]:
        # A byte order mark, so Excel opens the Chinese text as UTF-8.
        yield "\ufeff" + writer.writerow(csv_row(services.export_header(structure)))
        for row in services.export_rows(q):
            yield writer.writerow(csv_row(row))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(q, "csv")}"'
    return response  # type: ignore[return-value]  # streamed: a year of answers is large


@organisers
def export_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    import io

    from openpyxl import Workbook

    q = _managed(request, pk)
    services.record_export(request.user, q, "xlsx")
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=_("答卷"))
    # Typed cells (minsheng.spreadsheet): an answer starting with "=" stays text, not a formula.
    sheet.append(xlsx_row(sheet, services.export_header(services.structure_of(q))))
    for row in services.export_rows(q):
        sheet.append(xlsx_row(sheet, row))
    summary = book.create_sheet(title=_("统计"))
    data = services.results(q)
    summary.append(xlsx_row(summary, [q.title, _("答卷数"), data["responses"]]))
    for item in data["questions"]:
        summary.append(
            xlsx_row(
                summary, [f"{item['number']}. {item['text']}", _("回答人数"), item["answered"]]
            )
        )
        for option in item.get("options", []):
            summary.append(
                xlsx_row(summary, ["", option["label"], option["count"], option["percent"]])
            )
        if "rating" in item:
            summary.append(xlsx_row(summary, ["", _("平均分"), item["rating"]["mean"]]))
        for theme in item.get("themes", []):
            summary.append(xlsx_row(summary, ["", theme["label"], theme["count"]]))
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(q, "xlsx")}"'
    return response
