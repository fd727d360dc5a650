"""A trained FIND bundle on disk: config, encoders, text-tower adapters, user embeddings, index.

    WS/artifacts/towers/<config key>/
        config.json  meta.json  codec.json  item_vocab.json
        user_tower.pt   text_tower.pt (LoRA + projection weights only)
        users.parquet   embeddings/{fused,behaviour,tabular,search,concat}.npy
        index.faiss
        prompts/<name>.pt + .json   few-shot tuned prompts
        forecast-<data key>/        the forecast scorer's features (towers/forecast.py), built on first use
        anchors-<data key>/         the anchor towers (towers/anchors.py), built with the towers or on first use
    WS/artifacts/towers/CURRENT     key of the bundle `find` uses by default

The directory is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from targetbot.core.atomic import atomic_path, write_text
from targetbot.core.config import Settings
from targetbot.core.errors import TargetbotError
from targetbot.core.workspace import Workspace
from targetbot.towers.config import FindConfig, ForecastConfig, TowerConfig
from targetbot.towers.index import load_index
from targetbot.towers.inputs import ProfileCodec
from targetbot.towers.text_tower import TextTower
from targetbot.towers.user_tower import UserTower

STAGE = "towers"


def bundle_root(ws: Workspace) -> Path:
    return ws.artifacts_dir / STAGE


def current_key(ws: Workspace) -> str | None:
    f = bundle_root(ws) / "CURRENT"
    return f.read_text().strip() if f.exists() else None


def set_current(ws: Workspace, key: str) -> None:
    write_text(bundle_root(ws) / "CURRENT", key + "\n")


def prune_bundles(ws: Workspace, keep: set[str]) -> list[tuple[str, int]]:
    """Delete every tower bundle except CURRENT and `keep`; returns (key, bytes freed) per bundle.
    A bundle is one directory, removed whole, so nothing is left half-deleted that `find` reads."""
    import shutil

    root = bundle_root(ws)
    if not root.exists():
        return []
    keep = set(keep) | {current_key(ws) or ""}
    removed = []
    # ".name.*.tmp" directories are bundles being written (targetbot.core.atomic): never touched
    for d in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in keep and not p.name.startswith(".")):
        size = sum(f.stat().st_size for f in d.rglob("*") if f.is_file())
        shutil.rmtree(d)
        removed.append((d.name, size))
    return removed


# Exactly what a pickled ProfileCodec refers to; anything else in the file is refused (a pickle
# that names builtins.eval, say, would run code on load).
_CODEC_GLOBALS = {("numpy", "dtype"), ("numpy", "ndarray"), ("numpy._core.multiarray", "_reconstruct"),
                  ("numpy.core.multiarray", "_reconstruct"), ("sklearn.preprocessing._data", "QuantileTransformer"),
                  ("_codecs", "encode")}


def _legacy_codec(path: Path) -> ProfileCodec:
    """A codec pickled by an earlier layout (module `towers.inputs`), mapped onto this one."""
    class Renamed(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) in (("towers.inputs", "ProfileCodec"), ("targetbot.towers.inputs", "ProfileCodec")):
                return ProfileCodec
            if (module, name) in _CODEC_GLOBALS:
                return super().find_class(module, name)
            raise pickle.UnpicklingError(f"unexpected {module}.{name} in a stored codec")

    try:
        with open(path, "rb") as fh:
            codec = Renamed(fh).load()
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError) as e:
        raise TargetbotError(f"{path}: cannot read the stored profile codec ({e}); rebuild the towers "
                             "with 'targetbot build --force'") from None
    if not isinstance(codec, ProfileCodec):
        raise TargetbotError(f"{path}: not a stored profile codec; rebuild the towers with 'targetbot build --force'")
    return codec


def text_state(text: TextTower) -> dict[str, torch.Tensor]:
    trainable = {n for n, p in text.named_parameters() if p.requires_grad}
    return {k: v for k, v in text.state_dict().items() if k in trainable}


def _bundle_dir(ws: Workspace, key: str | None) -> Path:
    key = key or current_key(ws)
    if key is None:
        raise TargetbotError(f"{ws.root} has no trained user tower yet: run 'targetbot build -w {ws.root}'")
    root = bundle_root(ws) / key
    if not (root / "meta.json").exists():
        raise TargetbotError(f"tower bundle '{key}' not found under {bundle_root(ws)}")
    return root


@dataclass
class Bundle:
    ws: Workspace
    settings: Settings  # where the text tower's base model comes from, which content store to read
    root: Path
    config: TowerConfig
    meta: dict
    users: pd.Index
    _cache: dict = field(default_factory=dict)

    @classmethod
    def load(cls, ws: Workspace, settings: Settings, key: str | None = None) -> "Bundle":
        root = _bundle_dir(ws, key)
        cfg = TowerConfig.model_validate_json((root / "config.json").read_text())
        meta = json.loads((root / "meta.json").read_text())
        users = pd.Index(pd.read_parquet(root / "users.parquet")["user_id"].astype(str), name="user_id")
        return cls(ws, settings, root, cfg, meta, users)

    @staticmethod
    def read_config(ws: Workspace, key: str | None = None) -> TowerConfig:
        """A bundle's tower config (default: the current one's), without loading the bundle."""
        return TowerConfig.model_validate_json((_bundle_dir(ws, key) / "config.json").read_text())

    def embeddings(self, kind: str = "fused") -> np.ndarray:
        if kind not in self._cache:
            path = self.root / "embeddings" / f"{kind}.npy"
            if not path.exists():
                raise TargetbotError(f"{path} missing: rebuild the towers")
            self._cache[kind] = np.load(path, mmap_mode="r")
        return self._cache[kind]

    def index(self):
        if "index" not in self._cache:
            self._cache["index"] = load_index(self.root / "index.faiss")
        return self._cache["index"]

    def text_tower(self) -> TextTower:
        if "text" not in self._cache:
            a = self.config.align
            text = TextTower(self.config.dim, self.settings, a.lora_rank, a.max_text_tokens, self.config.text_encoder,
                             a.lora_top_layers)
            missing = text.load_state_dict(torch.load(self.root / "text_tower.pt", weights_only=True), strict=False)
            if missing.unexpected_keys:
                raise TargetbotError(f"{self.root / 'text_tower.pt'} does not match this text encoder")
            text.eval()
            self._cache["text"] = text
        return self._cache["text"]

    def codec(self) -> ProfileCodec:
        """The profile codec fitted at build time. Bundles written before it was stored as JSON hold
        a pickle under the old top-level module names; that one is read through `_legacy_codec`."""
        if "codec" not in self._cache:
            path = self.root / "codec.json"
            if path.exists():
                self._cache["codec"] = ProfileCodec.from_dict(json.loads(path.read_text()))
            else:
                self._cache["codec"] = _legacy_codec(self.root / "codec.pkl")
        return self._cache["codec"]

    def user_tower(self) -> UserTower:
        if "user" not in self._cache:
            codec = self.codec()
            n_items = len(json.loads((self.root / "item_vocab.json").read_text()))
            tower = UserTower(self.config, self.meta["content_dim"], codec.cardinalities, len(codec.numeric), n_items)
            tower.load_state_dict(torch.load(self.root / "user_tower.pt", weights_only=True))
            tower.eval()
            self._cache["user"] = tower
        return self._cache["user"]

    def forecast_path(self, config: ForecastConfig) -> Path:
        return self.root / f"forecast-{config.data_key()}"

    def forecast_data(self, config: ForecastConfig, batches=None, progress=None, engine=None):
        """Sparse history features for the forecast scorer: built with the towers (or on first use),
        kept in the bundle under the key of the settings they depend on."""
        key = f"forecast-{config.data_key()}"
        if key not in self._cache:
            from targetbot.towers.forecast import ForecastData

            path = self.forecast_path(config)
            if (path / "texts.json").exists():
                data = ForecastData.load(path)
            else:
                from targetbot.core.user_batches import UserBatches
                from targetbot.towers.content import ContentStore
                from targetbot.towers.train import eval_input_windows, training_sample

                roles = self.ws.meta.roles
                store = ContentStore.open(self.ws, spec=self.settings.text_encoder)
                batches = batches or UserBatches.build(self.ws, progress=progress)
                split = self.ws.user_split(pd.Series(batches.users)).to_numpy()
                sample = training_sample(split, self.config.sample_users, self.config.seed)
                data = ForecastData.build(self.ws, batches, sample, self.codec(), list(roles.train_input),
                                          eval_input_windows(self.ws), list(roles.train_target), store,
                                          min_users=config.min_users, progress=progress, engine=engine)
                data.save(path)
            self._cache[key] = data
        return self._cache[key]

    def anchor_tower(self, config: FindConfig, encode, progress=None):
        """The anchor towers (towers/anchors.py): built with the towers (or on first use), kept in the
        bundle under the key of the anchors and the forecast settings they were taught with."""
        key = f"anchors-{config.anchors.data_key(config.forecast)}"
        if key not in self._cache:
            from targetbot.towers.anchors import AnchorTower

            path = self.root / key
            if (path / "anchors.json").exists():
                tower = AnchorTower.load(path)
            else:
                from targetbot.towers.forecast import ForecastScorer

                data = self.forecast_data(config.forecast, progress=progress)
                if not data.users.equals(self.users):
                    raise TargetbotError(f"{self.root}: the forecast features cover other users than the towers: "
                                         "rebuild with 'targetbot build --force'")
                tower = AnchorTower.build(ForecastScorer(data, encode, config.forecast), config.anchors, path, progress)
            self._cache[key] = tower
        return self._cache[key]

    @property
    def prompts_dir(self) -> Path:
        """Tuned context vectors: tied to this bundle's text tower, so they live (and go) with it."""
        return self.root / "prompts"

    @property
    def seed_records_dir(self) -> Path:
        """Forecast few-shot records (demand + seed ids): independent of the towers, so kept at the
        workspace level where a rebuild of the towers does not remove them."""
        return self.root.parents[1] / "prompts"


