"""Demo misconduct reports: one anonymous, one named, against the first bureau below the top unit.

Their codes and secrets are fixed so a demo can show tracking: JB-DEMO0001 / DEMOSECRET,
JB-DEMO0002 / DEMOSECRET (the named one, for showing the two-person unsealing).
"""

from __future__ import annotations

from integrity import services
from integrity.models import Kind, Report
from org.models import Unit

DEMO_SECRET = "DEMOSECRET"  # noqa: S105  (a published demo value, not a credential)


def load() -> int:
    if Report.objects.filter(code__startswith="JB-DEMO").exists():
        return 0
    unit = (
        Unit.objects.filter(parent__isnull=False, parent__parent__isnull=True)
        .order_by("path")
        .first()
    )
    if unit is None:
        return 0
    written = 0
    for number, named, kind, content in (
        (
            1,
            False,
            Kind.CONDUCT,
            "该单位窗口工作人员上班时间长期玩手机，群众排队无人理会，态度生硬。",
        ),
        (2, True, Kind.ABUSE, "该单位某科长以检查为名多次向商户索要购物卡，不给就刁难。"),
    ):
        sub = services.Submission(
            kind=kind,
            target_unit_id=unit.pk,
            content=content,
            named=named,
            name="演示举报人" if named else "",
            phone="13800000000" if named else "",
        )
        report, _secret = services.submit(None, sub)
        Report.objects.filter(pk=report.pk).update(
            code=f"JB-DEMO{number:04d}", secret_hash=services.secret_hash(DEMO_SECRET)
        )
        written += 2 if named else 1
    return written
