"""The exported inference graph: :meth:`FraudSeqModel.serve` restated for ONNX Runtime's CPU.

Same weights, same arithmetic up to float rounding (the parity checks in ``export`` hold it
to the training forward), laid out for fewer and cheaper kernels at hidden size 64:

- **last layer on the read positions only** (as ``encode_tail``): its keys and values cover
  the window, its query, output and feed-forward rows run for positions K-2 and K-1 only;
- **one projection for query, key and value** (``[H, 3H]``; key and value only in the last
  layer): one MatMul, and under int8 one activation quantization, instead of three;
- **position and token-type embeddings folded** into one constant ``[K, H]`` added to the
  token projection;
- **the anomaly head's per-field log-softmax on a transposed layout**: the padded logits
  ``[B, total+1]`` are transposed so that the per-field lookup gathers whole rows (axis 0),
  not single floats from every row, and only the scored codes' NLL is formed
  (log-sum-exp per field minus the code's logit) instead of a full log-softmax.

The residual Add before each LayerNormalization is exported as a two-input ``Sum``
(:func:`unfuse_skip_layer_norm`, same value): ONNX Runtime 1.32 would otherwise fuse it
into ``SkipLayerNormalization``, whose CPU kernel is several times slower than
Add + LayerNormalization at hidden size 64 (measured in ``docs/BENCHMARKS.md``).
"""

from __future__ import annotations

from typing import cast

import onnx
import torch
from torch import nn
from torch.nn import functional as F
from transformers.models.bert.modeling_bert import BertLayer

from models.transformer.modeling import _IMPOSSIBLE, FraudSeqModel


