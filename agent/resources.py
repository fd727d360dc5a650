"""What the agent's tools read, loaded on first use and kept for the life of the process, so a
chat, a batch or an evaluation pays each load once (warm asks). The models come from the
caller's `Models` (agent/models.py); the workspace's configs are read once, here.

The FIND bundle and the EGL graph are optional: a workspace without one runs the plan with the
other source (the explanation says so); a workspace with neither cannot answer.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cached_property

import numpy as np
import pandas as pd

from targetbot.agent.config import AgentConfig
from targetbot.agent.models import Models
from targetbot.core.config import Settings
from targetbot.core.errors import TargetbotError
from targetbot.core.workspace import Workspace


class Resources:
    def __init__(self, ws: Workspace, models: Models, config: AgentConfig | None = None):
        self.ws = ws
        self.models = models
        self.config = config or AgentConfig.for_workspace(ws.root)
        self._cache: dict = {}

    @property
    def settings(self) -> Settings:
        return self.models.settings

    @cached_property
    def graph_config(self):
        """WS/egl.yaml (expansion and preference settings), read once."""
        from targetbot.egl.config import GraphConfig

        return GraphConfig.for_workspace(self.ws.root)

    @cached_property
    def find_config(self):
        """WS/find.yaml (the zero-shot scorer's settings), read once."""
        from targetbot.towers.config import FindConfig

        return FindConfig.for_workspace(self.ws.root)

    # ---- users and their data ----------------------------------------------------------------
    @cached_property
    def profiles(self) -> pd.DataFrame:
        p = self.ws.user_profiles()
        p["user_id"] = p["user_id"].astype(str)
        return p.reset_index(drop=True)

    @cached_property
    def users(self) -> pd.Index:
        """Every user of the workspace (the profiles' order): the universe audiences are drawn from."""
        return pd.Index(self.profiles["user_id"], name="user_id")

    @cached_property
    def batches(self):
        """The workspace's events by user batch (targetbot.core.user_batches), written on first use."""
        from targetbot.core.user_batches import UserBatches

        return UserBatches.build(self.ws)

    @cached_property
    def _history_index(self) -> tuple[pd.Index, "object"]:
        """(every distinct history-window text, sparse users × texts event counts): the evidence for
        explanations and exact exclusions, built batch by batch and cached beside the batches, so
        no per-event table is held however many users there are. Label windows are never read."""
        from scipy import sparse

        from targetbot.core.atomic import atomic_path, write_parquet

        b = self.batches
        path = b.root / "history-user-text.npz"
        names = b.root / "history-texts.parquet"
        if path.is_file() and names.is_file():
            return pd.Index(pd.read_parquet(names)["text"].astype(str)), sparse.load_npz(path).tocsr()
        texts = pd.Index([], dtype=object)
        parts = []
        for i in range(len(b)):
            ev = b.read(i, columns=["text"], windows=list(self.ws.meta.roles.history))
            lo, hi = b.bounds(i)
            text = ev["text"] if isinstance(ev["text"].dtype, pd.CategoricalDtype) else ev["text"].astype("category")
            cats = text.cat.categories.astype(str)
            texts = texts.append(cats.difference(texts))
            codes = text.cat.codes.to_numpy()
            cols = texts.get_indexer(cats)[np.maximum(codes, 0)]
            rows = ev["user_id"].cat.codes.to_numpy() - lo
            ok = codes >= 0
            parts.append((rows[ok], cols[ok], hi - lo))  # the matrix waits until every text has a column
        n_texts = len(texts)
        blocks = []
        for rows, cols, n in parts:
            m = sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n, n_texts))
            m.sum_duplicates()
            blocks.append(m)
        user_text = sparse.vstack(blocks).tocsr() if blocks else sparse.csr_matrix((len(self.users), n_texts))
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:  # a file object: save_npz would rename a path
            sparse.save_npz(fh, user_text, compressed=False)
        write_parquet(names, pd.DataFrame({"text": texts.astype(str)}))
        return texts, user_text

    @property
    def history_texts(self) -> pd.Index:
        """Every distinct text of the history windows (the columns of `user_text`)."""
        return self._history_index[0]

    @property
    def user_text(self):
        """Sparse users × history texts: how often each user's history holds each text."""
        return self._history_index[1]
    @cached_property
    def entity_forms(self) -> dict[str, list[str]]:
        """Entity name -> the name and its aliases (how history text may name it)."""
        ents = self.ws.entities()
        out = {}
        for name, al in zip(ents["entity"].astype(str), ents["aliases"] if "aliases" in ents.columns else [None] * len(ents)):
            forms = [name] + [str(a) for a in (list(al) if al is not None and not isinstance(al, float) else [])]
            out[name] = [f for f in dict.fromkeys(f.strip() for f in forms) if f]
        return out

    def texts_naming(self, entity: str) -> np.ndarray:
        """Codes of the distinct history texts that name the entity or one of its aliases (whole words,
        case-insensitive)."""
        forms = self.entity_forms.get(entity, [entity])
        pattern = "|".join(r"(?<![a-z0-9])" + re.escape(f.lower()) + r"(?![a-z0-9])" for f in forms)
        cats = self.history_texts_lower
        return np.flatnonzero(cats.str.contains(pattern, regex=True).to_numpy())

    @cached_property
    def history_texts_lower(self) -> pd.Series:
        return pd.Series(self.history_texts.astype(str)).str.lower()

    def users_mentioning(self, entity_names: list[str]) -> tuple[np.ndarray, dict[str, int]]:
        """Mask over `users` of those whose history names any of the entities (by name or alias),
        and the count per entity. Exact: a text match, no model."""
        mask = np.zeros(len(self.users), dtype=bool)
        per: dict[str, int] = {}
        for name in entity_names:
            named = np.zeros(len(self.history_texts), dtype=np.float32)
            named[self.texts_naming(name)] = 1.0
            m = (self.user_text @ named) > 0
            per[name] = int(m.sum())
            mask |= m
        return mask, per

    @cached_property
    def text_entities(self):
        """Sparse (distinct history text × graph entity) matrix: which entities each text names, from
        one pass of the graph's dictionary (egl.extraction; unambiguous mentions), once per process."""
        from scipy import sparse

        from targetbot.egl.expansion import graph_dictionary
        from targetbot.egl.extraction import extract_texts

        g = self.graph()
        cats = self.history_texts
        t_idx, ent, grp = extract_texts(graph_dictionary(g), cats)
        keep = grp < 0
        return sparse.csr_matrix((np.ones(int(keep.sum()), np.float32), (t_idx[keep], ent[keep])),
                                 shape=(len(cats), g.n))

    @cached_property
    def history_mentions(self):
        """Sparse (user row × graph entity) counts of history events naming each entity."""
        return (self.user_text @ self.text_entities).tocsc()

    def user_events(self, user_ids: list[str]) -> pd.DataFrame:
        """The history events (user_id, ts, source, text) of a few users, read from their batches;
        `text` is categorical over `history_texts`."""
        pos = self.users.get_indexer(pd.Index(user_ids).astype(str))
        ev = self.batches.read_users(pos[pos >= 0], columns=["ts", "source", "text"],
                                     windows=list(self.ws.meta.roles.history))
        ev["text"] = pd.Categorical(ev["text"].astype(str), categories=self.history_texts)
        return ev[["user_id", "ts", "source", "text"]]

    # ---- models ------------------------------------------------------------------------------
    def zero_shot(self):
        """FIND's ZeroShot over the current tower bundle, or None when the towers are not built."""
        if "zs" not in self._cache:
            from targetbot.towers.bundle import Bundle
            from targetbot.towers.find import ZeroShot

            try:
                self._cache["zs"] = ZeroShot(Bundle.load(self.ws, self.settings), self.models.encode,
                                             config=self.find_config)
            except TargetbotError as e:
                self._cache["zs"] = None
                self._cache["zs_error"] = str(e)
        return self._cache["zs"]

    def graph(self):
        """The EGL graph, or None when it is not built."""
        if "graph" not in self._cache:
            from targetbot.egl.storage import load_graph

            try:
                self._cache["graph"] = load_graph(self.ws)
            except TargetbotError as e:
                self._cache["graph"] = None
                self._cache["graph_error"] = str(e)
        return self._cache["graph"]

    def missing(self, what: str) -> str:
        return self._cache.get(f"{what}_error", f"no {what}")

    def encode(self, texts: list[str]) -> np.ndarray:
        """The text encoder (MiniLM), loaded on first need: matches free-text phrases to entities."""
        return self.models.encode(texts)

    @cached_property
    def entity_index(self):
        """The rewriter's retrieval index over the catalogue (rewrite/retrieval.py), cached on disk."""
        from targetbot.rewrite.retrieval import EntityIndex

        return EntityIndex.build(self.catalog, self.models.text_encoder(), self.ws.artifacts_dir / "rewrite")

    def entity_index_version(self) -> str:
        """The index's version without building it (plan-cache keys)."""
        from targetbot.rewrite.retrieval import index_version

        return index_version(self.catalog, self.settings.text_encoder)

    @cached_property
    def catalog(self):
        from targetbot.rewrite.catalog import Catalog

        return Catalog.from_workspace(self.ws)

    # ---- provenance --------------------------------------------------------------------------
    def versions(self) -> dict:
        """Model and artifact versions that produced an audience (for the run record)."""
        from importlib.metadata import PackageNotFoundError, version

        try:
            installed = version("targetbot")
        except PackageNotFoundError:  # run from a checkout without installing
            installed = "0"
        out: dict = {"targetbot": installed, "agent_config": self.config.model_dump()}
        zs = self.zero_shot()
        if zs is not None:
            out["towers"] = {"bundle": zs.bundle.root.name, "text_encoder": zs.bundle.config.text_encoder,
                             "built": zs.bundle.meta.get("built_at") or zs.bundle.meta.get("created")}
        g = self.graph()
        if g is not None:
            out["graph"] = {"key": g.manifest.get("key"), "built": g.manifest.get("built_at") or g.manifest.get("created")}
        data = self.ws.table_path("events")
        out["data"] = {"events_bytes": data.stat().st_size if data.exists() else None,
                       "events_mtime": int(data.stat().st_mtime) if data.exists() else None}
        return out


def fingerprint(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:12]
