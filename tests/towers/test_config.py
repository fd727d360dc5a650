"""Tower configs: keys change with every setting, but an unset optional field leaves them as they were."""

import hashlib
import json

import pytest
import torch

from targetbot.core.errors import TargetbotError
from targetbot.towers.config import TowerConfig, list_configs
from targetbot.towers.user_tower import UserTower


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


def test_find_config_from_the_workspace_file(tmp_path):
    import pytest

    from targetbot.core.errors import DataError
    from targetbot.towers.config import FindConfig

    assert FindConfig.for_workspace(tmp_path) == FindConfig()  # no find.yaml: the defaults
    (tmp_path / "find.yaml").write_text("forecast:\n  margin: 0.2\n  min_users: 3\ntower_exclusion_weight: 0.7\n")
    cfg = FindConfig.for_workspace(tmp_path)
    assert cfg.forecast.margin == 0.2 and cfg.tower_exclusion_weight == 0.7 and cfg.key() != FindConfig().key()
    (tmp_path / "find.yaml").write_text("forecast:\n  marginn: 0.2\n")
    with pytest.raises(DataError, match=r"find.yaml: forecast.marginn"):
        FindConfig.for_workspace(tmp_path)
    (tmp_path / "find.yaml").write_text("forecast:\n  margin: -1\n")
    with pytest.raises(DataError, match=r"find.yaml: forecast.margin"):
        FindConfig.for_workspace(tmp_path)


def test_forecast_data_key_follows_only_what_the_stored_features_depend_on():
    from targetbot.towers.config import ForecastConfig

    base = ForecastConfig()
    assert ForecastConfig(margin=0.3, repeat_weight=1.0).data_key() == base.data_key()  # scoring-time only
    assert ForecastConfig(min_users=3).data_key() != base.data_key()