class InferenceModule(nn.Module):
    """(cat, num, mask) -> (fraud probability [B], anomaly score [B]) of ``model`` (eval)."""

    # buffers derived from the model at construction (never saved)
    table: torch.Tensor
    position_constant: torch.Tensor
    field_index: torch.Tensor
    flat_index: torch.Tensor
    lower: torch.Tensor
    diagonal: torch.Tensor

    def __init__(self, model: FraudSeqModel) -> None:
        super().__init__()
        self.model = model.eval()
        config = model.config
        encoder = model.encoder
        self.heads = config.num_attention_heads
        self.size = config.hidden_size // config.num_attention_heads
        self.eps = config.layer_norm_eps
        self.logit_offset = float(config.fraud_logit_offset)
        with torch.no_grad():
            table = torch.cat([cast(nn.Embedding, e).weight for e in model.field_embeddings])
            self.register_buffer("table", table.clone(), persistent=False)
            embeddings = encoder.embeddings
            k = config.window
            constant = (
                embeddings.position_embeddings.weight[:k]
                + (embeddings.token_type_embeddings.weight[0])
            )
            self.register_buffer("position_constant", constant.clone(), persistent=False)
            layers = encoder.encoder.layer
            qkv_w, qkv_b = [], []
            for layer in layers:
                attention = layer.attention.self
                parts = (attention.query, attention.key, attention.value)
                qkv_w.append(torch.cat([p.weight for p in parts]).clone())
                qkv_b.append(torch.cat([p.bias for p in parts]).clone())
            self.qkv_weight = nn.ParameterList(nn.Parameter(w, requires_grad=False) for w in qkv_w)
            self.qkv_bias = nn.ParameterList(nn.Parameter(b, requires_grad=False) for b in qkv_b)
            index = model.field_index
            self.register_buffer("field_index", index.clone(), persistent=False)
            self.register_buffer("flat_index", index.flatten().clone(), persistent=False)
            lower = torch.ones(k, k, dtype=torch.bool).tril()
            self.register_buffer("lower", lower, persistent=False)
            self.register_buffer("diagonal", torch.eye(k, dtype=torch.bool), persistent=False)
        self.max_card = index.shape[1]

    # ---- blocks ----
    def _embed(self, cat: torch.Tensor, num: torch.Tensor) -> torch.Tensor:
        model = self.model
        fields = F.embedding(cat + model.field_offsets, self.table).flatten(start_dim=-2)
        tokens = model.token_projection(torch.cat([fields, num], dim=-1)) + self.position_constant
        return model.encoder.embeddings.LayerNorm(tokens)

    def _split(self, x: torch.Tensor, parts: int) -> list[torch.Tensor]:
        """``[B, S, parts*H]`` -> ``parts`` tensors ``[B, heads, S, size]``."""
        b, s, _ = x.shape
        x = x.view(b, s, parts * self.heads, self.size).transpose(1, 2)
        return list(x.split(self.heads, dim=1))

    def _attend(
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, bias: torch.Tensor
    ) -> torch.Tensor:
        scale = self.size**-0.5
        scores = torch.matmul(query, key.transpose(2, 3)) * scale + bias
        context = torch.matmul(F.softmax(scores, dim=-1), value)
        b, _, s, _ = context.shape
        return context.transpose(1, 2).reshape(b, s, self.heads * self.size)

    def _finish(
        self, layer: BertLayer, context: torch.Tensor, residual: torch.Tensor
    ) -> torch.Tensor:
        """Attention output, feed-forward and their residual LayerNorms (BertLayer's tail)."""
        out = layer.attention.output
        attended = out.LayerNorm(out.dense(context) + residual)
        inner = layer.intermediate(attended)
        return layer.output.LayerNorm(layer.output.dense(inner) + attended)

    def encode_tail(self, cat: torch.Tensor, num: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``[B, 2, H]``: the encoder's last hidden states at positions K-2 and K-1."""
        hidden = self._embed(cat, num)
        bias = causal_bias(mask, self.lower, self.diagonal, hidden.dtype)
        layers = self.model.encoder.encoder.layer
        for i, layer in enumerate(layers[:-1]):
            qkv = F.linear(hidden, self.qkv_weight[i], self.qkv_bias[i])
            query, key, value = self._split(qkv, 3)
            hidden = self._finish(layer, self._attend(query, key, value, bias), hidden)
        last = len(layers) - 1
        width = self.heads * self.size
        weight, b = self.qkv_weight[last], self.qkv_bias[last]
        tail = hidden[:, -2:]
        (query,) = self._split(F.linear(tail, weight[:width], b[:width]), 1)
        key, value = self._split(F.linear(hidden, weight[width:], b[width:]), 2)
        context = self._attend(query, key, value, bias[:, :, -2:])
        return self._finish(layers[last], context, tail)

    def anomaly(self, hidden: torch.Tensor, cat: torch.Tensor) -> torch.Tensor:
        """``[B]``: sum over fields of -log p(scored event's code | history), from ``hidden``
        [B, H] at position K-2 (``FraudSeqModel.anomaly_score``, transposed layout)."""
        logits = self.model.next_event_head(hidden)
        pad = torch.full_like(logits[:, :1], _IMPOSSIBLE)
        padded = torch.cat([logits, pad], dim=-1)  # [B, total+1]
        per_field = padded.t()[self.field_index]  # [Fc, max card, B]
        top = per_field.amax(dim=1, keepdim=True)
        lse = torch.log(torch.exp(per_field - top).sum(dim=1)) + top.squeeze(1)  # [Fc, B]
        codes = cat[:, -1].clamp(min=0)  # [B, Fc]
        rows = torch.arange(codes.shape[-1], device=codes.device) * self.max_card
        scored = padded.gather(1, self.flat_index[codes + rows])  # [B, Fc]
        return (lse.t() - scored).sum(dim=-1)

    def forward(
        self, cat: torch.Tensor, num: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        tail = self.encode_tail(cat, num, mask)
        model = self.model
        logit = model.fraud_classifier(model.fraud_head(tail[:, -1])).squeeze(-1)
        fraud = torch.sigmoid(logit + self.logit_offset)
        return fraud, self.anomaly(tail[:, 0], cat)


def causal_bias(
    mask: torch.Tensor, lower: torch.Tensor, diagonal: torch.Tensor, dtype: torch.dtype
) -> torch.Tensor:
    """:func:`models.transformer.modeling.causal_attention_bias` with the causal triangle and
    the diagonal as constants (``[K, K]`` bool): ``[B, 1, K, K]``."""
    allowed = lower & ((mask[:, None, :] != 0) | diagonal)
    return (~allowed).to(dtype)[:, None] * torch.finfo(dtype).min


def unfuse_skip_layer_norm(graph: onnx.ModelProto) -> int:
    """Rewrite each two-input Add feeding a LayerNormalization as a Sum (the same value), so
    ONNX Runtime keeps Add + LayerNormalization instead of fusing SkipLayerNormalization;
    returns how many were rewritten."""
    producers = {out: node for node in graph.graph.node for out in node.output}
    rewritten = 0
    for node in graph.graph.node:
        if node.op_type != "LayerNormalization":
            continue
        add = producers.get(node.input[0])
        if add is not None and add.op_type == "Add" and len(add.input) == 2:
            add.op_type = "Sum"
            rewritten += 1
    return rewritten
