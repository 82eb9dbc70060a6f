"""Sentences for a flag's reasons, in the reader's language (the detector stores codes and numbers)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _


def describe(reason: dict[str, Any]) -> str:
    code = reason.get("code", "")
    texts = {
        "device_shared": lambda r: (
            _("同一设备有 %(voters)s 个账号投了 %(votes)s 票（其中新注册账号 %(fresh)s 票）") % r
        ),
        "subnet_cluster": lambda r: (
            _(
                "同一网段 %(minutes)s 分钟内为同一候选人投了 %(votes)s 票，新注册账号占 %(fresh_pct)s%%，"
                "间隔规律度 %(regularity)s（越接近 0 越像脚本）"
            )
            % r
        ),
        "burst": lambda r: (
            _(
                "一分钟内 %(votes)s 票，远高于该候选人平时每分钟 %(baseline)s 票；其中 %(concentrated)s 票来自集中的网段或设备"
            )
            % r
        ),
        "pattern": lambda r: (
            _(
                "同一网段 %(voters)s 个账号当天选了完全相同的 %(candidates)s 位候选人，新注册账号占 %(fresh_pct)s%%"
            )
            % r
        ),
        "fresh_swarm": lambda r: (
            _(
                "十分钟内 %(votes)s 票几乎都来自两天内新注册的账号（占 %(fresh_pct)s%%），该候选人平时每分钟 %(baseline)s 票"
            )
            % r
        ),
    }
    make = texts.get(code)
    if make is None:
        return code
    try:
        return str(make(reason))
    except (KeyError, TypeError, ValueError):
        return code
