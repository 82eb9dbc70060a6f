"""Visits (进百姓门): households, plans, visit logs, a found problem turned into an appeal, coverage.

Every change goes through a function here and is audited. A cadre works in the grids they look
after (``Grid.worker``) and the grids a current visit plan sends them to; a visit anywhere else is
refused with a message and the refusal is audited too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from appeals.models import Appeal, Channel
from appeals.services import Submission, do_submit
from audit.services import record
from grassroots.models import ORGANISATION_KINDS, Household, Visit, VisitPlan
from minsheng.errors import Conflict, Forbidden, ServiceError
from org.models import Category, Grid, Unit
from org.roles import Role, has_role

FIELD_LIMIT = 2000


def _invalid(field: str, message: str) -> ServiceError:
    return ServiceError(message, code="invalid", status=422, detail={"field": field})


def grids_of(user: Any, today: dt.date | None = None) -> QuerySet[Grid]:
    """The grids ``user`` visits: those they are the worker of, and those of a current plan."""
    today = today or timezone.localdate()
    if user is None or not getattr(user, "is_authenticated", False):
        return Grid.objects.none()
    planned = VisitPlan.objects.filter(cadre=user, starts_on__lte=today, ends_on__gte=today)
    return Grid.objects.filter(
        Q(worker=user) | Q(pk__in=planned.values("grid_id")), active=True
    ).distinct()


def may_oversee(user: Any, grid: Grid) -> bool:
    """Leaders and admins of the grid's community (or above) see its households and coverage."""
    return has_role(user, Role.LEADER, Role.ADMIN, unit=grid.community)


def add_household(
    actor: Any,
    grid: Grid,
    *,
    address: str,
    head_name: str = "",
    head_phone: str = "",
    head_id_number: str = "",
    members: int = 1,
    request: HttpRequest | None = None,
) -> Household:
    if grid not in grids_of(actor) and not may_oversee(actor, grid):
        raise Forbidden(_("只能在自己负责的网格登记住户"))
    address = (address or "").strip()
    if not address:
        raise _invalid("address", _("门牌不能为空"))
    if Household.objects.filter(grid=grid, address=address).exists():
        raise Conflict(_("该网格已登记门牌“%(a)s”") % {"a": address})
    with transaction.atomic():
        household = Household.objects.create(
            grid=grid,
            address=address[:128],
            head_name=(head_name or "").strip(),
            head_phone=(head_phone or "").strip(),
            head_id_number=(head_id_number or "").strip().upper(),
            members=max(1, int(members or 1)),
        )
        record(
            actor,
            "grassroots.household_add",
            household,
            after={"grid": grid.pk, "address": household.address, "head_phone": "x"},
            request=request,
        )
    return household


def log_visit(
    actor: Any,
    household: Household,
    *,
    met: str,
    found: str,
    needs: str = "",
    visited_on: dt.date | None = None,
    follow_up_of: Visit | None = None,
    plan: VisitPlan | None = None,
    organisation: Unit | None = None,
    request: HttpRequest | None = None,
) -> Visit:
    """Record a visit. A household outside the cadre's grids is refused (403), and audited."""
    today = timezone.localdate()
    visited_on = visited_on or today
    if not has_role(actor, Role.CADRE) or household.grid not in grids_of(actor, visited_on):
        record(
            actor,
            "grassroots.visit_refused",
            household,
            after={"grid": household.grid_id},
            reason="household outside the cadre's grids",
            request=request,
        )
        raise Forbidden(
            _(
                "住户“%(h)s”不在您负责的网格内，不能登记走访。如需走访，请先由社区把该网格的走访计划派给您。"
            )
            % {"h": str(household)},
            code="outside_grid",
        )
    met = (met or "").strip()
    found = (found or "").strip()
    needs = (needs or "").strip()
    if not met:
        raise _invalid("met", _("请填写见到了谁"))
    if not found:
        raise _invalid("found", _("请填写了解到的情况"))
    for name, value in (("found", found), ("needs", needs)):
        if len(value) > FIELD_LIMIT:
            raise _invalid(name, _("内容太长（至多 %(max)s 字）") % {"max": FIELD_LIMIT})
    if visited_on > today:
        raise _invalid("visited_on", _("走访日期不能晚于今天"))
    if follow_up_of is not None and follow_up_of.household_id != household.pk:
        raise _invalid("follow_up_of", _("回访须针对同一住户"))
    if plan is not None and plan.grid_id != household.grid_id:
        raise _invalid("plan", _("走访计划与住户所在网格不一致"))
    if organisation is not None and organisation.kind not in ORGANISATION_KINDS:
        raise _invalid("organisation", _("只能选择党支部、工会或妇联"))
    if organisation is None and plan is not None:
        organisation = plan.organisation
    with transaction.atomic():
        visit = Visit.objects.create(
            household=household,
            cadre=actor,
            plan=plan,
            organisation=organisation,
            visited_on=visited_on,
            met=met[:128],
            found=found,
            needs=needs,
            follow_up_of=follow_up_of,
        )
        record(
            actor,
            "grassroots.visit_log",
            visit,
            after={
                "household": household.pk,
                "visited_on": visited_on.isoformat(),
                "follow_up_of": follow_up_of.pk if follow_up_of else None,
                "organisation": organisation.pk if organisation else None,
            },
            request=request,
        )
    return visit


