"""Roles and the checks every view, API endpoint and service uses.

A role is held through an assignment scoped to a unit (and so to the units below it); admin and
auditor assignments at the root unit reach everywhere. This module is the one place that answers
"may this person do this here?".
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CITIZEN = "citizen", _("群众")
    AGENT = "agent", _("话务员/派单员")
    HANDLER = "handler", _("承办人")
    ANALYST = "analyst", _("舆情分析员")
    ORGANISER = "organiser", _("活动组织者")
    LEADER = "leader", _("领导")
    CADRE = "cadre", _("干部/网格员")
    AUDITOR = "auditor", _("纪检监察/审计")
    ADMIN = "admin", _("系统管理员")


STAFF_ROLES = frozenset(Role) - {Role.CITIZEN}
