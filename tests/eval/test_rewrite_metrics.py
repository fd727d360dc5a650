"""The rewrite suite's metrics on known plans (eval/rewrite_suite.py)."""

import json

from targetbot.eval.rewrite_suite import evaluate_model, load_requests
from targetbot.rewrite.catalog import Catalog, EntityInfo
from targetbot.rewrite.plan import TargetingPlan


class _Fixed:
    """A rewriter that answers each request with the plan given for it."""

    def __init__(self, plans):
        self.plans = plans

    def rewrite(self, text):
        class R:
            plan, raw, attempts, grounding = TargetingPlan.model_validate(self.plans[text]), ["{}"], 1, {}
        return R()


def test_invented_filters_and_quantities_are_counted(tmp_path):
    cat = Catalog(entities=[EntityInfo(name="sneakers", type="category")])
    rows = [{"request": "women buying sneakers", "families": ["purchase"], "entities": ["sneakers"], "exclude": [],
             "filter_fields": ["gender"], "amount": None, "min_count": None},
            {"request": "sneaker buyers over $100", "families": ["purchase"], "entities": ["sneakers"], "exclude": [],
             "filter_fields": [], "amount": 100, "min_count": None}]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    d = {"family": "purchase", "items": ["sneakers"]}
    plans = {"women buying sneakers": {"demands": [d], "filters": {"conditions": [
                 {"field": "gender", "op": "=", "value": "female"}, {"field": "city", "op": "=", "value": "Beijing"}]}},
             "sneaker buyers over $100": {"demands": [{**d, "num": 100}]}}
    row, _ = evaluate_model(_Fixed(plans), cat, load_requests(path), "fixed")
    assert row["invented_filter_rate"] == 0.5  # city on the first, nothing on the second
    assert row["quantity_acc"] == 1.0 and row["entity_f1"] == 1.0
    plans["sneaker buyers over $100"] = {"demands": [d]}
    assert evaluate_model(_Fixed(plans), cat, load_requests(path), "fixed")[0]["quantity_acc"] == 0.5
