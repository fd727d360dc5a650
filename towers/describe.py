"""Future descriptions: the text a user's next-window behaviour is aligned with (FIND Sec. 3).

Each user's events in the target window are summarised with FIND's five template families
(purchase, browsing, search, click, payment channel; templates in prompts/find_templates.yaml)
into one sentence per family; events of other sources (account security) get an `activity`
sentence. Slot values are the user's most characteristic phrases of that family — frequent
for the user, rare across users (count x IDF) — so routine bills do not drown the signal.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import yaml
from targetbot.core.resources import package_path

TEMPLATES_FILE = package_path("targetbot.prompts", "find_templates.yaml")
FAMILY_OF_SOURCE = {"bill": "purchase", "miniprogram": "browsing", "search": "search", "page": "click"}
FAMILIES = ("purchase", "browsing", "search", "click", "payment", "activity")
SLOT = {"browsing": "programs", "search": "queries", "click": "pages", "activity": "texts"}
AMOUNT_STEPS = (10, 50, 100, 200, 500, 1000, 2000, 5000, 10000)


@lru_cache(maxsize=1)
def templates() -> dict[str, list[str]]:
    return yaml.safe_load(TEMPLATES_FILE.read_text(encoding="utf-8"))


def _col(events: pd.DataFrame, name: str) -> pd.Series:
    if name in events.columns:
        return events[name].astype("string")
    return pd.Series(pd.NA, index=events.index, dtype="string")


def _phrase(events: pd.DataFrame, family: pd.Series) -> pd.Series:
    """What an event is about, in a few words: the query for searches, the text for account
    activity, else item, category or text."""
    text = _col(events, "text")
    item, category = _col(events, "item"), _col(events, "category")
    # synthetic brand names mean nothing to a text encoder: say what kind of thing they are
    pairs = pd.DataFrame({"i": item, "c": category})
    distinct = pairs.dropna().drop_duplicates()
    named = {(i, c): i if c.lower() in i.lower() else f"{i} ({c})" for i, c in zip(distinct["i"], distinct["c"])}
    key = pd.MultiIndex.from_frame(pairs.fillna(""))
    phrase = pd.Series([named.get(k) for k in key], index=events.index, dtype="string")
    phrase = phrase.fillna(item).fillna(category).fillna(text)
    use_text = family.isin(["search", "activity"]).to_numpy()
    return phrase.where(~use_text, text)


def _join(values) -> str:
    values = [str(v) for v in values if v]
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1]


def _top_phrases(user: pd.Series, family: pd.Series, phrase: pd.Series, top: int) -> pd.Series:
    df = pd.DataFrame({"user_id": user.to_numpy(), "family": family.to_numpy(), "phrase": phrase.to_numpy()})
    counts = df.groupby(["user_id", "family", "phrase"], observed=True, sort=False).size().rename("n").reset_index()
    n_users = max(counts["user_id"].nunique(), 1)
    users_with = counts.groupby(["family", "phrase"], observed=True)["user_id"].transform("size")
    counts["w"] = counts["n"] * np.log((1 + n_users) / (1 + users_with)) + 1e-6 * counts["n"]
    counts = counts.sort_values(["user_id", "family", "w", "phrase"], ascending=[True, True, False, True])
    counts = counts[counts.groupby(["user_id", "family"], sort=False).cumcount() < top]
    return counts.groupby(["user_id", "family"], sort=False)["phrase"].agg(_join)


def describe_users(events: pd.DataFrame, top: int = 3, seed: int = 0) -> pd.DataFrame:
    """One row per (user, family): `user_id`, `family`, `text`. Template variants are drawn by seed."""
    if events.empty:
        return pd.DataFrame(columns=["user_id", "family", "text"])
    rng = np.random.default_rng(seed)
    tpl = templates()
    user = events["user_id"].astype(str)
    source = events["source"].astype(str)
    family = source.map(FAMILY_OF_SOURCE).fillna("activity")
    joined = _top_phrases(user, family, _phrase(events, family), top).reset_index()

    is_bill = (source == "bill").to_numpy()
    status = _col(events, "status")
    spend = is_bill & (status != "received").fillna(True).to_numpy()  # income is not a purchase
    amount = pd.to_numeric(events["amount"], errors="coerce") if "amount" in events.columns else pd.Series(0.0, index=events.index)
    total = amount[spend].groupby(user[spend]).sum()
    main_status = (pd.DataFrame({"u": user[spend], "s": status[spend].fillna("paid")})
                   .value_counts().reset_index().drop_duplicates("u").set_index("u")["s"])

    texts = []
    for u, fam, value in zip(joined["user_id"], joined["family"], joined["phrase"]):
        variants = tpl[fam]
        t = variants[int(rng.integers(len(variants)))]
        if fam == "purchase":
            num = max([a for a in AMOUNT_STEPS if a <= float(total.get(u, 0.0))], default=0)
            texts.append(t.format(items=value, num=num, status=main_status.get(u, "paid")))
        else:
            texts.append(t.format(**{SLOT[fam]: value}))
    out = pd.DataFrame({"user_id": joined["user_id"], "family": joined["family"], "text": texts})

    if "channel" in events.columns:
        ch = _col(events, "channel")
        has = is_bill & ch.notna().to_numpy()
        top_ch = (pd.DataFrame({"user_id": user[has], "c": ch[has]}).value_counts().reset_index()
                  .sort_values(["user_id", "count"], ascending=[True, False]))
        top_ch = top_ch[top_ch.groupby("user_id").cumcount() < 2].groupby("user_id")["c"].agg(_join)
        variants = tpl["payment"]
        pay = [variants[int(rng.integers(len(variants)))].format(channels=v) for v in top_ch.to_numpy()]
        out = pd.concat([out, pd.DataFrame({"user_id": top_ch.index, "family": "payment", "text": pay})], ignore_index=True)
    return out.sort_values(["user_id", "family"], ignore_index=True)


def future_statements(events: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Single-item future descriptions: one FIND-template sentence per (user, family, phrase).

    Returns `user_id`, `family`, `text`, `weight`; weight = count x IDF of the phrase, so
    sampling favours what is characteristic of the user (a phone rental) over routine (a
    phone bill). Alignment samples one statement per user per step: many short positives per
    user instead of one long paragraph, which is cheaper on CPU and covers rare events.
    """
    if events.empty:
        return pd.DataFrame(columns=["user_id", "family", "text", "weight"])
    rng = np.random.default_rng(seed)
    tpl = templates()
    user = events["user_id"].astype(str)
    family = events["source"].astype(str).map(FAMILY_OF_SOURCE).fillna("activity")
    df = pd.DataFrame({"user_id": user.to_numpy(), "family": family.to_numpy(),
                       "phrase": _phrase(events, family).to_numpy()}).dropna()
    counts = df.groupby(["user_id", "family", "phrase"], observed=True, sort=False).size().rename("n").reset_index()
    n_users = max(counts["user_id"].nunique(), 1)
    users_with = counts.groupby(["family", "phrase"], observed=True)["user_id"].transform("size")
    idf = np.log((1 + n_users) / (1 + users_with))
    counts["weight"] = np.log1p(counts["n"]) * idf + 1e-3
    texts = []
    for fam, phrase in zip(counts["family"], counts["phrase"]):
        variants = tpl[fam]
        t = variants[int(rng.integers(len(variants)))]
        if fam == "purchase":
            texts.append(f"The user purchased {phrase}.")
        else:
            texts.append(t.format(**{SLOT[fam]: phrase}))
    counts["text"] = texts
    return counts[["user_id", "family", "text", "weight"]]
