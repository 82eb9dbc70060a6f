from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from org import services
from org.models import Category, Grid, Unit

pytestmark = pytest.mark.django_db


def test_a_unit_path_runs_from_the_root_to_itself(org_tree):
    community = org_tree.community
    ids = [org_tree.city.pk, org_tree.district.pk, org_tree.street.pk, community.pk]
    assert community.path == "/" + "/".join(map(str, ids)) + "/"
    assert community.depth == 3
    assert org_tree.city.depth == 0


def test_ancestors_and_descendants_each_take_one_query(org_tree, django_assert_num_queries):
    with django_assert_num_queries(1):
        ancestors = [u.code for u in org_tree.community.ancestors()]
    assert ancestors == ["test-city", "test-district", "test-street"]
    with django_assert_num_queries(1):
        below = {u.code for u in org_tree.district.descendants()}
    assert below == {"test-street", "test-community"}
    with django_assert_num_queries(1):
        everything = list(org_tree.city.descendants(include_self=True))
    assert len(everything) == Unit.objects.count()


def test_descendants_do_not_confuse_ids_that_share_a_prefix(org_tree):
    # A unit with id 1 must not see units under id 10, 11 … as its own.
    units = [
        services.create_unit(
            None, code=f"extra-{i}", name=f"单位{i}", kind="other", parent=org_tree.city
        )
        for i in range(12)
    ]
    first, last = units[0], units[-1]
    assert first.pk is not None and last.pk is not None
    assert list(first.descendants()) == []
    assert not last.is_within(first)


def test_moving_a_unit_rewrites_the_paths_of_its_whole_subtree(org_tree):
    street = org_tree.street
    services.update_unit(None, street, parent=org_tree.chengguan)
    community = Unit.objects.get(pk=org_tree.community.pk)
    assert community.path.startswith(org_tree.chengguan.path)
    assert community.depth == 3
    assert [u.code for u in community.ancestors()] == ["test-city", "test-chengguan", "test-street"]
    assert not Unit.objects.below(org_tree.district, include_self=False).exists()


def test_it_refuses_to_put_a_unit_below_its_own_descendant(org_tree):
    district = org_tree.district
    district.parent = org_tree.community
    with pytest.raises(ValidationError):
        services.save(None, district)
    district.refresh_from_db()
    assert district.parent_id == org_tree.city.pk


def test_unit_codes_are_unique(org_tree):
    with pytest.raises(ValidationError):
        services.create_unit(None, code="test-city", name="重复", kind="other")


def test_a_grid_belongs_to_a_community_only(org_tree):
    grid = Grid(code="bad-grid", name="错误网格", community=org_tree.street)
    with pytest.raises(ValidationError):
        services.save(None, grid)
    assert not Grid.objects.filter(code="bad-grid").exists()


def test_categories_have_two_levels_only(category_tree):
    third = Category(code="third", name="三级", parent=category_tree.street_vending)
    with pytest.raises(ValidationError):
        services.save(None, third)


def test_a_subcategory_without_a_rule_uses_its_parents(category_tree):
    parent = category_tree.city_management
    services.set_deadline_rule(None, parent, handle_amount=7)
    child, _ = services.upsert_category(None, "test-no-rule", name="无规则", parent=parent)
    rule = child.effective_rule()
    assert rule is not None and rule.category_id == parent.pk and rule.handle_amount == 7
    assert category_tree.street_vending.effective_rule().sign_amount == 2


def test_the_petition_rule_carries_the_statutory_periods_and_their_basis(category_tree):
    rule = category_tree.petition_general.deadline_rule
    assert rule.petition
    assert (rule.sign_amount, rule.sign_unit) == (15, "calendar_days")
    assert (rule.handle_amount, rule.handle_unit) == (60, "calendar_days")
    assert "信访工作条例" in rule.legal_basis
    assert "复核" in rule.legal_basis
    assert "适用信访程序" in rule.summary()
