"""The `graph` suite: mined relations scored against the workspace's relations table.

    targetbot eval run -w WS --suite graph --json
    -> {"suite": "graph", "results": [{"method", "acc", "aecc", "auc"}, ...],
        "variance": {"with_ensemble", "without_ensemble"}, ...}

Metrics (EGL's relation metrics), on the latest snapshot's candidate graph:
* ACC  — share of mined relations that are true. A mined relation is a directed pair (a -> b):
         source a keeps candidate b. Relations are undirected in the truth table.
* AECC — mean mined relations per source entity (entities with at least one candidate edge).
* AUC  — on the held-out pairs every model was trained without: 10 % of the candidate edges plus
         as many sampled non-edges, each labelled true iff it is a relation in the truth table.
* acc_heldout — ACC over the held-out candidate edges only. Stage II trains on description links
         as positives, so ACC over all edges partly measures how well it fits them; this does not.
* r_precision — the ranking without the cut: precision of a method's R best-scored candidate edges,
         R = the number of true relations among the candidates. ACC mixes how well a method ranks
         with how many relations its thresholds keep (AECC); this separates the two.

Methods: `candidates` (Stage I only: every candidate is kept, ranked by the Stage-I score),
`alpc` (+ ranking: the latest snapshot's ALPC, adaptive thresholds), `trmp` (+ ensemble: the
stored graph), `alpc_no_threshold` (α = 0, keeps logit > 0), `alpc_no_contrastive` (β = 0),
`deepwalk` and `node2vec` (random-walk embeddings on the same candidate graph, logistic
regression on Hadamard features, same positives and negatives as ALPC, keeps p > 0.5).

`--repeats N` (N > 1) retrains `alpc` and both ablations with the same N seeds and reports the
mean with `acc_std` / `auc_std` and each seed's ACC in `acc_runs` (seed order, so runs pair up
across methods): ALPC's relation ACC moves between seeds of one variant by more than the
ablations differ (docs/RESULTS.md), so one seed cannot rank them.

Variance: ACC at each of the last snapshots for the single-snapshot ALPC model versus the
rolling ensemble of it and the snapshots before it; lower variance = steadier graph.
Nothing here reads labels of users; the truth table is read only to score.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
from sklearn.metrics import roc_auc_score

from targetbot.egl.alpc import NodeInputs, confident_edges, sample_non_edges, train_alpc
from targetbot.egl.build import alpc_params, built_config, ensure_graph, profile_config, torch_threads
from targetbot.egl.candidates import CandidateGraph, pair_keys
from targetbot.egl.config import GraphConfig
from targetbot.egl.ensemble import train_ensemble
from targetbot.egl.randomwalk import HadamardLinkScorer, walk_embeddings
from targetbot.egl.storage import Graph, load_graph
from targetbot.eval.runner import register_suite
from targetbot.core.errors import TargetbotError

METHODS = ("candidates", "alpc", "trmp", "alpc_no_threshold", "alpc_no_contrastive", "deepwalk", "node2vec")


def truth_keys(ws, graph: Graph) -> np.ndarray:
    if not ws.has_table("relations"):
        raise TargetbotError(f"{ws.table_path('relations')} not found: the graph suite scores mined relations "
                             "against a relations table (a simulated world has one)")
    rel = ws.relations()
    a = rel["head"].astype(str).map(graph.index)
    b = rel["tail"].astype(str).map(graph.index)
    ok = a.notna() & b.notna()
    a, b = a[ok].astype(np.int64).to_numpy(), b[ok].astype(np.int64).to_numpy()
    return np.unique(pair_keys(np.stack([a, b], 1), graph.n))


def is_true(pairs: np.ndarray, n: int, truth: np.ndarray) -> np.ndarray:
    return np.isin(pair_keys(pairs, n), truth)


def relation_metrics(edges: np.ndarray, keep: np.ndarray, true_edge: np.ndarray, test_y: np.ndarray,
                     test_scores: np.ndarray, heldout: np.ndarray | None = None,
                     edge_scores: np.ndarray | None = None) -> dict:
    """keep: (E, 2) bool [a keeps b, b keeps a]. `heldout` (E,) marks the candidate edges no model
    trained on: `acc_heldout` is ACC over those alone (ACC itself also counts edges whose description
    link was a training positive)."""
    kept = int(keep.sum())
    sources = len(np.unique(edges.ravel()))
    acc = float((keep * true_edge[:, None]).sum() / kept) if kept else float("nan")
    auc = float(roc_auc_score(test_y, test_scores)) if 0 < test_y.sum() < len(test_y) else float("nan")
    out = {"acc": _r(acc), "aecc": _r(kept / max(sources, 1), 3), "auc": _r(auc), "mined": kept}
    if heldout is not None:
        kh = keep[heldout]
        out["acc_heldout"] = _r(float((kh * true_edge[heldout][:, None]).sum() / kh.sum()) if kh.sum() else float("nan"))
    if edge_scores is not None:
        out["r_precision"] = _r(r_precision(edge_scores, true_edge))
    return out


def r_precision(edge_scores: np.ndarray, true_edge: np.ndarray) -> float:
    """Share of true relations among the R best-scored edges, R = number of true edges (ties broken
    by edge order, so the result is deterministic)."""
    r = int(true_edge.sum())
    if r == 0:
        return float("nan")
    top = np.argsort(-np.asarray(edge_scores, dtype=np.float64), kind="stable")[:r]
    return float(true_edge[top].mean())


def _r(x: float, nd: int = 4):
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else round(float(x), nd)


def stage1_score(inputs: NodeInputs, pairs: np.ndarray) -> np.ndarray:
    """The candidates-only ranking for any pair: mean of squashed first-order co-occurrence and semantic cosine."""
    if len(pairs) == 0:
        return np.zeros(0)
    U, V, S = inputs.U, inputs.V, inputs.semantic
    a, b = pairs[:, 0], pairs[:, 1]
    fo = 0.5 * (np.einsum("ij,ij->i", U[a], V[b]) + np.einsum("ij,ij->i", V[a], U[b]))
    sem = np.einsum("ij,ij->i", S[a], S[b])
    return 0.5 * (1 / (1 + np.exp(-fo)) + np.clip(sem, 0, 1))


def _walk_method(name: str, cand: CandidateGraph, inputs: NodeInputs, test_pairs: np.ndarray, cfg: GraphConfig,
                 p: float, q: float) -> tuple[np.ndarray, np.ndarray]:
    """(edge logits, test logits) of a random-walk baseline trained like ALPC."""
    n = cand.n
    train = ~cand.held_out(test_pairs)
    emb = walk_embeddings(cand.edges[train], n, p=p, q=q, dim=cfg.alpc.dim, seed=cfg.seed)
    rng = np.random.default_rng(cfg.seed + 3)
    pos_mask = train & confident_edges(cand, cfg.alpc.positives)
    unl = cand.edges[train & ~pos_mask]
    pos = cand.edges[pos_mask]
    neg = sample_non_edges(n, len(pos) * cfg.alpc.negatives_per_positive, set(cand.keys().tolist()) | set(pair_keys(test_pairs, n).tolist()),
                           rng, pool=np.unique(cand.edges.ravel()))
    negs = np.concatenate([neg, unl])
    w = np.r_[np.ones(len(neg)), np.full(len(unl), cfg.alpc.unlabeled_weight)]
    scorer = HadamardLinkScorer(emb, cfg.seed).fit(pos, negs, w)
    return scorer.logits(cand.edges), scorer.logits(test_pairs)


@register_suite("graph")
def run_graph_suite(ws, models, methods: list[str] | None, options: dict) -> dict:
    with torch_threads((built_config(ws) or profile_config(ws, "quick")).torch_threads):
        return _run(ws, models, methods, options)


def _run(ws, models, methods: list[str] | None, options: dict) -> dict:
    progress: Callable[[str], None] | None = options.get("progress")
    say = progress or (lambda m: None)
    unknown = [m for m in (methods or []) if m not in METHODS]
    if unknown:
        raise TargetbotError(f"method '{unknown[0]}' is not in suite 'graph' (available: {', '.join(METHODS)})")
    methods = list(methods or METHODS)
    if built_config(ws) is None:
        say("graph: building the entity graph first")
    cfg = ensure_graph(ws, models, progress=say)  # ablations and ensembles retrain with the stored graph's config
    graph = load_graph(ws)
    truth = truth_keys(ws, graph)
    seed = int(options.get("seed", 0) or 0)
    if seed:
        cfg = cfg.model_copy(update={"seed": seed})
    names = graph.snapshot_names()
    snaps = [graph.snapshot(s) for s in names]
    inputs = [NodeInputs.build(s.U, s.V, graph.semantic, s.counts) for s in snaps]
    latest, inp = snaps[-1], inputs[-1]
    cand = latest.candidate_graph()
    test_pairs = graph.test_pairs()
    test_y = is_true(test_pairs, graph.n, truth)
    true_edge = is_true(cand.edges, graph.n, truth)
    heldout = cand.held_out(test_pairs)
    timings: dict[str, float] = {}
    results = []

    def add(name: str, keep: np.ndarray, test_scores: np.ndarray, t0: float, edge_scores=None, **extra) -> None:
        row = {"method": name, **relation_metrics(cand.edges, keep, true_edge, test_y, test_scores, heldout, edge_scores),
               **extra}
        timings[name] = round(time.perf_counter() - t0, 2)
        results.append(row)

    params = alpc_params(cfg)
    repeats = max(1, int(options.get("repeats") or 1))
    for name in methods:
        say(f"graph suite: {name}")
        t0 = time.perf_counter()
        if name == "candidates":
            add(name, np.ones((len(cand), 2), bool), stage1_score(inp, test_pairs), t0,
                edge_scores=stage1_score(inp, cand.edges))
        elif name == "alpc" and repeats == 1:
            keep = np.stack([latest.edge_logits > latest.thresholds[cand.edges[:, 0]],
                             latest.edge_logits > latest.thresholds[cand.edges[:, 1]]], 1)
            add(name, keep, latest.test_logits, t0, edge_scores=latest.edge_logits)
        elif name in ("alpc", "alpc_no_threshold", "alpc_no_contrastive") and repeats > 1:
            over = {"alpc": {}, "alpc_no_threshold": {"alpha": 0.0}, "alpc_no_contrastive": {"beta": 0.0}}[name]
            rows = []
            for i in range(repeats):  # the same seeds for ALPC and its ablations: a paired comparison
                res = train_alpc(cand, inp, alpc_params(cfg, seed=cfg.seed + i, **over), test_pairs=test_pairs,
                                 progress=lambda e, tot, n_=name, i_=i: say(f"graph suite: {n_} seed {i_ + 1}/{repeats} "
                                                                           f"epoch {e}/{tot}"))
                rows.append(relation_metrics(cand.edges, res.keep(cand.edges, res.edge_logits,
                                                                  use_threshold=name != "alpc_no_threshold"),
                                             true_edge, test_y, res.test_logits, heldout, res.edge_logits))
            mean = {k: _r(float(np.mean([r[k] for r in rows])), 4)
                    for k in ("acc", "aecc", "auc", "acc_heldout", "r_precision")}
            row = {"method": name, **mean, "mined": int(round(np.mean([r["mined"] for r in rows]))),
                   "acc_std": _r(float(np.std([r["acc"] for r in rows]))),
                   "auc_std": _r(float(np.std([r["auc"] for r in rows]))), "repeats": repeats,
                   "acc_runs": [r["acc"] for r in rows]}  # per seed, in seed order: pair them across methods
            timings[name] = round(time.perf_counter() - t0, 2)
            results.append(row)
        elif name == "trmp":
            e = graph.edges
            order = np.lexsort((e["tail_id"].to_numpy(), e["head_id"].to_numpy()))
            keep = np.stack([e["kept_head"].to_numpy()[order], e["kept_tail"].to_numpy()[order]], 1)
            add(name, keep, graph.test_logits(), t0, edge_scores=e["logit"].to_numpy()[order])
        elif name in ("alpc_no_threshold", "alpc_no_contrastive"):
            over = {"alpha": 0.0} if name == "alpc_no_threshold" else {"beta": 0.0}
            res = train_alpc(cand, inp, alpc_params(cfg, **over), test_pairs=test_pairs,
                             progress=lambda e, tot, n_=name: say(f"graph suite: {n_} epoch {e}/{tot}"))
            add(name, res.keep(cand.edges, res.edge_logits, use_threshold=name != "alpc_no_threshold"),
                res.test_logits, t0, edge_scores=res.edge_logits)
        elif name in ("deepwalk", "node2vec"):
            p, q = (1.0, 1.0) if name == "deepwalk" else (1.0, 0.5)
            el, tl = _walk_method(name, cand, inp, test_pairs, cfg, p, q)
            k = el > 0
            add(name, np.stack([k, k], 1), tl, t0, edge_scores=el)

    # ---- variance across snapshots: single ALPC vs rolling ensemble ---------------------------
    say("graph suite: ACC across snapshots with and without the ensemble")
    w = min(cfg.ensemble.window, len(snaps))
    single, ensembled, at = [], [], []
    for t in range(w - 1, len(snaps)):
        s = snaps[t]
        c = s.candidate_graph()
        te = is_true(c.edges, graph.n, truth)
        keep = np.stack([s.edge_logits > s.thresholds[c.edges[:, 0]], s.edge_logits > s.thresholds[c.edges[:, 1]]], 1)
        single.append(float((keep * te[:, None]).sum() / max(keep.sum(), 1)))
        if t == len(snaps) - 1 and "trmp" in methods:
            ensembled.append(next(r["acc"] for r in results if r["method"] == "trmp"))
        else:
            ens = train_ensemble([x.embeddings for x in snaps[t - w + 1:t + 1]], c, inputs[t], test_pairs, params,
                                 dim=cfg.ensemble.dim, heads=cfg.ensemble.heads, epochs=cfg.ensemble.epochs,
                                 lr=cfg.ensemble.lr)
            k2 = ens.keep(c.edges, ens.edge_logits)
            ensembled.append(float((k2 * te[:, None]).sum() / max(k2.sum(), 1)))
        at.append(names[t])
    variance = {"with_ensemble": _r(float(np.var(ensembled)), 6), "without_ensemble": _r(float(np.var(single)), 6)}
    return {
        "suite": "graph", "workspace": str(ws.root), "results": results, "variance": variance,
        "snapshot_acc": {"snapshots": at, "with_ensemble": [_r(x) for x in ensembled],
                         "without_ensemble": [_r(x) for x in single]},
        "truth_relations": int(len(truth)), "candidate_edges": int(len(cand)), "test_pairs": int(len(test_pairs)),
        "graph_key": graph.manifest.get("key"), "seconds": timings,
    }
