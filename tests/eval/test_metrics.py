"""Metrics on tiny arrays with known values."""

import math

import numpy as np
import pytest

from targetbot.eval.metrics import auc, ks, precision_at_k, selection_metrics


def test_auc_known_values():
    y = np.array([0, 0, 1, 1])
    assert auc(y, [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)
    assert auc(y, [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert auc(y, [0.4, 0.3, 0.2, 0.1]) == 0.0
    assert auc(y, [0.5, 0.5, 0.5, 0.5]) == 0.5  # ties count half
    assert math.isnan(auc([1, 1], [0.2, 0.3]))


def test_ks_known_values():
    y = np.array([0, 0, 1, 1])
    assert ks(y, [0.1, 0.2, 0.3, 0.4]) == 1.0
    assert ks(y, [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.5)
    assert ks(y, [1, 1, 1, 1]) == 0.0  # one threshold only: nothing separates


def test_selection_metrics():
    m = selection_metrics([1, 0, 1, 0, 0], [1, 1, 0, 0, 0])
    assert m == {"accuracy": 0.6, "precision": 0.5, "recall": 0.5, "selected": 2}
    assert selection_metrics([1, 0], [0, 0])["precision"] == 0.0


def test_precision_at_k():
    assert precision_at_k([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1], 2) == 0.5