def raise_appeal(
    actor: Any,
    visit: Visit,
    *,
    text: str = "",
    category: Category | None = None,
    request: HttpRequest | None = None,
) -> Appeal:
    """Turn what the visit found into an appeal in one step (channel 走访, the cadre as taker)."""
    if visit.cadre_id != getattr(actor, "pk", None):
        raise Forbidden(_("只有记录这次走访的干部可以把它转为诉求"))
    household = visit.household
    body = (text or "").strip() or "\n".join(p for p in (visit.found, visit.needs) if p)
    with transaction.atomic():
        # Lock the visit so two taps on the button do not make two appeals.
        locked = Visit.objects.select_for_update().get(pk=visit.pk)
        if locked.appeal_id is not None:
            raise Conflict(
                _("这次走访已转为诉求 %(code)s")
                % {"code": locked.appeal.code if locked.appeal else ""},
                code="already_raised",
            )
        appeal, _secret = do_submit(
            actor,
            Submission(
                text=body,
                category=category,
                address=f"{household.grid.community.name} {household.address}",
                contact_name=household.head_name,
                contact_phone=household.head_phone,
                channel=Channel.VISIT,
                grid=household.grid,
            ),
            request=request,
        )
        Visit.objects.filter(pk=visit.pk).update(appeal=appeal)
        visit.appeal = appeal
        record(
            actor,
            "grassroots.visit_to_appeal",
            visit,
            after={"appeal": appeal.pk, "code": appeal.code},
            request=request,
        )
    return appeal


def create_plan(
    actor: Any,
    *,
    cadre: Any,
    grid: Grid,
    starts_on: dt.date,
    ends_on: dt.date,
    households: list[Household] | None = None,
    organisation: Unit | None = None,
    request: HttpRequest | None = None,
) -> VisitPlan:
    if not may_oversee(actor, grid):
        raise Forbidden(_("只有社区及以上的领导可以派发走访计划"))
    if not has_role(cadre, Role.CADRE):
        raise _invalid("cadre", _("走访人须是干部/网格员"))
    if ends_on < starts_on:
        raise _invalid("ends_on", _("结束日期不能早于开始日期"))
    chosen = list(households) if households else list(Household.objects.filter(grid=grid))
    if any(h.grid_id != grid.pk for h in chosen):
        raise _invalid("households", _("走访对象须在计划的网格内"))
    with transaction.atomic():
        plan = VisitPlan.objects.create(
            cadre=cadre,
            grid=grid,
            starts_on=starts_on,
            ends_on=ends_on,
            organisation=organisation,
            created_by=actor,
        )
        plan.households.set(chosen)
        record(
            actor,
            "grassroots.plan_create",
            plan,
            after={"cadre": cadre.pk, "grid": grid.pk, "households": len(chosen)},
            request=request,
        )
    return plan


# --- coverage ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Coverage:
    label: str
    households: int
    visited: int

    @property
    def ratio(self) -> float:
        return self.visited / self.households if self.households else 0.0

    @property
    def percent(self) -> int:
        return round(self.ratio * 100)


def _since(days: int, today: dt.date | None) -> dt.date:
    return (today or timezone.localdate()) - dt.timedelta(days=days)


def coverage_by_grid(grids: QuerySet[Grid], days: int, today: dt.date | None = None) -> list[Any]:
    """Per grid: households on the roll, and how many of them were visited in the last ``days``."""
    since = _since(days, today)
    rows = []
    for grid in grids.select_related("community"):
        households = Household.objects.filter(grid=grid, active=True)
        visited = households.filter(visits__visited_on__gte=since).distinct().count()
        rows.append((grid, Coverage(grid.name, households.count(), visited)))
    return rows


def coverage_by_cadre(cadres: Any, days: int, today: dt.date | None = None) -> list[Any]:
    """Per cadre: households of their grids, and how many of those they visited in ``days``."""
    since = _since(days, today)
    rows = []
    for cadre in cadres:
        households = Household.objects.filter(grid__in=grids_of(cadre, today), active=True)
        visited = (
            households.filter(visits__cadre=cadre, visits__visited_on__gte=since).distinct().count()
        )
        label = getattr(cadre, "display_name", "") or cadre.get_username()
        rows.append((cadre, Coverage(label, households.count(), visited)))
    return rows


def unvisited(
    grids: QuerySet[Grid], days: int, today: dt.date | None = None
) -> QuerySet[Household]:
    """Households of these grids that nobody has visited in the last ``days`` days."""
    since = _since(days, today)
    recent = Visit.objects.filter(visited_on__gte=since).values("household_id")
    return (
        Household.objects.filter(grid__in=grids, active=True)
        .exclude(pk__in=recent)
        .select_related("grid")
        .order_by("grid__code", "address")
    )


def overseen_grids(user: Any) -> QuerySet[Grid]:
    """Grids a leader or admin oversees (their units and below), else a cadre's own."""
    from org.roles import grants_of

    if getattr(user, "is_superuser", False):
        return Grid.objects.filter(active=True)
    paths = [g.unit_path for g in grants_of(user) if g.role in (Role.LEADER, Role.ADMIN)]
    if not paths:
        return grids_of(user)
    condition = Q()
    for path in paths:
        condition |= Q(community__path__startswith=path)
    return Grid.objects.filter(condition, active=True)
