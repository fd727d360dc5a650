"""Ranking and decision metrics: AUC, KS, and accuracy/precision/recall of a selection."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC by the rank-sum formula (ties get half credit); nan if one class is missing."""
    y = np.asarray(labels).astype(bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(np.asarray(scores, dtype=float))
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def ks(labels: np.ndarray, scores: np.ndarray) -> float:
    """Kolmogorov–Smirnov statistic: max over thresholds of TPR - FPR."""
    y = np.asarray(labels).astype(bool)
    if y.all() or not y.any():
        return float("nan")
    s = np.asarray(scores, dtype=float)
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    tpr = np.cumsum(y_sorted) / y.sum()
    fpr = np.cumsum(~y_sorted) / (~y).sum()
    last_of_tie = np.r_[s_sorted[1:] != s_sorted[:-1], True]  # only compare at distinct thresholds
    return float(np.max(np.abs(tpr - fpr)[last_of_tie]))


def selection_metrics(labels: np.ndarray, selected: np.ndarray) -> dict[str, float]:
    y = np.asarray(labels).astype(bool)
    sel = np.asarray(selected).astype(bool)
    tp = int((y & sel).sum())
    return {
        "accuracy": float((y == sel).mean()) if len(y) else float("nan"),
        "precision": tp / int(sel.sum()) if sel.any() else 0.0,
        "recall": tp / int(y.sum()) if y.any() else float("nan"),
        "selected": int(sel.sum()),
    }


def precision_at_k(labels: np.ndarray, scores: np.ndarray, k: int) -> float:
    if k <= 0:
        return float("nan")
    top = np.argsort(-np.asarray(scores, dtype=float), kind="stable")[:k]
    return float(np.asarray(labels)[top].mean())
