"""Caravan insurance (CoIL Challenge 2000) as a targetbot workspace: a real marketing label.

Source: `ISLP/data/Caravan.csv` inside the `ISLP` package (`pip install --no-deps
ISLP==0.6.0`), read in place and never copied: 5,822 customers of a Dutch insurer, 85
columns (43 socio-demographic columns describing the customer's postcode area, 42 product
columns) and `Purchase` (Yes/No: holds a caravan — mobile home — insurance policy). The data
comes from the CoIL 2000 challenge (Sentient Machine Research / UCI), as distributed with ISLR.

Mapping onto the data contract:

* profiles — user `c0001` … `c5822` and all 85 columns. MOSTYPE (customer subtype, 41
  values) and MOSHOOFD (customer main type, 10 values) are categorical and stored as their
  labels from the CoIL data dictionary; every other column is an ordinal code and declared
  numeric (M* = share of the postcode area coded 0–9, P* = contribution level 0–9,
  A* = number of policies). Descriptions come from the data dictionary.
* events — the product columns become behaviour: one `bill` event per product the customer
  holds, e.g. "Holds 2 boat policies (contribution level 4: f 200–499)", with `item` the
  product, `category` its insurance line, `amount` the midpoint of the contribution band (in
  guilders) and `status="held"`. The data is a single snapshot, so **all dates are
  synthetic and fixed**: vehicle and liability policies are dated in window w0
  (2000-01-03 plus one week per product), life, health, property and leisure policies in
  window w1 (2000-07-03 plus one week per product). w0 → w1 is therefore a cross-sell
  "future" for alignment, not a real time order.
* the label — `Purchase = Yes` is **the only event in the label window w2**: "Bought a
  caravan insurance policy" on 2001-01-15, category `caravan insurance`. Nothing else lives
  in w2, and no history event mentions caravans. The profile table deliberately has no
  `Purchase` column (it is the label, not a feature).
* entities — the 21 insurance products plus caravan insurance and the six insurance lines
  (product → line relations).
* scenario — "customers likely to buy caravan insurance" (`caravan_scenarios/`); car-policy
  holders with a high contribution who did not buy are the hard negatives.

Customers with no product (641) have no history events; their profile still describes them.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from targetbot.core.adapters.output import check_target, scenario_summaries, write_workspace
from targetbot.core.adapters.packaged import package_file
from targetbot.core.contract import ProfileSchema
from targetbot.core.errors import DataError
from targetbot.core.workspace import Roles, Window, WorkspaceMeta
from targetbot.core.resources import package_path

PACKAGE = "ISLP"
PIP = "pip install --no-deps ISLP==0.6.0"
DATA_FILE = "data/Caravan.csv"
SCENARIO_DIR = package_path("targetbot.core", "adapters", "caravan_scenarios")

WINDOW_STARTS = {"w0": datetime(2000, 1, 3), "w1": datetime(2000, 7, 3), "w2": datetime(2001, 1, 1)}
WINDOW_END = datetime(2001, 7, 2)
LABEL_DATE = datetime(2001, 1, 15)

# L0: customer subtype (MOSTYPE), L2: customer main type (MOSHOOFD), from the CoIL 2000 dictionary.
SUBTYPES = [
    "High income, expensive child", "Very important provincials", "High status seniors",
    "Affluent senior apartments", "Mixed seniors", "Career and childcare", "Dinki's (double income no kids)",
    "Middle class families", "Modern, complete families", "Stable family", "Family starters",
    "Affluent young families", "Young all american family", "Junior cosmopolitan", "Senior cosmopolitans",
    "Students in apartments", "Fresh masters in the city", "Single youth", "Suburban youth",
    "Ethnically diverse", "Young urban have-nots", "Mixed apartment dwellers", "Young and rising",
    "Young, low educated", "Young seniors in the city", "Own home elderly", "Seniors in apartments",
    "Residential elderly", "Porchless seniors: no front yard", "Religious elderly singles",
    "Low income catholics", "Mixed seniors", "Lower class large families", "Large family, employed child",
    "Village families", "Couples with teens 'Married with children'", "Mixed small town dwellers",
    "Traditional families", "Large religious families", "Large family farms", "Mixed rurals",
]
MAIN_TYPES = [
    "Successful hedonists", "Driven growers", "Average family", "Career loners", "Living well",
    "Cruising seniors", "Retired and religious", "Family with grown ups", "Conservative families", "Farmers",
]
CONTRIBUTION = ["f 0", "f 1–49", "f 50–99", "f 100–199", "f 200–499", "f 500–999", "f 1,000–4,999",
                "f 5,000–9,999", "f 10,000–19,999", "f 20,000 or more"]
CONTRIBUTION_MID = np.array([0, 25, 75, 150, 350, 750, 3000, 7500, 15000, 20000], dtype=np.float64)
SHARE = "share of the postcode area, coded 0 (0%), 1 (1-10%), 2 (11-23%), 3 (24-36%), 4 (37-49%), " \
        "5 (50-62%), 6 (63-75%), 7 (76-88%), 8 (89-99%), 9 (100%)"

DEMOGRAPHICS = {
    "MOSTYPE": "Customer subtype (41 lifestyle segments)",
    "MAANTHUI": "Number of houses (1-10)",
    "MGEMOMV": "Average household size (1-6)",
    "MGEMLEEF": "Average age, coded 1 (20-30), 2 (30-40), 3 (40-50), 4 (50-60), 5 (60-70), 6 (70-80)",
    "MOSHOOFD": "Customer main type (10 segments)",
    "MGODRK": "Roman catholic", "MGODPR": "Protestant", "MGODOV": "Other religion", "MGODGE": "No religion",
    "MRELGE": "Married", "MRELSA": "Living together", "MRELOV": "Other relation", "MFALLEEN": "Singles",
    "MFGEKIND": "Household without children", "MFWEKIND": "Household with children",
    "MOPLHOOG": "High level education", "MOPLMIDD": "Medium level education", "MOPLLAAG": "Lower level education",
    "MBERHOOG": "High status", "MBERZELF": "Entrepreneur", "MBERBOER": "Farmer", "MBERMIDD": "Middle management",
    "MBERARBG": "Skilled labourers", "MBERARBO": "Unskilled labourers",
    "MSKA": "Social class A", "MSKB1": "Social class B1", "MSKB2": "Social class B2", "MSKC": "Social class C",
    "MSKD": "Social class D", "MHHUUR": "Rented house", "MHKOOP": "Home owners",
    "MAUT1": "1 car", "MAUT2": "2 cars", "MAUT0": "No car",
    "MZFONDS": "National health service", "MZPART": "Private health insurance",
    "MINKM30": "Income < 30,000", "MINK3045": "Income 30,000-45,000", "MINK4575": "Income 45,000-75,000",
    "MINK7512": "Income 75,000-122,000", "MINK123M": "Income > 123,000", "MINKGEM": "Average income",
    "MKOOPKLA": "Purchasing power class",
}
NOT_SHARES = {"MOSTYPE", "MAANTHUI", "MGEMOMV", "MGEMLEEF", "MOSHOOFD", "MKOOPKLA"}
CATEGORICAL = {"MOSTYPE": SUBTYPES, "MOSHOOFD": MAIN_TYPES}

# Column suffix -> (singular, plural, insurance line, window). w0: vehicles and liability;
# w1: life/health, property and leisure (see the module docstring: dates are synthetic).
PRODUCTS = {
    "WAPART": ("private third party insurance policy", "private third party insurance policies", "liability insurance", "w0"),
    "WABEDR": ("third party insurance policy for firms", "third party insurance policies for firms", "liability insurance", "w0"),
    "WALAND": ("agricultural third party insurance policy", "agricultural third party insurance policies", "liability insurance", "w0"),
    "PERSAUT": ("car policy", "car policies", "vehicle insurance", "w0"),
    "BESAUT": ("delivery van policy", "delivery van policies", "vehicle insurance", "w0"),
    "MOTSCO": ("motorcycle/scooter policy", "motorcycle/scooter policies", "vehicle insurance", "w0"),
    "VRAAUT": ("lorry policy", "lorry policies", "vehicle insurance", "w0"),
    "AANHANG": ("trailer policy", "trailer policies", "vehicle insurance", "w0"),
    "TRACTOR": ("tractor policy", "tractor policies", "vehicle insurance", "w0"),
    "WERKT": ("agricultural machines policy", "agricultural machines policies", "vehicle insurance", "w0"),
    "BROM": ("moped policy", "moped policies", "vehicle insurance", "w0"),
    "LEVEN": ("life insurance", "life insurances", "life and health insurance", "w1"),
    "PERSONG": ("private accident insurance policy", "private accident insurance policies", "life and health insurance", "w1"),
    "GEZONG": ("family accidents insurance policy", "family accidents insurance policies", "life and health insurance", "w1"),
    "WAOREG": ("disability insurance policy", "disability insurance policies", "life and health insurance", "w1"),
    "BYSTAND": ("social security insurance policy", "social security insurance policies", "life and health insurance", "w1"),
    "BRAND": ("fire policy", "fire policies", "property insurance", "w1"),
    "INBOED": ("property insurance policy", "property insurance policies", "property insurance", "w1"),
    "ZEILPL": ("surfboard policy", "surfboard policies", "leisure insurance", "w1"),
    "PLEZIER": ("boat policy", "boat policies", "leisure insurance", "w1"),
    "FIETS": ("bicycle policy", "bicycle policies", "leisure insurance", "w1"),
}
LABEL_ITEM, LABEL_CATEGORY, LABEL_TEXT = "caravan policy", "caravan insurance", "Bought a caravan insurance policy"


def source_path() -> Path:
    return package_file(PACKAGE, DATA_FILE, PIP)


def read_caravan(path: Path | None = None) -> pd.DataFrame:
    path = path or source_path()
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not a readable CSV ({str(e).splitlines()[0][:120]})") from None
    expected = [*DEMOGRAPHICS, *(f"P{p}" for p in PRODUCTS), *(f"A{p}" for p in PRODUCTS), "Purchase"]
    missing = [c for c in expected if c not in df.columns]
    if missing:
        raise DataError(f"{path}: missing column '{missing[0]}' (expected the 85 CoIL columns and Purchase)")
    for col in expected[:-1]:
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna().to_numpy()
        if bad.any():
            raise DataError(f"{path} row {int(np.flatnonzero(bad)[0]) + 2} column '{col}': not a number")
    bad = ~df["Purchase"].isin(["Yes", "No"]).to_numpy()
    if bad.any():
        raise DataError(f"{path} row {int(np.flatnonzero(bad)[0]) + 2} column 'Purchase': expected Yes or No")
    return df


def build_profiles(df: pd.DataFrame, user_ids: np.ndarray) -> tuple[pd.DataFrame, ProfileSchema]:
    prof = {"user_id": user_ids}
    kinds, descriptions = {}, {}
    for col, desc in DEMOGRAPHICS.items():
        if col in CATEGORICAL:
            labels = CATEGORICAL[col]
            codes = df[col].astype(np.int64).to_numpy()
            if ((codes < 1) | (codes > len(labels))).any():
                row = int(np.flatnonzero((codes < 1) | (codes > len(labels)))[0])
                raise DataError(f"Caravan.csv row {row + 2} column '{col}': code {codes[row]} is outside 1-{len(labels)}")
            names = np.array(labels, dtype=object)
            if col == "MOSTYPE":  # subtypes 5 and 32 share the label "Mixed seniors"
                names = np.array([f"{n} ({i + 1})" if labels.count(n) > 1 else n for i, n in enumerate(labels)],
                                 dtype=object)
            prof[col] = names[codes - 1]
            kinds[col] = "categorical"
            descriptions[col] = f"{desc}; labels from the CoIL 2000 data dictionary."
        else:
            prof[col] = df[col].astype(np.int64).to_numpy()
            kinds[col] = "numeric"
            descriptions[col] = desc if col in NOT_SHARES else f"{desc}: {SHARE}"
    for p, (single, plural, _, _) in PRODUCTS.items():
        prof[f"P{p}"] = df[f"P{p}"].astype(np.int64).to_numpy()
        kinds[f"P{p}"] = "numeric"
        descriptions[f"P{p}"] = f"Contribution level of {plural}, coded 0 (f 0) … 9 (f 20,000 or more)"
    for p, (single, plural, _, _) in PRODUCTS.items():
        prof[f"A{p}"] = df[f"A{p}"].astype(np.int64).to_numpy()
        kinds[f"A{p}"] = "numeric"
        descriptions[f"A{p}"] = f"Number of {plural}"
    return pd.DataFrame(prof), ProfileSchema(columns=kinds, descriptions=descriptions)


def build_events(df: pd.DataFrame, user_ids: np.ndarray) -> pd.DataFrame:
    """One event per held product (history windows) plus the purchase label (window w2)."""
    parts = []
    week = {"w0": 0, "w1": 0}
    for p, (single, plural, line, window) in PRODUCTS.items():
        n = df[f"A{p}"].astype(np.int64).to_numpy()
        level = df[f"P{p}"].astype(np.int64).clip(0, 9).to_numpy()
        held = np.flatnonzero((n > 0) | (level > 0))
        if len(held):
            k, lv = n[held], level[held]
            noun = np.where(k == 1, single, plural)
            count = np.where(k > 0, k.astype(str), "some")
            band = np.array(CONTRIBUTION, dtype=object)[lv]
            text = ("Holds " + pd.Series(count) + " " + pd.Series(noun) + " (contribution level "
                    + pd.Series(lv.astype(str)) + ": " + pd.Series(band) + ")")
            parts.append(pd.DataFrame({
                "user_id": user_ids[held],
                "ts": WINDOW_STARTS[window] + timedelta(weeks=week[window]),
                "source": "bill", "text": text.to_numpy(), "item": single, "category": line,
                "amount": CONTRIBUTION_MID[lv], "status": "held", "window": window,
            }))
        week[window] += 1
    bought = np.flatnonzero(df["Purchase"].to_numpy() == "Yes")
    parts.append(pd.DataFrame({
        "user_id": user_ids[bought], "ts": LABEL_DATE, "source": "bill", "text": LABEL_TEXT, "item": LABEL_ITEM,
        "category": LABEL_CATEGORY, "amount": np.nan, "status": "bought", "window": "w2",
    }))
    ev = pd.concat(parts, ignore_index=True)
    ev["ts"] = pd.to_datetime(ev["ts"])
    ev = ev.sort_values(["user_id", "ts"], kind="stable").reset_index(drop=True)
    for col in ("user_id", "source", "text", "item", "category", "status"):
        ev[col] = ev[col].astype("category")
    ev["window"] = pd.Categorical(ev["window"], categories=list(WINDOW_STARTS))
    return ev


def build_entities() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, rels = [], []
    for p, (single, plural, line, _) in PRODUCTS.items():
        rows.append({"entity": single, "type": "insurance_product", "aliases": [plural],
                     "description": f"{single[0].upper()}{single[1:]} ({line}); CoIL columns P{p} (contribution) "
                                    f"and A{p} (number of policies)."})
        rels.append({"head": single, "relation": "belongs_to_line", "tail": line})
    rows.append({"entity": LABEL_ITEM, "type": "insurance_product",
                 "aliases": ["caravan insurance policy", "mobile home policy", "caravan insurance"],
                 "description": "Insurance for a caravan (mobile home); the CoIL 2000 target product."})
    lines = sorted({v[2] for v in PRODUCTS.values()})
    for line in lines:
        rows.append({"entity": line, "type": "insurance_line", "aliases": [],
                     "description": f"Line of business: {line}."})
    rels.append({"head": LABEL_ITEM, "relation": "belongs_to_line", "tail": "leisure insurance"})
    return pd.DataFrame(rows), pd.DataFrame(rels)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def create_caravan_workspace(root: str | Path, overwrite: bool = False) -> dict:
    """Build the Caravan workspace at `root`; returns sizes, scenario prevalence and timings."""
    check_target(root, overwrite)
    t0 = time.perf_counter()
    path = source_path()
    df = read_caravan(path)
    user_ids = np.array([f"c{i:04d}" for i in range(1, len(df) + 1)], dtype=object)
    profiles, schema = build_profiles(df, user_ids)
    events = build_events(df, user_ids)
    entities, relations = build_entities()
    t_build = time.perf_counter() - t0
    names = list(WINDOW_STARTS)
    bounds = [*WINDOW_STARTS.values(), WINDOW_END]
    meta = WorkspaceMeta(
        name="caravan-coil2000", origin="caravan",
        windows=[Window(name=w, start=bounds[i], end=bounds[i + 1]) for i, w in enumerate(names)],
        roles=Roles(train_input=["w0"], train_target=["w1"], history=["w0", "w1"], label=["w2"]),
        eval_fraction=0.5, seed=0,
        info={"dataset": "CoIL Challenge 2000 Caravan insurance (ISLR/ISLP distribution)",
              "package": f"{PACKAGE}=={_version(PACKAGE)}", "files": {"caravan": f"{PACKAGE}/{DATA_FILE}"},
              "dates": "synthetic and fixed: w0 vehicle/liability policies, w1 life/health/property/leisure "
                       "policies, w2 only the Purchase=Yes label event",
              "licence": "CoIL 2000 data (Sentient Machine Research), free for research and education"},
    )
    t = time.perf_counter()
    ws = write_workspace(root, meta, {"events": events, "profiles": profiles, "entities": entities,
                                      "relations": relations},
                         schema, sorted(SCENARIO_DIR.glob("*.yaml")), overwrite=overwrite)
    t_write = time.perf_counter() - t
    t = time.perf_counter()
    scenarios = scenario_summaries(ws)
    t_label = time.perf_counter() - t
    return {
        "workspace": str(ws.root), "origin": "caravan", "users": int(len(profiles)), "events": int(len(events)),
        "distinct_texts": int(events["text"].cat.categories.size),
        "events_per_window": {str(k): int(v) for k, v in events["window"].value_counts(sort=False).items()},
        "entities": int(len(entities)), "relations": int(len(relations)), "scenarios": scenarios,
        "timings_s": {"build": round(t_build, 2), "write": round(t_write, 2), "label": round(t_label, 2),
                      "total": round(time.perf_counter() - t0, 2)},
    }
