"""Text tower: the shared text encoder with LoRA adapters (peft), mean pooling and a projection
into the user-embedding space; optionally CoOp-style learnable context vectors for few-shot.

Default encoder: the bundled MiniLM. `kind="qwen"` uses the bundled Qwen2.5 (decoder, LoRA on
q/v projections, mean pooling over tokens) — much slower on CPU, meant for GPUs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from peft import LoraConfig, get_peft_model
from torch import nn

from targetbot.core.config import Settings


class PromptLearner(nn.Module):
    """CoOp (trainers/coop.py): n learnable context vectors inserted after the first token.

    Only these vectors are optimised during few-shot tuning; the towers stay frozen.
    """

    def __init__(self, n_ctx: int, width: int, init: torch.Tensor | None = None):
        super().__init__()
        ctx = init.clone() if init is not None else torch.randn(n_ctx, width) * 0.02
        self.ctx = nn.Parameter(ctx)

    def forward(self, token_embeds: torch.Tensor, attention_mask: torch.Tensor):
        B = token_embeds.shape[0]
        ctx = self.ctx[None].expand(B, -1, -1)
        embeds = torch.cat([token_embeds[:, :1], ctx, token_embeds[:, 1:]], dim=1)
        mask = torch.cat([attention_mask[:, :1], torch.ones(B, ctx.shape[1], dtype=attention_mask.dtype,
                                                             device=attention_mask.device), attention_mask[:, 1:]], dim=1)
        return embeds, mask


class TextTower(nn.Module):
    def __init__(self, out_dim: int, settings: Settings, lora_rank: int = 8, max_tokens: int = 64,
                 kind: str = "minilm", lora_top_layers: int = 0):
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        if kind == "qwen":
            from targetbot.core.bundled import llm_path
            path, targets = llm_path(settings), ["q_proj", "v_proj"]
        else:
            from targetbot.core.bundled import text_encoder_path
            path, targets = text_encoder_path(settings), ["query", "value"]
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        base = AutoModel.from_pretrained(path, dtype=torch.float32)
        n_layers = base.config.num_hidden_layers
        # LoRA on the top layers only: the frozen lower layers then need no backward pass (CPU time)
        layers = list(range(n_layers - lora_top_layers, n_layers)) if 0 < lora_top_layers < n_layers else None
        cfg = LoraConfig(r=lora_rank, lora_alpha=2 * lora_rank, lora_dropout=0.05, target_modules=targets,
                         layers_to_transform=layers)
        self.encoder = get_peft_model(base, cfg)
        self.width = base.config.hidden_size
        self.proj = nn.Linear(self.width, out_dim)
        self.max_tokens = max_tokens
        self.kind = kind

    def tokenize(self, texts: list[str]):
        return self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt")

    def forward(self, texts: list[str], prompt: PromptLearner | None = None) -> torch.Tensor:
        tok = self.tokenize(texts)
        ids, mask = tok["input_ids"], tok["attention_mask"]
        embeds = self.encoder.get_input_embeddings()(ids)
        if prompt is not None:
            embeds, mask = prompt(embeds, mask)
        hidden = self.encoder(inputs_embeds=embeds, attention_mask=mask).last_hidden_state
        m = mask[..., None].to(hidden.dtype)
        pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
        # normalised like the representation center's vectors, so with zero-init LoRA
        # text(x) == proj(center vector of x): alignment can start from precomputed vectors
        return self.proj(F.normalize(pooled, dim=-1))

    @torch.no_grad()
    def embed(self, texts: list[str], batch_size: int = 64, prompt: PromptLearner | None = None) -> torch.Tensor:
        was = self.training
        self.eval()
        out = torch.cat([F.normalize(self(texts[i:i + batch_size], prompt), dim=-1)
                         for i in range(0, len(texts), batch_size)]) if texts else torch.zeros(0, self.proj.out_features)
        self.train(was)
        return out
