"""Dispatch suggestions from the router, its label → unit mapping, and retraining from history."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from appeals import services, suggest, train_router
from textkit.route import RouteModel

VENDING = [
    "菜市场门口流动摊贩占道经营堵塞人行道",
    "夜市摊贩占道摆摊油烟扰民",
    "路口有小贩占用盲道卖水果",
    "商铺门前乱摆摊位占道经营",
    "学校门口流动摊点占道影响通行",
    "天桥下摆地摊占用人行道",
]
PROPERTY = [
    "小区电梯经常故障物业不维修",
    "物业公司乱收停车费",
    "小区垃圾无人清运物业不管",
    "楼道灯坏了一个月物业不修",
    "物业擅自提高物业费标准",
    "小区绿化被物业改成停车位",
]


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    suggest.clear_cache()


def _train(labels: tuple[str, str]) -> RouteModel:
    texts = [(t[:8], t) for t in VENDING * 3] + [(t[:8], t) for t in PROPERTY * 3]
    y = [labels[0]] * len(VENDING) * 3 + [labels[1]] * len(PROPERTY) * 3
    return RouteModel.train(texts, y, fields=["title", "text"])


def test_without_a_model_there_are_no_suggestions_and_it_says_so(appeal):
    out = suggest.suggestions_for(appeal)
    assert out["suggestions"] == [] and out["model"] is None
    assert out["default_unit"]["unit_code"] == "test-chengguan"


def test_a_model_labelled_with_unit_codes_suggests_those_units(appeal, org_tree):
    _train(("test-chengguan", "test-zhujian")).save(suggest.model_dir())
    out = suggest.suggestions_for(appeal)
    assert out["model"]["labels"] == 2
    best = out["suggestions"][0]
    assert best["unit_code"] == "test-chengguan" and best["unit_name"] == org_tree.chengguan.name
    assert 0.5 < best["confidence"] <= 1
    assert [s["unit_code"] for s in out["suggestions"]] == ["test-chengguan", "test-zhujian"]


def test_category_names_and_codes_map_to_their_responsible_units(submit, category_tree):
    # 城市管理 has no unit of its own: its sub-category 占道经营's unit stands for it.
    _train(("城市管理", "test-property-management")).save(suggest.model_dir())
    appeal, _ = submit(text="小区电梯坏了三天，物业一直不来修", category=None)
    codes = [s["unit_code"] for s in suggest.suggest(appeal)]
    assert codes == ["test-zhujian", "test-chengguan"]


def test_a_label_that_names_nothing_is_dropped_not_invented(appeal):
    _train(("no-such-unit", "test-zhujian")).save(suggest.model_dir())
    assert [s["unit_code"] for s in suggest.suggest(appeal)] == ["test-zhujian"]


def test_a_retrained_model_is_picked_up_without_a_restart(appeal):
    _train(("test-chengguan", "test-zhujian")).save(suggest.model_dir())
    assert suggest.suggest(appeal)[0]["unit_code"] == "test-chengguan"
    _train(("test-zhujian", "test-chengguan")).save(suggest.model_dir())  # labels swapped
    assert suggest.suggest(appeal)[0]["unit_code"] == "test-zhujian"


def test_a_damaged_model_gives_no_suggestions_rather_than_an_error(appeal):
    folder = _train(("test-chengguan", "test-zhujian")).save(suggest.model_dir())
    meta = json.loads((folder / "model.json").read_text())
    meta["arrays_sha256"] = "0" * 64
    (folder / "model.json").write_text(json.dumps(meta))
    assert suggest.suggestions_for(appeal)["model"] is None


def test_suggestions_over_the_api_for_the_dispatcher_but_not_another_units_handler(
    appeal, dispatcher, other_handler, client_for
):
    _train(("test-chengguan", "test-zhujian")).save(suggest.model_dir())
    url = f"/api/appeals/{appeal.pk}/suggestions"
    body = client_for(dispatcher).get(url).json()
    assert body["suggestions"][0]["unit_code"] == "test-chengguan"
    assert body["default_unit"]["unit_code"] == "test-chengguan"
    assert client_for(other_handler).get(url).status_code == 404


def _history(submit: Any, dispatcher: Any, org_tree: Any, handler: Any, other: Any) -> None:
    """Appeals dispatched and signed: vending → 城管, property → 住建."""
    for texts, unit, who in (
        (VENDING, org_tree.chengguan, handler),
        (PROPERTY, org_tree.zhujian, other),
    ):
        for i in range(30):
            appeal, _ = submit(text=f"{texts[i % len(texts)]}（第{i}次反映）", category=None)
            services.do_register(appeal, dispatcher)
            services.do_dispatch(appeal, unit, dispatcher)
            services.do_sign(appeal, who)


def test_train_router_learns_from_signed_dispatches_and_reports_macro_f1(
    submit, dispatcher, org_tree, handler, other_handler, capsys
):
    _history(submit, dispatcher, org_tree, handler, other_handler)
    # A returned dispatch is a wrong choice and must not be learnt.
    wrong, _ = submit(text="小区物业乱收费", category=None)
    services.do_register(wrong, dispatcher)
    services.do_dispatch(wrong, org_tree.chengguan, dispatcher)
    services.do_return(wrong, handler, reason="不属于本单位职责")
    h = train_router.history(min_per_unit=5)
    assert len(h.labels) == 60 and h.unsigned_or_returned == 1
    call_command("appeals", "train-router", "--min-per-unit", "5", "--folds", "3")
    out = capsys.readouterr().out
    assert "trained on 60 appeals for 2 units" in out
    assert "cross-validated macro-F1" in out
    model = suggest.load_model()
    assert model is not None and sorted(model.labels) == ["test-chengguan", "test-zhujian"]
    assert model.info["metrics"]["macro_f1"] > 0.8
    assert model.info["source"] == "database"


def test_train_router_refuses_when_history_is_too_thin(submit, dispatcher, org_tree, handler):
    appeal, _ = submit()
    services.do_register(appeal, dispatcher)
    services.do_dispatch(appeal, org_tree.chengguan, dispatcher)
    services.do_sign(appeal, handler)
    with pytest.raises(CommandError, match="at least two units"):
        call_command("appeals", "train-router", "--no-cv")
    assert not suggest.model_dir().exists()
