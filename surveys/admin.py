from django.contrib import admin

from surveys.models import Questionnaire, Residence


@admin.register(Questionnaire)
class QuestionnaireAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-mostly: questionnaires are built and published in the workbench, where every step is
    checked and audited."""

    list_display = ("title", "unit", "state", "version", "audience", "opens_at", "closes_at")
    list_filter = ("state", "audience")
    search_fields = ("title",)
    readonly_fields = tuple(f.name for f in Questionnaire._meta.fields)

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(Residence)
class ResidenceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Which grid a citizen lives in, for resident-only questionnaires."""

    list_display = ("user", "grid", "recorded_by", "recorded_at")
    autocomplete_fields = ("user",)
    search_fields = ("user__display_name", "grid__name")
    readonly_fields = ("recorded_by", "recorded_at")

    def save_model(self, request: object, obj: Residence, form: object, change: bool) -> None:
        from audit.services import record

        obj.recorded_by = getattr(request, "user", None)
        super().save_model(request, obj, form, change)  # type: ignore[arg-type]
        record(obj.recorded_by, "surveys.residence", obj, after={"grid": obj.grid.code})
