"""The stored entity graph: what `build_graph` writes and every reader (expand, users, show, the
graph suite, the agent) loads.

    WS/artifacts/graph/
      manifest.json        config + key, data fingerprint, stage timings, stats, metrics
      entities.parquet     id, entity, type, mentions (every user's, in the latest snapshot), degree
      edges.parquet        every candidate edge of the latest snapshot: head, tail, score (sigmoid of
                           the ensemble logit), kept_head / kept_tail (the source's adaptive threshold
                           passed), sources, co-occurrence and semantic scores, session count, gloss
      embeddings.npy       the ensemble entity embeddings (float32, n x d), as the link decoder sees them
      preference_embeddings.npy  h_e for r_u . h_e (see egl.preference.preference_space)
      thresholds.npy       per-entity adaptive thresholds (logits)
      semantic.npy         semantic (text-encoder) embeddings, for matching seed phrases
      users.parquet        user_id + row of preferences.npy: every user who mentions a graph entity in the
                           latest snapshot, in profile order (whether or not relations were mined from them)
      preferences.npy      r_u = mean h_e over the user's latest-snapshot sequence (preference h_e); loaded
                           as a memory map, since it grows with the users
      user_entities.npz    users × entities mention counts in the latest snapshot (rows as users.parquet),
                           for `top_k` preference pooling
      snapshots/s<k>.npz   per snapshot: candidate graph, ALPC embeddings, thresholds, logits
      test_pairs.npy       the held-out pairs every model was scored on (test_logits.npy: the ensemble's)

The directory is written to a temporary sibling and renamed into place, so readers never see
half a graph. `GraphStore.load` keeps one loaded graph per directory and manifest time, so
repeated queries in one process are fast (warm expansion latency).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from targetbot.egl.config import PreferenceConfig
from targetbot.core.errors import TargetbotError

STAGE = "graph"
MANIFEST = "manifest.json"


def graph_dir(ws) -> Path:
    return ws.artifacts_dir / STAGE


def cache_dir(ws) -> Path:
    d = ws.artifacts_dir / "graph-cache"
    d.mkdir(parents=True, exist_ok=True)
    return d


@dataclass
class SnapshotArrays:
    name: str
    edges: np.ndarray
    sources: np.ndarray
    cooc: np.ndarray
    semantic: np.ndarray
    count: np.ndarray
    gloss: np.ndarray
    embeddings: np.ndarray
    thresholds: np.ndarray
    edge_logits: np.ndarray
    test_logits: np.ndarray
    link_auc: float
    U: np.ndarray  # skip-gram vectors of the snapshot
    V: np.ndarray
    counts: sparse.csr_matrix  # session pair counts of the snapshot
    start: str = ""
    end: str = ""

    ARRAYS = ("edges", "sources", "cooc", "semantic", "count", "gloss", "embeddings", "thresholds", "edge_logits",
              "test_logits", "U", "V")

    def save(self, path: Path) -> None:
        c = self.counts.tocsr()
        np.savez_compressed(path, **{k: getattr(self, k) for k in self.ARRAYS}, link_auc=np.float64(self.link_auc),
                            counts_data=c.data, counts_indices=c.indices, counts_indptr=c.indptr,
                            counts_shape=np.array(c.shape),
                            meta=np.array(json.dumps({"name": self.name, "start": self.start, "end": self.end})))

    @classmethod
    def load(cls, path: Path) -> "SnapshotArrays":
        z = np.load(path)
        meta = json.loads(str(z["meta"]))
        counts = sparse.csr_matrix((z["counts_data"], z["counts_indices"], z["counts_indptr"]),
                                   shape=tuple(z["counts_shape"]))
        return cls(name=meta["name"], start=meta["start"], end=meta["end"], link_auc=float(z["link_auc"]),
                   counts=counts, **{k: z[k] for k in cls.ARRAYS})

    def candidate_graph(self):
        from targetbot.egl.candidates import CandidateGraph

        return CandidateGraph(len(self.U), self.edges, self.sources, self.cooc, self.semantic, self.count, self.gloss)


@dataclass
class Graph:
    """A loaded entity graph with the lookups expansion and preference need."""

    root: Path
    manifest: dict
    entities: pd.DataFrame
    edges: pd.DataFrame
    embeddings: np.ndarray
    thresholds: np.ndarray
    semantic: np.ndarray
    preference_embeddings: np.ndarray | None = None
    _cache: dict = field(default_factory=dict)

    @property
    def h(self) -> np.ndarray:
        """h_e for user preferences (egl.preference); the raw embeddings when none were stored."""
        return self.embeddings if self.preference_embeddings is None else self.preference_embeddings

    @property
    def n(self) -> int:
        return len(self.entities)

    @cached_property
    def names(self) -> list[str]:
        return self.entities["entity"].tolist()

    @cached_property
    def types(self) -> list[str]:
        return self.entities["type"].tolist()

    @cached_property
    def index(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.names)}

    @cached_property
    def adjacency(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Kept (mined) relations per source entity: (neighbour ids, scores), best first."""
        e = self.edges
        a = np.concatenate([e["head_id"].to_numpy()[e["kept_head"].to_numpy()],
                            e["tail_id"].to_numpy()[e["kept_tail"].to_numpy()]])
        b = np.concatenate([e["tail_id"].to_numpy()[e["kept_head"].to_numpy()],
                            e["head_id"].to_numpy()[e["kept_tail"].to_numpy()]])
        s = np.concatenate([e["score"].to_numpy()[e["kept_head"].to_numpy()],
                            e["score"].to_numpy()[e["kept_tail"].to_numpy()]])
        order = np.lexsort((-s, a))
        a, b, s = a[order], b[order], s[order]
        bounds = np.searchsorted(a, np.arange(self.n + 1))
        return [(b[bounds[i]:bounds[i + 1]], s[bounds[i]:bounds[i + 1]]) for i in range(self.n)]

    def snapshot(self, name: str) -> SnapshotArrays:
        return SnapshotArrays.load(self.root / "snapshots" / f"{name}.npz")

    def snapshot_names(self) -> list[str]:
        return [s["name"] for s in self.manifest.get("snapshots", [])]

    def test_pairs(self) -> np.ndarray:
        return np.load(self.root / "test_pairs.npy")

    def test_logits(self) -> np.ndarray:
        """The ensemble's logits for `test_pairs()`."""
        return np.load(self.root / "test_logits.npy")

    def users(self) -> tuple[pd.Index, np.ndarray]:
        """(user ids, preference vectors r_u)."""
        if "users" not in self._cache:
            ids = pd.read_parquet(self.root / "users.parquet")["user_id"].astype(str)
            self._cache["users"] = (pd.Index(ids), np.load(self.root / "preferences.npy", mmap_mode="r"))
        return self._cache["users"]

    def user_entities(self) -> sparse.csr_matrix:
        """Users × entities mention counts of the latest snapshot, rows as `users()`."""
        if "user_entities" not in self._cache:
            path = self.root / "user_entities.npz"
            if not path.exists():
                raise TargetbotError(f"{path} missing (graph built by an older targetbot): rebuild it with "
                                     f"'targetbot build -w {self.manifest.get('workspace', 'WS')} --stage graph --force'")
            self._cache["user_entities"] = sparse.load_npz(path).tocsr()
        return self._cache["user_entities"]

    def preference(self, entity_ids: list[int], weights: list[float] | None = None,
                   config: PreferenceConfig | None = None, pooling: str | None = None) -> tuple[pd.Index, np.ndarray]:
        """(user ids, preference for the chosen entities), pooled as egl.preference describes:
        `mean` is Eq. 7's r_u · t; `top_k` is the top-k term plus `mean_weight` times Eq. 7's.
        `config` (the workspace's `preference` section; defaults otherwise) sets the pooling, k and
        the mean's weight; `pooling` overrides its pooling."""
        from targetbot.egl.preference import POOLINGS, preference_scores, top_k_scores

        config = config or PreferenceConfig()
        pooling = pooling or config.pooling
        if pooling not in POOLINGS:
            raise TargetbotError(f"unknown preference pooling '{pooling}' (use {' or '.join(POOLINGS)})")
        user_ids, r = self.users()
        if pooling == "mean":
            return user_ids, preference_scores(np.asarray(r), self.h, entity_ids, weights)
        top = top_k_scores(self.user_entities(), self.h, entity_ids, weights, config.top_k)
        if config.mean_weight == 0:
            return user_ids, top
        return user_ids, top + config.mean_weight * preference_scores(np.asarray(r), self.h, entity_ids, weights)


