"""Amounts, counts and horizons read from a request by their unit (rewrite/quantities.py)."""

import pytest

from targetbot.rewrite.quantities import parse_quantities


@pytest.mark.parametrize("text, slots", [
    ("people spending over 500 bucks on sneakers", {"num": 500}),
    ("big spenders over $1.5k in total, at least twice a week", {"total": 1500, "min_count": 2, "per_days": 7}),
    ("platinum members who'll buy a laptop for over $1,200", {"num": 1200}),
    ("users who order takeout at least 3 times in the next two weeks", {"min_count": 3, "within_days": 14}),
    ("TeaTime regulars who buy bubble tea there 5+ times a month", {"min_count": 5, "per_days": 30}),
    ("repeat buyers who purchased more than twice", {"min_count": 3}),
    ("weekly MetroGo riders", {"min_count": 1, "per_days": 7}),
    ("buy a phone this month", {"within_days": 30}),
    ("earning over $8k a month who buy cars", {}),  # an income, not a purchase amount
    ("orders under $20", {}),  # an upper bound: no slot says it
    ("married users with at least 2 kids", {}),  # a profile fact, not a count of actions
])
def test_numbers_go_to_the_slot_their_unit_says(text, slots):
    assert parse_quantities(text).slots() == slots


def test_income_and_money_are_told_apart():
    q = parse_quantities("users making over $8k a month who spent more than 200 dollars")
    assert q.income == {8000.0} and q.money == {8000.0, 200.0} and q.num == 200
