import copy
import json

from targetbot.rewrite.config import LoraSpec, StageRecipe, SynthConfig, TrainConfig
from targetbot.rewrite.train import encode_dialogue, plan_messages, read_meta, train_rewriter
from targetbot.core.config import Settings


def test_loss_mask_covers_assistant_tokens_only(qwen_tokenizer):
    ex = {"request": "users likely to buy smartphones", "plan": '{"demands": [{"family": "purchase", "items": ["smartphone"]}]}'}
    ids, labels = encode_dialogue(qwen_tokenizer, plan_messages(ex, "SYS"), 512)
    target = qwen_tokenizer.decode([i for i, y in zip(ids, labels) if y != -100])
    assert target == ex["plan"] + "<|im_end|>"
    assert encode_dialogue(qwen_tokenizer, plan_messages(ex, "SYS"), 10) is None  # too long: dropped


def test_matches_follow_the_request_and_stay_out_of_the_loss(qwen_tokenizer, tmp_path):
    from targetbot.rewrite.train import trained_with_matches

    ex = {"request": "users likely to buy smartphones", "plan": '{"demands": [{"family": "purchase", "items": ["smartphone"]}]}',
          "matches": ["smartphone", "smartwatch"], "negated": []}
    msgs = plan_messages(ex, "SYS")
    assert msgs[1]["content"] == "users likely to buy smartphones\n\nCatalog matches: smartphone; smartwatch"
    ids, labels = encode_dialogue(qwen_tokenizer, msgs, 512)
    assert qwen_tokenizer.decode([i for i, y in zip(ids, labels) if y != -100]) == ex["plan"] + "<|im_end|>"
    (tmp_path / "rewriter.json").write_text(json.dumps({"data": {"stage2": 3}}))
    assert not trained_with_matches(tmp_path) and trained_with_matches(None)
    (tmp_path / "rewriter.json").write_text(json.dumps({"data": {"stage2": 3, "with_matches": 2}}))
    assert trained_with_matches(tmp_path)


def test_two_stage_sft_writes_an_adapter(tmp_path, catalog, tiny_model):
    model, tok = tiny_model
    cfg = TrainConfig(lora=LoraSpec(r=4, alpha=8, top_layers=1),
                      stage1=StageRecipe(steps=2, batch_size=2, lr=1e-3, warmup=1),
                      stage2=StageRecipe(steps=3, batch_size=2, lr=1e-3, warmup=1),
                      synth=SynthConfig(requests=12, heldout_requests=4, knowledge_min=4, knowledge_max=6))
    out = tmp_path / "adapter"
    meta = train_rewriter(catalog, out, Settings(), cfg, model_and_tokenizer=(copy.deepcopy(model), tok))
    assert [s["stage"] for s in meta["stages"]] == ["stage1", "stage2"]
    assert all(s["seconds"] >= 0 and s["target_tokens"] > 0 for s in meta["stages"])
    for f in ("adapter_config.json", "adapter_model.safetensors", "catalog.json", "rewriter.json", "heldout.jsonl"):
        assert (out / f).is_file(), f
    assert read_meta(out)["config_key"] == cfg.key()
    conf = json.loads((out / "adapter_config.json").read_text())
    assert conf["r"] == 4 and conf["layers_to_transform"] == [1]
    assert not list(tmp_path.glob(".adapter*"))  # atomic: no temp leftovers


def test_recipes_differ_and_are_keyed():
    cpu, gpu = TrainConfig.cpu(), TrainConfig.gpu()
    assert cpu.key() != gpu.key()
    assert cpu.key() == "f2c0fd86e831"  # the bundled adapter's recipe: new optional knobs left it alone
    assert cpu.model_copy(update={"synth": SynthConfig(variety=True)}).key() != cpu.key()
    assert cpu.lora.top_layers and gpu.lora.top_layers is None
    assert cpu.dtype == "float32" and gpu.dtype == "bfloat16"


def test_build_rewriter_is_skipped_when_up_to_date(world_copy, tiny_model):
    from targetbot.rewrite.train import build_rewriter

    model, tok = tiny_model
    cfg = TrainConfig(lora=LoraSpec(r=2, alpha=4, top_layers=1), stage1=StageRecipe(steps=1, batch_size=1),
                      stage2=StageRecipe(steps=1, batch_size=1),
                      synth=SynthConfig(requests=3, heldout_requests=2, knowledge_min=2, knowledge_max=2))
    first = build_rewriter(world_copy, Settings(), cfg=cfg, model_and_tokenizer=(copy.deepcopy(model), tok))
    assert not first["skipped"] and first["adapter"].endswith("artifacts/rewrite/adapter")
    again = build_rewriter(world_copy, Settings(), cfg=cfg, model_and_tokenizer=(copy.deepcopy(model), tok))
    assert again["skipped"] and again["config_key"] == cfg.key()
    forced = build_rewriter(world_copy, Settings(), cfg=cfg, force=True, model_and_tokenizer=(copy.deepcopy(model), tok))
    assert not forced["skipped"]
