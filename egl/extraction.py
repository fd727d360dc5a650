"""Entity extraction: dictionary surface forms -> entity mentions in behaviour text.

A dictionary matcher over word tokens (leftmost-longest, like Aho–Corasick over a token
alphabet): every entity name and alias is normalised into a token tuple, and each text is
scanned once, trying the longest form that starts at each token first. Matching works per
*distinct* text — event tables store text as a categorical, so millions of events share tens of
thousands of texts — and mentions are mapped back to events through the category codes.

Normalisation: lower case, every run of non-alphanumeric characters is a token boundary,
so "Man City's" matches the alias "Man City" and "is PixdraaLite worth it" the alias
"PixdraaLite". Short all-capital aliases ("NBA", "ORO") match case-sensitively, so the
brand code "TOP" does not fire on "top up".

An ambiguous form (one alias shared by several entities, e.g. a three-letter brand code) is
resolved by context: the candidate that the same user mentions unambiguously within
`context_minutes` of the event wins; otherwise the mention is dropped. Resolution only looks at
the same user's mentions, so extraction may run on any batch of whole users; `TextMatches`
carries the per-text matches from one batch to the next.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from targetbot.core.errors import DataError

_TOKEN = re.compile(r"[0-9a-z]+")
_RAW_TOKEN = re.compile(r"[0-9A-Za-z]+")
ACRONYM_MAX = 4  # all-capital forms up to this length match case-sensitively


def tokens(text: str) -> list[str]:
    """Lower-cased alphanumeric tokens."""
    return _TOKEN.findall(text.lower())


def normalise(text: str) -> str:
    return " ".join(tokens(text))


def _is_acronym(form: str) -> bool:
    letters = re.sub(r"[^A-Za-z]", "", form)
    return 0 < len(form) <= ACRONYM_MAX and letters.isupper() and " " not in form


@dataclass
class Dictionary:
    """The entity dictionary in matchable form."""

    names: list[str]
    types: list[str]
    forms: dict[tuple[str, ...], list[int]] = field(default_factory=dict)  # case-insensitive
    acronyms: dict[tuple[str, ...], list[int]] = field(default_factory=dict)  # case-sensitive
    max_len: int = 1

    @classmethod
    def from_frame(cls, entities: pd.DataFrame) -> "Dictionary":
        """Build from an `entities` table (entity, type, aliases, description)."""
        for col in ("entity", "type"):
            if col not in entities.columns:
                raise DataError(f"entities table: missing column '{col}'")
        names = entities["entity"].astype(str).tolist()
        dup = pd.Series(names)[pd.Series(names).duplicated()]
        if len(dup):
            row = int(dup.index[0])
            raise DataError(f"entities table row {row}: entity '{names[row]}' appears more than once")
        d = cls(names=names, types=entities["type"].astype(str).tolist())
        aliases = entities["aliases"] if "aliases" in entities.columns else pd.Series([[]] * len(names))
        canonical: dict[tuple[str, ...], int] = {}
        for i, (name, al) in enumerate(zip(names, aliases)):
            al = [] if al is None or (isinstance(al, float) and np.isnan(al)) else list(al)
            for k, form in enumerate([name, *al]):
                form = str(form).strip()
                if not form:
                    continue
                if _is_acronym(form):
                    key, table = (form,), d.acronyms
                else:
                    key, table = tuple(tokens(form)), d.forms
                if not key:
                    continue
                if k == 0:
                    canonical.setdefault(key, i)
                ids = table.setdefault(key, [])
                if i not in ids:
                    ids.append(i)
                d.max_len = max(d.max_len, len(key))
        # A form that is one entity's canonical name resolves to it even if it is another's alias.
        for table in (d.forms, d.acronyms):
            for key, ids in table.items():
                if len(ids) > 1 and key in canonical:
                    table[key] = [canonical[key]]
        return d

    @property
    def ambiguous_forms(self) -> int:
        return sum(len(v) > 1 for v in self.forms.values()) + sum(len(v) > 1 for v in self.acronyms.values())

    def match_all(self, text: str) -> list[int]:
        """Every unambiguous entity named anywhere in `text`, overlapping forms included
        ("Veron Lite smartphone" names Veron Lite, Veron and smartphone). For definitions, not events."""
        low = tokens(text)
        raw = _RAW_TOKEN.findall(text)
        out: list[int] = []
        for i in range(len(low)):
            for m in range(1, min(self.max_len, len(low) - i) + 1):
                ids = self.forms.get(tuple(low[i:i + m]))
                if ids is not None and len(ids) == 1 and ids[0] not in out:
                    out.append(ids[0])
            if len(raw) == len(low):
                ids = self.acronyms.get((raw[i],))
                if ids is not None and len(ids) == 1 and ids[0] not in out:
                    out.append(ids[0])
        return out

    def match(self, text: str) -> list[list[int]]:
        """Mentions in one text, left to right: each a list of candidate entity ids (1 = unambiguous)."""
        low = tokens(text)
        raw = _RAW_TOKEN.findall(text)
        if len(raw) != len(low):  # cannot happen with ASCII; keep the case-insensitive path safe
            raw = low
        out: list[list[int]] = []
        i, n = 0, len(low)
        forms, acr, maxn = self.forms, self.acronyms, self.max_len
        while i < n:
            hit = None
            for m in range(min(maxn, n - i), 0, -1):
                ids = forms.get(tuple(low[i:i + m]))
                if ids is None and m == 1:
                    ids = acr.get((raw[i],))
                if ids is not None:
                    hit = (ids, m)
                    break
            if hit is None:
                i += 1
            else:
                out.append(hit[0])
                i += hit[1]
        return out


class TextMatches:
    """A dictionary whose `match` remembers each distinct text's result.

    Batches of users share most of their texts, so a build that extracts batch by batch would
    otherwise match the same texts once per batch. Usable wherever a `Dictionary` is matched."""

    _NONE: list = []  # one shared result for the many texts that name nothing

    def __init__(self, dictionary: Dictionary):
        self.dictionary = dictionary
        self._seen: dict[str, list[list[int]]] = {}

    def match(self, text: str) -> list[list[int]]:
        hit = self._seen.get(text)
        if hit is None:
            hit = self.dictionary.match(text) or self._NONE
            self._seen[text] = hit
        return hit

    def __len__(self) -> int:
        """Distinct texts matched so far."""
        return len(self._seen)

    @property
    def texts_with_mentions(self) -> int:
        return sum(1 for v in self._seen.values() if v)


@dataclass
class Mentions:
    """Entity mentions of events: one row per (event, entity)."""

    frame: pd.DataFrame  # user (category), ts (datetime64), entity (int32), event (int64 row of the events table)
    stats: dict

    def __len__(self) -> int:
        return len(self.frame)


def extract_texts(dictionary: Dictionary | TextMatches, texts: pd.Index | list[str]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Match every distinct text once. Returns (text_index, entity, ambiguous_group) per mention;
    ambiguous mentions repeat their text_index/group once per candidate, with group >= 0."""
    t_idx, ent, grp = [], [], []
    g = 0
    for ti, text in enumerate(texts):
        for ids in dictionary.match(str(text)):
            if len(ids) == 1:
                t_idx.append(ti)
                ent.append(ids[0])
                grp.append(-1)
            else:
                for e in ids:
                    t_idx.append(ti)
                    ent.append(e)
                    grp.append(g)
                g += 1
    return (np.asarray(t_idx, dtype=np.int64), np.asarray(ent, dtype=np.int32), np.asarray(grp, dtype=np.int64))