_LOADED: dict[str, tuple[float, Graph]] = {}


def load_graph(ws) -> Graph:
    """The workspace's built graph (cached per process while the manifest is unchanged)."""
    root = graph_dir(ws)
    man = root / MANIFEST
    if not man.exists():
        raise TargetbotError(f"{root}: no entity graph built yet; run 'targetbot build -w {ws.root} --stage graph'")
    stamp = man.stat().st_mtime_ns
    hit = _LOADED.get(str(root))
    if hit and hit[0] == stamp:
        return hit[1]
    try:
        g = Graph(root=root, manifest=json.loads(man.read_text()),
                  entities=pd.read_parquet(root / "entities.parquet"),
                  edges=pd.read_parquet(root / "edges.parquet"),
                  embeddings=np.load(root / "embeddings.npy"),
                  thresholds=np.load(root / "thresholds.npy"),
                  semantic=np.load(root / "semantic.npy"),
                  preference_embeddings=np.load(root / "preference_embeddings.npy"))
    except (OSError, ValueError, KeyError) as e:
        raise TargetbotError(f"{root}: the stored graph is incomplete or unreadable ({e.__class__.__name__}); "
                             f"rebuild it with 'targetbot build -w {ws.root} --stage graph --force'") from None
    _LOADED[str(root)] = (stamp, g)
    return g
