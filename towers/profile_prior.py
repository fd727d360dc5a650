"""Who a request describes, read against the profile table: "high earners who will book a holiday
package" should rank high-income users first, which no behaviour forecast does by itself.

Each profile column is described in a few words from its own name and values: a categorical value
as "occupation: retired", a numeric column as "high income monthly" and "low income monthly", a
0/1 column as "car owner" and "no car owner". The request's subject ("high earners", from
`templates.parse`) is matched to these descriptions with the sentence encoder; a description is
taken when it is close enough (`min_similarity`) and clearly closer than the same column's other
descriptions (`margin`: the encoder barely tells "high age" from "low age" for "seniors", so such a
column is left alone rather than guessed). Each taken description is a per-user value (the
category's indicator, the numeric rank or its complement), and their z-scores are added to the
scorer's scores with `weight` in the scores' own units, as the repeat prior is.

No labels are read and nothing is tied to one world's columns: a workspace with other profile
columns gets descriptions of its own.

    >>> prior = ProfilePrior(profiles, encode)            # doctest: +SKIP
    >>> [m.description for m in prior.matches("retirees")]  # doctest: +SKIP
    ['occupation: retired', 'employment type: retired']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from targetbot.towers.config import ProfilePriorConfig


@dataclass(frozen=True)
class ProfileMatch:
    column: str
    description: str
    similarity: float


def describe_columns(profiles: pd.DataFrame, max_values: int) -> list[tuple[str, str, Callable[[], np.ndarray]]]:
    """(column, description, per-user value) for every describable column; values are computed
    only for the descriptions a request takes."""
    out = []
    for c in profiles.columns:
        if c == "user_id":
            continue
        words = c.replace("_", " ").strip()
        col = profiles[c]
        if pd.api.types.is_bool_dtype(col) or (pd.api.types.is_numeric_dtype(col) and col.dropna().isin([0, 1]).all()):
            x = col.fillna(0).astype(float).to_numpy()
            out += [(c, words, lambda x=x: x), (c, f"no {words}", lambda x=x: 1.0 - x)]
        elif pd.api.types.is_numeric_dtype(col):
            out += [(c, f"high {words}", lambda col=col: col.rank(pct=True).fillna(0.5).to_numpy()),
                    (c, f"low {words}", lambda col=col: 1.0 - col.rank(pct=True).fillna(0.5).to_numpy())]
        else:
            values = col.dropna().astype(str)
            distinct = values.unique()
            if 1 < len(distinct) <= max_values:
                text = col.astype("string")
                out += [(c, f"{words}: {v}", lambda text=text, v=v: (text == v).fillna(False).to_numpy(dtype=float))
                        for v in distinct]
    return out


class ProfilePrior:
    """The profile term of a request's subject over the users of `profiles` (rows in the scorer's
    user order). Descriptions are encoded once, on the first request that has a subject."""

    def __init__(self, profiles: pd.DataFrame, encode: Callable[[list[str]], np.ndarray],
                 config: ProfilePriorConfig | None = None):
        self.profiles = profiles
        self.encode = encode
        self.s = config or ProfilePriorConfig()
        self._described: tuple[list, np.ndarray] | None = None

    def _descriptions(self) -> tuple[list, np.ndarray]:
        if self._described is None:
            described = describe_columns(self.profiles, self.s.max_values)
            vecs = np.asarray(self.encode([d for _, d, _ in described]), dtype=np.float32) if described \
                else np.zeros((0, 1), np.float32)
            vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
            self._described = (described, vecs)
        return self._described

    def matches(self, subject: str | None) -> list[ProfileMatch]:
        """The descriptions the subject takes: per column, the closest one, when it is at least
        `min_similarity` and beats the column's next description by `margin`."""
        if not subject or self.s.weight == 0:
            return []
        described, vecs = self._descriptions()
        if not described:
            return []
        v = np.asarray(self.encode([subject]), dtype=np.float32)[0]
        sim = vecs @ (v / max(float(np.linalg.norm(v)), 1e-12))
        columns = np.array([c for c, _, _ in described])
        out = []
        for c in dict.fromkeys(columns):
            rows = np.flatnonzero(columns == c)
            order = rows[np.argsort(-sim[rows], kind="stable")]
            runner_up = sim[order[1]] if len(order) > 1 else -1.0
            if sim[order[0]] >= self.s.min_similarity and sim[order[0]] - runner_up >= self.s.margin:
                out.append(ProfileMatch(str(c), described[order[0]][1], round(float(sim[order[0]]), 4)))
        return out

    def apply(self, scores: np.ndarray, matches: list[ProfileMatch]) -> np.ndarray:
        """`scores` plus `weight` x the summed z-scores of the matched values, in the scores' units."""
        if not matches or scores.std() == 0:
            return scores
        value = {d: f for _, d, f in self._descriptions()[0]}
        term = np.zeros(len(scores))
        for m in matches:
            x = value[m.description]()
            if x.std() > 0:
                term += (x - x.mean()) / x.std()
        return scores + self.s.weight * scores.std() * term