def extract_events(dictionary: Dictionary | TextMatches, events: pd.DataFrame, column: str = "text",
                   context_minutes: float = 60.0) -> Mentions:
    """Mentions of dictionary entities in `events[column]` (vectorised through categorical codes)."""
    if column not in events.columns:
        raise DataError(f"events table: missing column '{column}'")
    col = events[column]
    if not isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype("category")
    cats = col.cat.categories
    codes = col.cat.codes.to_numpy().astype(np.int64)
    # Only the texts these events use: a column read from Parquet keeps the whole file's
    # dictionary as its categories, so a batch of users would otherwise match every text there is.
    used = np.unique(codes[codes >= 0])
    t_idx, ent, grp = extract_texts(dictionary, cats[used])
    t_idx = used[t_idx]

    # events -> mentions: for each text code, the slice of mentions of that text
    order = np.argsort(t_idx, kind="stable")
    t_sorted = t_idx[order]
    starts = np.searchsorted(t_sorted, np.arange(len(cats)), side="left")
    ends = np.searchsorted(t_sorted, np.arange(len(cats)), side="right")
    valid = codes >= 0
    per_event = np.zeros(len(codes), dtype=np.int64)
    per_event[valid] = ends[codes[valid]] - starts[codes[valid]]
    ev_rep = np.repeat(np.arange(len(codes)), per_event)
    offs = np.arange(len(ev_rep)) - np.repeat(np.cumsum(per_event) - per_event, per_event)
    m_idx = order[np.repeat(starts[np.maximum(codes, 0)], per_event) + offs] if len(ev_rep) else np.zeros(0, np.int64)
    m_ent = ent[m_idx]
    m_grp = grp[m_idx]

    user = events["user_id"]
    if not isinstance(user.dtype, pd.CategoricalDtype):
        user = user.astype("category")
    ts = pd.to_datetime(events["ts"]).to_numpy()
    frame = pd.DataFrame({
        "user": pd.Categorical.from_codes(user.cat.codes.to_numpy()[ev_rep], categories=user.cat.categories),
        "ts": ts[ev_rep],
        "entity": m_ent,
        "event": ev_rep,
        "group": np.where(m_grp >= 0, ev_rep + m_grp * np.int64(len(codes)), -1),  # one id per ambiguous mention
    })
    n_amb_mentions = int(frame.loc[frame["group"] >= 0, "group"].nunique())
    clear = frame[frame["group"] < 0]
    resolved = _resolve_ambiguous(frame[frame["group"] >= 0], clear, context_minutes)
    out = pd.concat([clear, resolved], ignore_index=True).drop(columns="group")
    out = out.sort_values(["user", "ts", "event"], kind="stable").reset_index(drop=True)
    stats = {
        "distinct_texts": int(len(used)),
        "texts_with_mentions": int(len(np.unique(t_idx))),
        "events": int(len(codes)),
        "events_with_mentions": int(out["event"].nunique()),
        "mentions": int(len(out)),
        "ambiguous_mentions": n_amb_mentions,
        "ambiguous_resolved": int(len(resolved)),
        "entities_seen": int(out["entity"].nunique()),
    }
    return Mentions(out, stats)


def _resolve_ambiguous(amb: pd.DataFrame, clear: pd.DataFrame, context_minutes: float) -> pd.DataFrame:
    """Keep the candidate of each ambiguous mention that the same user mentions unambiguously
    within `context_minutes`; drop mentions with no such candidate or with several."""
    if amb.empty:
        return amb.drop(columns="group").assign(group=-1).iloc[:0]
    ctx = clear[["user", "ts", "entity"]].rename(columns={"ts": "ts_ctx"})
    m = amb.merge(ctx, on=["user", "entity"], how="inner")
    near = (m["ts"] - m["ts_ctx"]).abs() <= pd.Timedelta(minutes=context_minutes)
    m = m[near.to_numpy()]
    m = m.drop_duplicates(["group", "entity"])
    counts = m.groupby("group")["entity"].transform("size")
    m = m[counts.to_numpy() == 1]
    return m.drop(columns="ts_ctx").assign(group=-1)[amb.columns]
