"""Tower configs: keys change with every setting, but an unset optional field leaves them as they were."""

import hashlib
import json

import pytest
import torch

from targetbot.errors import TargetbotError
from towers.config import TowerConfig, list_configs
from towers.user_tower import UserTower


def test_named_configs_and_unknown_name():
    assert {"quick", "full"} <= set(list_configs())
    with pytest.raises(TargetbotError, match="unknown tower config 'nope'"):
        TowerConfig.from_name("nope")


def test_unset_encoder_dim_keeps_the_key_a_set_one_changes_it():
    cfg = TowerConfig.from_name("quick")
    dump = cfg.model_dump(mode="json")
    assert dump["encoder_dim"] is None
    del dump["encoder_dim"]  # the config as it was before the field existed
    old = f"quick-{hashlib.sha256(json.dumps(dump, sort_keys=True).encode()).hexdigest()[:10]}"
    assert cfg.key() == old
    assert TowerConfig.from_name("quick", encoder_dim=128).key() != old
    assert TowerConfig.from_name("quick", seed=1).key() != old


def test_encoder_dim_widens_the_shared_space_not_the_encoders():
    cfg = TowerConfig.from_name("quick", dim=40, encoder_dim=16, tabular={"dim": 8})
    tower = UserTower(cfg, content_dim=12, cardinalities=[3, 4], n_numeric=2)
    assert tower.search.out_dim == 16 and tower.behaviour.step[0].out_features == 16
    batch = {"steps": torch.randn(2, 5, 12), "counts": torch.ones(2, 5), "step_mask": torch.ones(2, 5, dtype=torch.bool),
             "bag": torch.randn(2, 3, 12), "bag_mask": torch.ones(2, 3, dtype=torch.bool),
             "searches": torch.randn(2, 4, 12), "search_mask": torch.ones(2, 4, dtype=torch.bool),
             "cat": torch.zeros(2, 2, dtype=torch.long), "num": torch.randn(2, 2)}
    with torch.no_grad():
        fused, heads = tower(batch)
        parts = tower.modality_embeddings(batch)
    assert fused.shape == (2, 40) and all(h.shape == (2, 40) for h in heads.values())
    assert sum(p.shape[1] for p in parts.values()) == cfg.behaviour.hidden + 8 + 16
