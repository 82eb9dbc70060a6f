"""The fast prediction paths give the answers of the plain reference paths, on real posts.

The reference paths (per-post term lists, ``Counter`` term counting, whole-text NFKC, every
markup pattern run on every post, one sparse product per base model) are kept in the modules as
oracles; these tests hold the batch paths to them.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from textkit.normalise import normalise_many
from textkit.route import RouteModel, normalise_text, normalise_text_reference
from textkit.route import _base_scores as _route_scores
from textkit.segment import Segmenter, cut_many
from textkit.sentiment import (
    SentimentModel,
    _analyse,
    _prepare,
    _prepare_reference,
    classification_metrics,
)

TRAIN_ROWS = 1500


def _csv(path: Path, column: str, **where: str) -> list[str]:
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [
            r[column]
            for r in csv.DictReader(fh)
            if r[column].strip() and all(r[k] == v for k, v in where.items())
        ]


@pytest.fixture(scope="module")
def posts(shared_data: Path) -> dict[str, list[str]]:
    """SMP training and test posts, plus citizen messages, rumour reposts and hotel reviews."""
    smp = shared_data / "smp2020_ewect" / "smp2020_ewect_weibo_emotion.csv"
    with smp.open(encoding="utf-8-sig", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["content"].strip()]
    train = [r for r in rows if r["split"] == "train"][:TRAIN_ROWS]
    test = [r for r in rows if r["split"] == "test"][:1500]
    rng = random.Random(7)
    others = (
        rng.sample(
            _csv(shared_data / "tipdm2020_c" / "attachment2_details_partial.csv", "留言详情_clean"),
            500,
        )
        + rng.sample(_csv(shared_data / "ced_weibo_rumor" / "ced_events.csv", "text"), 700)
        + rng.sample(
            _csv(shared_data / "chnsenticorp_htl" / "ChnSentiCorp_htl_all.csv", "review"), 300
        )
    )
    return {
        "train_texts": [r["content"] for r in train],
        "train_labels": [r["label"] for r in train],
        "test_texts": [r["content"] for r in test],
        "test_labels": [r["label"] for r in test],
        "mixed": [r["content"] for r in test] + others,
    }


@pytest.fixture(scope="module")
def model(posts: dict[str, list[str]]) -> SentimentModel:
    return SentimentModel.train(posts["train_texts"], posts["train_labels"])


def test_the_fast_post_reading_equals_the_reference(posts: dict[str, list[str]]) -> None:
    mixed = posts["mixed"]
    for texts in (mixed, normalise_many(mixed)):
        assert [_prepare(t) for t in texts] == [_prepare_reference(t) for t in texts]


def test_the_fast_features_equal_the_reference_features(
    model: SentimentModel, posts: dict[str, list[str]]
) -> None:
    texts = posts["mixed"][:1000]
    fast, ref = model._features(texts), model._features_reference(texts)
    assert fast.shape == ref.shape and fast.nnz == ref.nnz
    assert abs(fast - ref).max() < 1e-6


def test_fast_predictions_match_the_reference_on_three_thousand_real_posts(
    model: SentimentModel, posts: dict[str, list[str]]
) -> None:
    texts = posts["mixed"]
    assert len(texts) >= 3000
    for batch in (texts, normalise_many(texts)):
        fast = model.probabilities(batch)
        ref = model.probabilities_reference(batch)
        np.testing.assert_allclose(fast, ref, atol=1e-3)
        weights = model.prior**model.prior_power
        differ = int((np.argmax(fast / weights, 1) != np.argmax(ref / weights, 1)).sum())
        assert differ <= 0.005 * len(batch), f"{differ} of {len(batch)} predictions differ"


def test_the_macro_f1_of_the_fast_path_is_the_reference_macro_f1(
    model: SentimentModel, posts: dict[str, list[str]]
) -> None:
    texts, gold = posts["test_texts"], posts["test_labels"]
    fast = [p.emotion for p in model.predict(texts)]
    weights = model.prior**model.prior_power
    ref_p = model.probabilities_reference(texts)
    ref = [model.labels[int(i)] for i in np.argmax(ref_p / weights, axis=1)]
    f_fast = classification_metrics(gold, fast)["macro_f1"]
    f_ref = classification_metrics(gold, ref)["macro_f1"]
    assert abs(f_fast - f_ref) < 0.005


def test_batch_segmentation_equals_one_text_at_a_time(posts: dict[str, list[str]]) -> None:
    seg = Segmenter()
    texts = normalise_many(posts["mixed"])
    assert seg.cut_many(texts) == [seg.cut(t) for t in texts]
    assert cut_many(texts) == seg.cut_many(texts)


def test_the_word_terms_of_the_fast_reading_are_the_reference_terms(
    posts: dict[str, list[str]],
) -> None:
    texts = posts["mixed"][:1000]
    fast_words, fast_chars = _analyse(texts, _prepare)
    ref_words, ref_chars = _analyse(texts, _prepare_reference)
    assert fast_words == ref_words and fast_chars == ref_chars


def test_batch_normalising_equals_one_text_at_a_time(posts: dict[str, list[str]]) -> None:
    from textkit.normalise import normalise

    texts = posts["mixed"] + [
        "這個問題應該怎麼處理？",
        "  全角ＡＢＣ１２３　空格 \r\n\r\n\r\n形勢(shì)  ",
    ]
    assert normalise_many(texts) == [normalise(t) for t in texts]


@pytest.fixture(scope="module")
def route_rows(shared_data: Path) -> list[dict[str, str]]:
    path = shared_data / "tipdm2020_c" / "attachment2_rows_partial.csv"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["留言详情"].strip()][:800]


@pytest.fixture(scope="module")
def route_model(route_rows: list[dict[str, str]]) -> RouteModel:
    return RouteModel.train(
        [(r["留言主题"], r["留言详情"]) for r in route_rows], [r["一级标签"] for r in route_rows]
    )


def test_routing_text_folds_the_same_with_the_quick_nfkc_check(
    posts: dict[str, list[str]],
) -> None:
    texts = posts["mixed"] + ["全角ＡＢＣ１２３，（括号）～　空格…", "ﬁ①㍿ｶﾞ"]
    for batch in (texts, normalise_many(texts)):
        assert [normalise_text(t) for t in batch] == [normalise_text_reference(t) for t in batch]


def test_the_fast_route_features_equal_the_reference_features(
    route_model: RouteModel, posts: dict[str, list[str]]
) -> None:
    texts = [normalise_text(t) for t in posts["mixed"]] + ["", "短"]
    chars = [s for s in route_model.spaces if s.unit == "char"]
    assert len(chars) == 2
    for space in chars:
        fast, ref = space.transform(texts), space.transform_reference(texts)
        assert fast.shape == ref.shape and fast.nnz == ref.nnz
        assert abs(fast - ref).max() < 1e-6


def _reference_words(seg: Segmenter, text: str, max_chars: int) -> list[str]:
    """The words a route word space reads, the plain way: those starting within max_chars."""
    out, start = [], 0
    for token in seg.cut(text):
        if start >= max_chars:
            break
        start += len(token)
        folded = normalise_text_reference(token)
        if folded:
            out.append(folded)
    return out


def test_fast_route_probabilities_match_scoring_the_reference_features(
    route_model: RouteModel, posts: dict[str, list[str]]
) -> None:
    texts = posts["mixed"]
    pairs = [(t[:20], t) for t in texts]
    fast = route_model.probabilities(pairs)
    norm = [[normalise_text_reference(p[i]) for p in pairs] for i in range(2)]
    # Word spaces: their words segmented one text at a time and folded token by token.
    seg = Segmenter()
    words = [
        [_reference_words(seg, p[i], route_model.options.max_chars) for p in pairs]
        for i in range(2)
    ]
    x = sp.hstack(
        [
            s.transform_reference(norm[s.source])
            if s.unit == "char"
            else s.transform(norm[s.source], words[s.source])
            for s in route_model.spaces
        ],
        format="csr",
    )
    scores = [
        _route_scores(kind, x, *route_model.base[kind]) for kind in route_model.options.base_models
    ]
    z = np.hstack(scores) @ route_model.meta_coef.T.astype(np.float64) + route_model.meta_intercept
    ref = np.exp(z - z.max(axis=1, keepdims=True))
    ref /= ref.sum(axis=1, keepdims=True)
    # float32 sums in another order; ComplementNB's large log-probability weights magnify them.
    np.testing.assert_allclose(fast, ref, atol=1e-3)
    differ = int((fast.argmax(axis=1) != ref.argmax(axis=1)).sum())
    assert differ <= 0.001 * len(texts), f"{differ} of {len(texts)} routes differ"


def test_routing_with_the_callers_segmentation_gives_the_same_probabilities(
    route_rows: list[dict[str, str]], posts: dict[str, list[str]]
) -> None:
    texts = normalise_many(posts["mixed"][:1500])
    one_field = RouteModel.train(
        [r["留言主题"] + r["留言详情"] for r in route_rows], [r["一级标签"] for r in route_rows]
    )
    assert any(s.unit == "word" for s in one_field.spaces)
    own = one_field.probabilities(texts)
    given = one_field.probabilities(texts, words=Segmenter().cut_many(texts))
    np.testing.assert_array_equal(own, given)
    long_text = "小区物业乱收停车费，" * 150  # 1,500 characters: words past max_chars are dropped
    np.testing.assert_array_equal(
        one_field.probabilities([long_text]),
        one_field.probabilities([long_text], words=[Segmenter().cut(long_text)]),
    )