def write_bundle(ws: Workspace, key: str, cfg: TowerConfig, meta: dict, users: pd.Index, tower: UserTower,
                 text: TextTower, codec, item_vocab: dict | None, embed, finish=None) -> Path:
    """Write a bundle under a temporary name: `embed(folder)` writes folder/embeddings/<kind>.npy
    (every user, in `users` order) and returns the index; `finish(meta)` completes the metadata
    after it. Renamed into place, and made CURRENT, only when all of it is done."""
    from targetbot.towers.index import save_index

    target = bundle_root(ws) / key
    with atomic_path(target) as tmp:
        tmp.mkdir(parents=True)
        (tmp / "embeddings").mkdir()
        (tmp / "config.json").write_text(cfg.model_dump_json(indent=2))
        (tmp / "codec.json").write_text(json.dumps(codec.to_dict()))
        (tmp / "item_vocab.json").write_text(json.dumps(item_vocab or {}))
        torch.save(tower.state_dict(), tmp / "user_tower.pt")
        torch.save(text_state(text), tmp / "text_tower.pt")
        pd.DataFrame({"user_id": users.to_numpy()}).to_parquet(tmp / "users.parquet", index=False)
        save_index(embed(tmp), tmp / "index.faiss")
        if finish is not None:
            finish(meta)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, default=str))
    set_current(ws, key)
    return target
