"""Users: personas, latent traits and interests, and the ≥ 20 observable profile columns.

Latent traits (interests, digital literacy, financial stress, habits) drive behaviour and
scenario outcomes but are never written to the workspace: models must infer them from what
users do, as in real data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from targetbot.core.world import catalog_data as D

# persona: share, age range, income (median yuan/month), interest boosts (topic -> weight)
PERSONAS: dict[str, dict] = {
    "student": dict(share=0.12, age=(18, 24), income=2500, occ="student", emp="student",
                    boost={"gaming": 3, "social_media": 3, "education": 3, "food_delivery": 2, "fashion": 2,
                           "mobile_tech": 2, "basketball": 1.5, "movies_music": 2}),
    "young_professional": dict(share=0.2, age=(23, 35), income=12000, occ="office worker", emp="salaried",
                               boost={"food_delivery": 2.5, "running_fitness": 2, "travel": 2, "mobile_tech": 1.5,
                                      "movies_music": 1.5, "mobility": 2.5, "investing": 1, "beauty": 1.5}),
    "gig_worker": dict(share=0.1, age=(21, 42), income=5500, occ="delivery rider", emp="gig",
                       boost={"mobility": 2, "food_delivery": 2, "lottery_gaming_risk": 2, "social_media": 2.5,
                              "mobile_tech": 1.5, "credit": 2, "gaming": 1.5}),
    "family_parent": dict(share=0.17, age=(29, 46), income=11000, occ="office worker", emp="salaried",
                          boost={"parenting": 4, "groceries": 3, "home_living": 2, "education": 2, "cars": 1.5,
                                 "insurance": 1.5, "pets": 1.2, "health": 1.5}),
    "small_business_owner": dict(share=0.07, age=(28, 58), income=16000, occ="shop owner", emp="business owner",
                                 boost={"business_supplies": 5, "credit": 2, "cars": 1.5, "investing": 1.5,
                                        "food_delivery": 1.2}),
    "retiree": dict(share=0.1, age=(60, 78), income=4500, occ="retired", emp="retired",
                    boost={"health": 4, "groceries": 3, "investing": 2, "insurance": 1.5, "travel": 1.5,
                           "lottery_gaming_risk": 1.5, "social_media": 1}),
    "tech_enthusiast": dict(share=0.06, age=(19, 40), income=13000, occ="engineer", emp="salaried",
                            boost={"mobile_tech": 6, "gaming": 3, "phone_repair": 1.5, "movies_music": 1.5}),
    "repair_technician": dict(share=0.02, age=(24, 52), income=7000, occ="repair technician", emp="self-employed",
                              boost={"phone_repair": 8, "business_supplies": 3, "mobile_tech": 3}),
    "affluent_professional": dict(share=0.08, age=(33, 58), income=32000, occ="manager", emp="salaried",
                                  boost={"travel": 4, "cars": 2.5, "investing": 3, "beauty": 1.5, "fashion": 2,
                                         "insurance": 2, "health": 1.2}),
    "sports_fan": dict(share=0.06, age=(18, 42), income=9000, occ="office worker", emp="salaried",
                       boost={"basketball": 6, "football": 4, "running_fitness": 2.5, "gaming": 1.5}),
    "car_dealer": dict(share=0.02, age=(28, 58), income=18000, occ="car dealer", emp="business owner",
                       boost={"cars": 8, "business_supplies": 2, "credit": 1.5}),
}

PROFILE_SCHEMA: dict[str, str] = {
    "age": "numeric", "gender": "categorical", "city": "categorical", "city_tier": "categorical",
    "region": "categorical", "occupation": "categorical", "employment_type": "categorical",
    "education": "categorical", "marital_status": "categorical", "num_children": "numeric",
    "income_monthly": "numeric", "savings_level": "categorical", "credit_score": "numeric",
    "credit_history_months": "numeric", "has_credit_card": "numeric", "home_ownership": "categorical",
    "car_owner": "numeric", "car_age_years": "numeric", "phone_age_months": "numeric", "devices_count": "numeric",
    "has_2fa": "numeric", "account_age_days": "numeric", "kyc_level": "categorical",
    "membership_level": "categorical", "app_os": "categorical", "preferred_channel": "categorical",
    "risk_rating": "categorical",
}


@dataclass
class Population:
    n: int
    persona: np.ndarray  # int persona index
    persona_names: list[str]
    interests: np.ndarray  # (n, n_topics) rows sum to 1
    activity: np.ndarray  # relative events per day
    latent: dict[str, np.ndarray]  # hidden traits
    profiles: pd.DataFrame

    def is_persona(self, *names: str) -> np.ndarray:
        idx = [self.persona_names.index(n) for n in names]
        return np.isin(self.persona, idx)

    def topic_interest(self, topic: str, topics: list[str]) -> np.ndarray:
        return self.interests[:, topics.index(topic)]


def _pick(rng, options, probs, n):
    p = np.asarray(probs, dtype=float)
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=n, p=p / p.sum())]


def generate_population(n: int, topics: list[str], rng: np.random.Generator, first_id: int = 0,
                        id_width: int | None = None) -> Population:
    """`n` users with ids u<first_id> .. (zero-padded to `id_width` digits, default: as many as n has)."""
    names = list(PERSONAS)
    shares = np.array([PERSONAS[p]["share"] for p in names])
    persona = rng.choice(len(names), size=n, p=shares / shares.sum())

    # interests: sparse Dirichlet around a persona prior
    prior = np.ones((len(names), len(topics))) * 0.35
    for pi, p in enumerate(names):
        for t, w in PERSONAS[p]["boost"].items():
            prior[pi, topics.index(t)] = w
    alpha = prior[persona] * 0.45
    interests = rng.gamma(alpha, 1.0)
    interests /= interests.sum(axis=1, keepdims=True)

    lo = np.array([PERSONAS[p]["age"][0] for p in names])[persona]
    hi = np.array([PERSONAS[p]["age"][1] for p in names])[persona]
    age = (lo + rng.random(n) * (hi - lo + 1)).astype(int)
    income_med = np.array([PERSONAS[p]["income"] for p in names], dtype=float)[persona]
    income = np.round(income_med * rng.lognormal(0, 0.35, n), -2)

    tier = rng.choice([1, 2, 3], size=n, p=[0.35, 0.4, 0.25])
    tier = np.where(persona == names.index("affluent_professional"), np.minimum(tier, 2), tier)
    city = np.empty(n, dtype=object)
    for t, cities in D.CITIES.items():
        m = tier == t
        city[m] = np.asarray(cities, dtype=object)[rng.integers(0, len(cities), m.sum())]
    region = _pick(rng, ["east", "south", "north", "west", "central"], [0.3, 0.25, 0.2, 0.1, 0.15], n)

    # hidden traits
    literacy = np.clip(rng.normal(0.6, 0.2, n) - (age > 60) * 0.25 - (age < 21) * 0.1, 0, 1)
    stress = np.clip(rng.beta(2, 5, n) + (income < 6000) * 0.2 + rng.normal(0, 0.05, n), 0, 1)
    promo_clicker = rng.beta(1.2, 6, n)
    commuter = (rng.random(n) < np.select(
        [persona == names.index(p) for p in ("young_professional", "family_parent", "sports_fan", "tech_enthusiast")],
        [0.8, 0.6, 0.6, 0.65], 0.3)) & (tier <= 2)
    metro_user = commuter & (rng.random(n) < np.where(tier == 1, 0.7, 0.4))
    bike_user = rng.random(n) < (0.08 + 0.25 * (age < 35) + 0.1 * (tier == 1) + 0.3 * interests[:, topics.index("running_fitness")])
    pet_owner = rng.random(n) < np.where(np.isin(persona, [names.index("family_parent"), names.index("retiree")]), 0.16, 0.07)
    pet_kind = rng.random(n) < 0.55  # True: dog, False: cat

    married = rng.random(n) < np.clip((age - 22) / 20, 0.05, 0.85)
    married |= persona == names.index("family_parent")
    children = np.where(persona == names.index("family_parent"), rng.integers(1, 4, n),
                        np.where(married & (age > 28), rng.poisson(0.6, n), 0))
    school_kids = (children > 0) & (age >= 32) & (rng.random(n) < 0.75)

    credit_hist = np.clip((age - 18) * 12 * rng.uniform(0.2, 1.0, n) - (persona == names.index("student")) * 24, 0, None).astype(int)
    credit_score = np.clip(
        rng.normal(640, 60, n) + credit_hist * 0.35 - stress * 120 + np.log(income) * 10 - 90, 300, 850).astype(int)
    has_card = (rng.random(n) < np.clip(0.15 + credit_hist / 150 + income / 40000, 0, 0.95)).astype(int)
    savings = np.select([income * (1 - stress) > 14000, income * (1 - stress) > 5000], ["high", "medium"], "low")
    home = np.where(age > 38, _pick(rng, ["own", "rent", "family"], [0.65, 0.25, 0.1], n),
                    _pick(rng, ["own", "rent", "family"], [0.15, 0.6, 0.25], n))
    car_owner = (rng.random(n) < np.clip(0.1 + income / 30000 + (age > 30) * 0.15, 0, 0.9)).astype(int)
    car_owner[persona == names.index("car_dealer")] = 1
    car_age = np.where(car_owner == 1, np.round(rng.gamma(2.0, 2.5, n), 1), 0.0)
    phone_age = rng.integers(1, 48, n)
    devices = 1 + rng.poisson(0.4 + (persona == names.index("tech_enthusiast")) * 1.5, n)
    has_2fa = (rng.random(n) < np.clip(0.15 + literacy * 0.6, 0, 0.95)).astype(int)
    account_age = rng.integers(30, 3650, n)
    edu = np.where(persona == names.index("student"), "bachelor (in progress)",
                   _pick(rng, ["high school", "vocational", "bachelor", "master"], [0.3, 0.25, 0.35, 0.1], n))
    edu = np.where(persona == names.index("affluent_professional"), "master", edu)
    occ = np.array([PERSONAS[p]["occ"] for p in names], dtype=object)[persona]
    emp = np.array([PERSONAS[p]["emp"] for p in names], dtype=object)[persona]
    kyc = np.where(rng.random(n) < 0.7, "verified", np.where(rng.random(n) < 0.5, "basic", "premium"))
    activity = rng.lognormal(0, 0.45, n) * np.where(age > 60, 0.7, 1.0)
    spend_level = income / 10000 * activity
    membership = np.select([spend_level > 3, spend_level > 1.5, spend_level > 0.6], ["platinum", "gold", "silver"], "bronze")
    app_os = np.where(rng.random(n) < np.clip(0.25 + income / 40000, 0, 0.8), "ios", "android")
    channel = np.where(has_card == 1, _pick(rng, ["credit card", "wallet balance", "pay-later credit"], [0.5, 0.35, 0.15], n),
                       _pick(rng, ["wallet balance", "debit card", "pay-later credit"], [0.55, 0.3, 0.15], n))
    latent_risk = (1 - literacy) * 0.5 + stress * 0.5
    risk = np.select([latent_risk + rng.normal(0, 0.12, n) > 0.6, latent_risk + rng.normal(0, 0.12, n) > 0.4],
                     ["high", "medium"], "low")

    width = id_width or len(str(n))
    profiles = pd.DataFrame({
        "user_id": [f"u{i:0{width}d}" for i in range(first_id, first_id + n)],
        "age": age, "gender": _pick(rng, ["female", "male"], [0.5, 0.5], n),
        "city": city, "city_tier": tier.astype(str), "region": region,
        "occupation": occ, "employment_type": emp, "education": edu,
        "marital_status": np.where(married, "married", "single"), "num_children": children,
        "income_monthly": income, "savings_level": savings, "credit_score": credit_score,
        "credit_history_months": credit_hist, "has_credit_card": has_card, "home_ownership": home,
        "car_owner": car_owner, "car_age_years": car_age, "phone_age_months": phone_age, "devices_count": devices,
        "has_2fa": has_2fa, "account_age_days": account_age, "kyc_level": kyc, "membership_level": membership,
        "app_os": app_os, "preferred_channel": channel, "risk_rating": risk,
    })
    for col in ("gender", "city", "occupation", "employment_type", "education", "savings_level", "home_ownership",
                "kyc_level", "membership_level", "app_os", "preferred_channel", "risk_rating", "marital_status", "region"):
        profiles[col] = profiles[col].astype(str)
    latent = dict(literacy=literacy, stress=stress, promo_clicker=promo_clicker, commuter=commuter,
                  metro_user=metro_user, bike_user=bike_user, pet_owner=pet_owner, pet_is_dog=pet_kind,
                  school_kids=school_kids, tier=tier, age=age, income=income, has_card=has_card,
                  credit_score=credit_score, car_owner=car_owner.astype(bool), car_age=car_age, home=home,
                  has_2fa=has_2fa.astype(bool), savings=savings)
    return Population(n=n, persona=persona, persona_names=names, interests=interests, activity=activity,
                      latent=latent, profiles=profiles)
