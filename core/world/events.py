"""Struct-of-arrays event buffer and text rendering for the simulator.

Generators append whole numpy arrays (one call per batch, never per event). Rendering packs
each event's (template, entity, surface form, second entity, form, amount bucket) into one
integer, renders each distinct key once and indexes back, so text cost scales with the number
of distinct texts rather than the number of events.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from targetbot.core.world.catalog import Catalog
from targetbot.core.world.phrasing import AMOUNT_BUCKETS, SOURCES


class Registry:
    """String <-> small-int codes, in insertion order."""

    def __init__(self, values=()):
        self.values: list[str] = []
        self.index: dict[str, int] = {}
        for v in values:
            self.id(v)

    def id(self, value: str) -> int:
        if value not in self.index:
            self.index[value] = len(self.values)
            self.values.append(value)
        return self.index[value]


@dataclass
class Surface:
    """Surface forms for the {e}/{m} slots: catalog entities first, then free phrases."""

    catalog: Catalog
    forms: list[list[str]] = field(default_factory=list)

    def __post_init__(self):
        self.forms = [list(f) for f in self.catalog.forms]
        self.n_entities = len(self.forms)
        self._phrases: dict[str, int] = {}

    def phrase(self, text: str) -> int:
        if text not in self._phrases:
            self._phrases[text] = len(self.forms)
            self.forms.append([text])
        return self._phrases[text]

    def n_forms(self) -> np.ndarray:
        return np.array([len(f) for f in self.forms], dtype=np.int32)


COLUMNS = ("user", "t", "source", "tmpl", "e1", "f1", "e2", "f2", "amount", "status", "channel", "category",
           "item", "merchant")


class EventBuffer:
    def __init__(self, catalog: Catalog, rng: np.random.Generator, alias_rate: float):
        self.catalog = catalog
        self.rng = rng
        self.alias_rate = alias_rate
        self.surface = Surface(catalog)
        self.templates = Registry()
        self.template_source: list[int] = []
        # category / status strings; catalog names first so an entity's label code is its index
        self.labels = Registry(catalog.names)
        self.chunks: list[dict[str, np.ndarray]] = []
        self._nforms: np.ndarray | None = None

    def template(self, source: str, text: str) -> int:
        tid = self.templates.id(text + "\x00" + source)
        if tid == len(self.template_source):
            self.template_source.append(SOURCES.index(source))
        return tid

    def _forms(self, ent: np.ndarray) -> np.ndarray:
        if self._nforms is None or len(self._nforms) != len(self.surface.forms):
            self._nforms = self.surface.n_forms()
        nf = self._nforms[np.maximum(ent, 0)]
        use_alias = (self.rng.random(len(ent)) < self.alias_rate) & (nf > 1)
        alias = 1 + (self.rng.random(len(ent)) * np.maximum(nf - 1, 1)).astype(np.int32)
        return np.where(use_alias, alias, 0).astype(np.int8)

    def add(self, user, t, tmpl, e1=None, e2=None, amount=None, status="paid", channel=None, category=None,
            item=None, merchant=None, alias_m: bool = True) -> None:
        """Append a batch. Scalars broadcast; category/item/merchant default from the entities."""
        user = np.asarray(user, dtype=np.int32)
        n = len(user)
        if n == 0:
            return

        def arr(v, default, dtype):
            if v is None:
                return np.full(n, default, dtype=dtype)
            a = np.asarray(v, dtype=dtype)
            return np.full(n, a, dtype=dtype) if a.ndim == 0 else a

        e1 = arr(e1, -1, np.int32)
        e2 = arr(e2, -1, np.int32)
        cat = self.catalog.category_arr
        if category is None:
            ent = np.where(e1 < self.surface.n_entities, e1, -1)
            category = np.where(ent >= 0, cat[np.maximum(ent, 0)], -1)
        elif isinstance(category, str):
            category = self.labels.id(category)
        status_id = self.labels.id(status) if isinstance(status, str) else status
        self.chunks.append({
            "user": user, "t": arr(t, 0, np.float32), "source": np.asarray(self.template_source, dtype=np.int8)[arr(tmpl, 0, np.int32)],
            "tmpl": arr(tmpl, 0, np.int32), "e1": e1, "f1": self._forms(e1), "e2": e2, "f2": self._forms(e2) if alias_m else np.zeros(n, np.int8),
            "amount": arr(amount, np.nan, np.float32), "status": arr(status_id, 0, np.int32),
            "channel": arr(channel, -1, np.int32), "category": arr(category, -1, np.int32),
            "item": arr(item, -1, np.int32) if item is not None else np.where(e1 < self.surface.n_entities, e1, -1).astype(np.int32),
            "merchant": arr(merchant, -1, np.int32),
        })

    def concat(self) -> dict[str, np.ndarray]:
        out = {k: np.concatenate([c[k] for c in self.chunks]) for k in COLUMNS}
        self.chunks = [out]
        return out

    def to_frame(self, user_ids: list[str], start: np.datetime64, days: int) -> pd.DataFrame:
        ev = self.concat()
        keep = (ev["t"] >= 0) & (ev["t"] < days)
        ev = {k: v[keep] for k, v in ev.items()}
        order = np.lexsort((ev["t"], ev["user"]))
        ev = {k: v[order] for k, v in ev.items()}
        text_codes, texts = self._render(ev)
        names = np.asarray(self.catalog.names + [""], dtype=object)

        def entity_col(idx: np.ndarray) -> pd.Categorical:
            idx = np.where(idx < self.surface.n_entities, idx, -1)
            return pd.Categorical.from_codes(np.where(idx >= 0, idx, -1), categories=pd.Index(self.catalog.names))

        labels = pd.Index(self.labels.values)
        ts = start + (ev["t"].astype(np.float64) * 86400).astype("timedelta64[s]")
        return pd.DataFrame({
            "user_id": pd.Categorical.from_codes(ev["user"], categories=pd.Index(user_ids)),
            "ts": ts.astype("datetime64[s]"),
            "source": pd.Categorical.from_codes(ev["source"].astype(np.int32), categories=pd.Index(list(SOURCES))),
            "text": pd.Categorical.from_codes(text_codes, categories=pd.Index(texts)),
            "item": entity_col(ev["item"]),
            "category": pd.Categorical.from_codes(ev["category"], categories=labels),
            "merchant": entity_col(ev["merchant"]),
            "amount": np.round(ev["amount"].astype(np.float64), 2),
            "status": pd.Categorical.from_codes(ev["status"], categories=labels),
            "channel": entity_col(ev["channel"]),
        }), names

    def _render(self, ev: dict[str, np.ndarray]) -> tuple[np.ndarray, list[str]]:
        amount = np.nan_to_num(ev["amount"], nan=0.0)
        bucket = np.searchsorted(np.asarray(AMOUNT_BUCKETS), amount, side="right") - 1
        bucket = np.clip(bucket, 0, len(AMOUNT_BUCKETS) - 1)
        uses_bucket = np.array(["{b}" in t for t in self.templates.values], dtype=bool)
        bucket = np.where(uses_bucket[ev["tmpl"]], bucket, 0)  # so unused buckets do not split keys
        assert len(self.surface.forms) < 0x3FFF, "too many surface entities for the text key"
        key = (ev["tmpl"].astype(np.int64) << 38) | ((ev["e1"].astype(np.int64) + 1) << 24) \
            | (ev["f1"].astype(np.int64) << 21) | ((ev["e2"].astype(np.int64) + 1) << 7) \
            | (ev["f2"].astype(np.int64) << 4) | bucket.astype(np.int64)
        uniq, inverse = np.unique(key, return_inverse=True)
        tmpl_text = [t.split("\x00")[0] for t in self.templates.values]
        forms = self.surface.forms
        names = self.catalog.names
        cat = self.catalog.category_arr
        n_ent = self.surface.n_entities
        texts = []
        for k in uniq.tolist():
            tmpl = k >> 38
            e1 = ((k >> 24) & 0x3FFF) - 1
            f1 = (k >> 21) & 0x7
            e2 = ((k >> 7) & 0x3FFF) - 1
            f2 = (k >> 4) & 0x7
            b = AMOUNT_BUCKETS[k & 0xF]
            e = forms[e1][min(f1, len(forms[e1]) - 1)] if e1 >= 0 else ""
            m = forms[e2][min(f2, len(forms[e2]) - 1)] if e2 >= 0 else ""
            c = names[cat[e1]] if 0 <= e1 < n_ent and cat[e1] >= 0 else e
            texts.append(tmpl_text[tmpl].format(e=e, m=m, cat=c, b=b))
        # identical strings from different keys share one category
        uniq_texts, remap = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
        return remap[inverse].astype(np.int32), list(uniq_texts)
