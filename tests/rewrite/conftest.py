"""Rewriter fixtures: a small catalog, the real Qwen tokenizer, and a tiny random-weight Qwen2."""

from __future__ import annotations

import pytest

from targetbot.rewrite.catalog import Catalog


@pytest.fixture(scope="session")
def catalog(small_world_path) -> Catalog:
    from targetbot.core.workspace import Workspace

    return Catalog.from_workspace(Workspace.open(small_world_path))


@pytest.fixture(scope="session")
def qwen_tokenizer():
    """The bundled Qwen tokenizer (converted once from the verified GGUF; no hub)."""
    from transformers import AutoTokenizer

    from targetbot.core.config import Settings
    from targetbot.core.bundled import llm_path

    return AutoTokenizer.from_pretrained(llm_path(Settings()))


@pytest.fixture(scope="session")
def tiny_model(qwen_tokenizer):
    """A 2-layer random-weight Qwen2 with the real vocabulary: fast mechanics, no downloads."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=len(qwen_tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                      tie_word_embeddings=False)
    model = Qwen2ForCausalLM(cfg).eval()
    return model, qwen_tokenizer


@pytest.fixture(scope="session")
def vocab(qwen_tokenizer):
    from targetbot.rewrite.constrained import Vocab

    return Vocab(qwen_tokenizer)
