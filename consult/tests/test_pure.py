"""The plain-Python parts: splitting articles, the draw, the grouping."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np

from consult import articles, draw, grouping


def test_a_pasted_draft_splits_into_chapters_and_articles() -> None:
    text = (
        "某某办法\n第一章 总则\n第一条 目的。\n第二条　范围，\n续行。\n第二章 附则\n第十二条 施行。"
    )
    pieces = articles.split(text)
    assert [p.heading for p in pieces] == ["", "第一条", "第二条", "第十二条"]
    assert pieces[0].text == "某某办法"
    assert pieces[2].text == "范围，\n续行。"
    assert pieces[1].chapter == "第一章 总则" and pieces[3].chapter == "第二章 附则"


def test_a_text_without_numbered_articles_stays_one_piece() -> None:
    assert [p.text for p in articles.split("只有一段话。")] == ["只有一段话。"]


def test_the_draw_is_the_documented_hmac_ranking_per_category() -> None:
    applicants = [(5, "resident"), (3, "resident"), (9, "expert"), (4, "resident")]
    tickets = draw.draw("42-17-03", 7, applicants, {"resident": 2, "expert": 1})

    def score(rid: int) -> str:
        return hmac.new(b"42-17-03", f"7:{rid}".encode(), hashlib.sha256).hexdigest()

    residents = sorted([3, 4, 5], key=lambda rid: (score(rid), rid))
    got = [t.registration_id for t in tickets if t.category == "resident"]
    assert got == residents
    assert [t.selected for t in tickets if t.category == "resident"] == [True, True, False]
    assert [t.registration_id for t in tickets if t.category == "expert" and t.selected] == [9]


def test_the_draw_depends_on_the_seed_and_not_on_input_order() -> None:
    applicants = [(i, "resident") for i in range(1, 30)]
    a = draw.draw("seed-a", 1, applicants, {"resident": 5})
    b = draw.draw("seed-a", 1, list(reversed(applicants)), {"resident": 5})
    c = draw.draw("seed-b", 1, applicants, {"resident": 5})
    assert a == b
    assert [t.registration_id for t in a if t.selected] != [
        t.registration_id for t in c if t.selected
    ]


def test_the_published_rerun_snippet_gives_the_same_names() -> None:
    import contextlib
    import io
    import json
    import tempfile
    from pathlib import Path

    applicants = [(i, "resident" if i % 3 else "business") for i in range(1, 20)]
    seats = {"resident": 4, "business": 2}
    tickets = draw.draw("开奖号码 3-8-1", 12, applicants, seats)
    data = {
        "seed": "开奖号码 3-8-1",
        "hearing": 12,
        "seats": seats,
        "applicants": [{"id": i, "category": c} for i, c in applicants],
    }
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "draw.json").write_text(json.dumps(data), encoding="utf-8")
        out = io.StringIO()
        cwd = Path.cwd()
        import os

        os.chdir(tmp)
        try:
            with contextlib.redirect_stdout(out):
                exec(draw.RERUN_SNIPPET, {})  # noqa: S102 - the snippet we publish
        finally:
            os.chdir(cwd)
    for category, n in seats.items():
        picked = [t.registration_id for t in tickets if t.category == category and t.selected]
        assert f"{category} selected: {picked}" in out.getvalue()
        assert len(picked) == n


def _planted(n: int = 300, m: int = 40, seed: int = 1) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, size=n)
    stance = rng.choice([0.9, 0.1], size=(3, m))
    stance[:, :4] = 0.9  # four consensus statements
    rows, cols, values = [], [], []
    for i in range(n):
        seen = rng.choice(m, size=25, replace=False)
        v = np.where(rng.random(25) < stance[truth[i], seen], 1, -1)
        rows += [i] * 25
        cols += seen.tolist()
        values += v.tolist()
    return np.array(rows), np.array(cols), np.array(values), truth


def test_grouping_recovers_planted_groups_and_their_consensus() -> None:
    rows, cols, values, truth = _planted()
    result = grouping.group(300, 40, rows, cols, values, seed=3)
    assert result is not None
    assert len(result.groups) == 3
    assert grouping.adjusted_rand_index(truth[result.grouped], result.assignment) > 0.9
    assert {s.statement for s in result.consensus} >= {0, 1, 2, 3}
    assert all(g.distinctive for g in result.groups)


def test_grouping_is_deterministic_for_a_seed() -> None:
    rows, cols, values, _truth = _planted(seed=5)
    a = grouping.group(300, 40, rows, cols, values, seed=9)
    b = grouping.group(300, 40, rows[::-1], cols[::-1], values[::-1], seed=9)
    assert a is not None and b is not None
    assert np.array_equal(a.assignment, b.assignment)
    assert np.allclose(a.points, b.points)
    assert [g.size for g in a.groups] == sorted((g.size for g in a.groups), reverse=True)


def test_too_few_voters_give_no_groups() -> None:
    assert (
        grouping.group(3, 5, np.array([0, 1, 2]), np.array([0, 0, 0]), np.array([1, 1, -1])) is None
    )


def test_the_adjusted_rand_index_matches_known_values() -> None:
    assert grouping.adjusted_rand_index([0, 0, 1, 1], [1, 1, 0, 0]) == 1.0
    assert abs(grouping.adjusted_rand_index([0, 0, 1, 1], [0, 1, 0, 1]) + 0.5) < 1e-9
