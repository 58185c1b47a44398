"""The compact event-sequence transformer: one token per event, a small causal BERT, three heads.

A token is the sum of one embedding per categorical field plus a linear projection of the
continuous values, computed as one linear map of the concatenated small per-field
embeddings and the continuous vector (``FraudSeqConfig``). A small ``BertModel`` (fed
``inputs_embeds``) runs over the K tokens of a window (oldest first, left padded, the
scored event last) under a *causal* mask: each position sees itself and the real events
before it, never after. So the output at K-2 summarises the account's history *before*
the scored event, and in one forward pass:

- the **fraud head** reads position K-1 (the scored event in its context) -> a logit;
- the **next-event head** reads position K-2 and predicts every categorical field of the
  scored event; the negative log-likelihood of what actually came is the **anomaly score**
  (label-free surprise, in nats);
- the **field head** (pretraining only) predicts fields replaced by the [MASK] code from
  the same position, as TabBERT's masked field modelling does.

Causality is a 4-D additive mask built here and handed to ``BertModel`` as is (transformers
returns a prepared 4-D mask untouched). It is not ``is_decoder=True``: that path would
allow a padded query no key at all under left padding and drag in the KV-cache machinery.
Here a padding position sees only itself, so no attention row is ever empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import torch
from torch import nn
from torch.nn import functional as F
from transformers import BertModel, PreTrainedModel
from transformers import initialization as init
from transformers.utils import ModelOutput

from models.transformer.config import FraudSeqConfig

#: target value of fields that carry no masked-field loss
IGNORE = -100
#: logit given to the impossible codes of a field when the fields' logits are stacked
_IMPOSSIBLE = -1e4


@dataclass
class FraudSeqOutput(ModelOutput):
    """What one forward pass gives (``loss`` only when targets were passed)."""

    loss: torch.Tensor | None = None
    fraud_logits: torch.Tensor | None = None  # [B] raw logit of the fraud head
    anomaly_score: torch.Tensor | None = None  # [B] NLL of the scored event's fields
    hidden_states: torch.Tensor | None = None  # [B, K, H] the encoder's last layer


def causal_attention_bias(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Additive ``[B, 1, K, K]`` bias: query q may attend key k iff k <= q and k is a real
    event, or k == q (so a padding position, which only sees itself, never has an empty
    row)."""
    position = torch.arange(mask.shape[-1], device=mask.device)
    causal = position[None, :] <= position[:, None]  # [q, k]
    diagonal = position[None, :] == position[:, None]
    allowed = causal & ((mask[:, None, :] != 0) | diagonal)
    return (~allowed).to(dtype)[:, None] * torch.finfo(dtype).min


def field_index(cardinalities: list[int]) -> torch.Tensor:
    """``[Fc, max card]`` position of each field's codes in the heads' stacked output; the
    codes a field does not have point one past the end (the padded ``_IMPOSSIBLE`` logit)."""
    total = sum(cardinalities)
    index = torch.full((len(cardinalities), max(cardinalities)), total, dtype=torch.long)
    start = 0
    for i, card in enumerate(cardinalities):
        index[i, :card] = torch.arange(start, start + card)
        start += card
    return index


def field_offsets(cardinalities: list[int]) -> torch.Tensor:
    """``[Fc]`` first row of each field's table in the stacked embedding tables."""
    return torch.tensor([0, *(card + 1 for card in cardinalities[:-1])]).cumsum(0)


class FraudSeqPreTrainedModel(PreTrainedModel):
    config_class = FraudSeqConfig
    base_model_prefix = "fraudseq"
    main_input_name = "cat"
    _supports_sdpa = True

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, FraudSeqModel):  # buffers derived from the config, not saved
            cards = module.config.categorical_cardinalities
            init.copy_(module.field_index, field_index(cards))
            init.copy_(module.field_offsets, field_offsets(cards))


class FraudSeqModel(FraudSeqPreTrainedModel):
    """Fraud logit and anomaly score for windows ``cat`` [B,K,Fc], ``num`` [B,K,Fn],
    ``mask`` [B,K] (the layout of ``models.features.Replay.windows``)."""

    config: FraudSeqConfig
    #: explicit: transformers would otherwise take the (string) annotation above
    config_class = FraudSeqConfig
    field_index: torch.Tensor  # buffers (derived from the config, not saved)
    field_offsets: torch.Tensor

    def __init__(self, config: FraudSeqConfig) -> None:
        super().__init__(config)
        hidden = config.hidden_size
        cards = config.categorical_cardinalities
        width = config.field_embedding_size
        self.field_embeddings = nn.ModuleList(
            nn.Embedding(card + 1, width, padding_idx=0) for card in cards
        )
        self.token_projection = nn.Linear(len(cards) * width + config.n_continuous, hidden)
        self.encoder = BertModel(config.encoder_config(), add_pooling_layer=False)
        total = sum(cards)
        self.field_head = nn.Linear(hidden, total)
        self.next_event_head = nn.Linear(hidden, total)
        self.fraud_head = nn.Sequential(
            nn.Linear(hidden, hidden), nn.GELU(), nn.Dropout(config.hidden_dropout_prob)
        )
        self.fraud_classifier = nn.Linear(hidden, 1)
        self.register_buffer("field_index", field_index(cards), persistent=False)
        self.register_buffer("field_offsets", field_offsets(cards), persistent=False)
        self.post_init()

    # ---- building blocks ----
    def embed(self, cat: torch.Tensor, num: torch.Tensor) -> torch.Tensor:
        """``[B, K, H]``: sum of the field embeddings + projection of the continuous values."""
        fields = [embedding(cat[..., i]) for i, embedding in enumerate(self.field_embeddings)]
        return self.token_projection(torch.cat([*fields, num], dim=-1))

    def embed_fused(self, cat: torch.Tensor, num: torch.Tensor) -> torch.Tensor:
        """:meth:`embed` as one lookup in the stacked tables (what the ONNX graph runs: one
        Gather instead of one per field)."""
        table = torch.cat([cast(nn.Embedding, e).weight for e in self.field_embeddings])
        fields = F.embedding(cat + self.field_offsets, table).flatten(start_dim=-2)
        return self.token_projection(torch.cat([fields, num], dim=-1))

    def encode(self, cat: torch.Tensor, num: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The encoder's last hidden states ``[B, K, H]`` under the causal mask."""
        embeds = self.embed(cat, num)
        bias = causal_attention_bias(mask, embeds.dtype)
        out = self.encoder(inputs_embeds=embeds, attention_mask=bias)
        return out.last_hidden_state

    def encode_tail(self, cat: torch.Tensor, num: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``encode(...)[:, -2:]`` (positions K-2 and K-1), computing the last layer for those
        two queries only: its keys and values still cover the window, but its query,
        output and feed-forward projections run on 2 tokens instead of K (serving)."""
        embeds = self.encoder.embeddings(inputs_embeds=self.embed_fused(cat, num))
        bias = causal_attention_bias(mask, embeds.dtype)
        layers = self.encoder.encoder.layer
        hidden = embeds
        for layer in layers[:-1]:
            hidden = layer(hidden, bias)
        last = layers[-1]
        attention = last.attention.self
        b, k, width = hidden.shape
        heads, size = attention.num_attention_heads, attention.attention_head_size
        tail = hidden[:, -2:]
        query = attention.query(tail).view(b, 2, heads, size).transpose(1, 2)
        key = attention.key(hidden).view(b, k, heads, size).transpose(1, 2)
        value = attention.value(hidden).view(b, k, heads, size).transpose(1, 2)
        scores = torch.matmul(query, key.transpose(2, 3)) * attention.scaling + bias[:, :, -2:]
        context = torch.matmul(F.softmax(scores, dim=-1), value)
        context = context.transpose(1, 2).reshape(b, 2, width)
        attended = last.attention.output(context, tail)
        return last.output(last.intermediate(attended), attended)

    def serve(
        self, cat: torch.Tensor, num: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(fraud probability [B], anomaly score [B]): the exported computation."""
        tail = self.encode_tail(cat, num, mask)
        fraud = self.fraud_probability(self.fraud_logits(tail))
        return fraud, self.anomaly_score(tail, cat)

    def field_log_probs(self, logits: torch.Tensor) -> torch.Tensor:
        """``[..., total]`` head logits -> ``[..., Fc, max card]`` log-probabilities per field
        (codes a field does not have get ~ -1e4)."""
        pad = logits.new_full((*logits.shape[:-1], 1), _IMPOSSIBLE)
        stacked = torch.cat([logits, pad], dim=-1)[..., self.field_index]
        return F.log_softmax(stacked, dim=-1)

    def fraud_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """``[B]`` raw logit of the fraud head on the last position of ``hidden`` [B,*,H]."""
        return self.fraud_classifier(self.fraud_head(hidden[:, -1])).squeeze(-1)

    def fraud_probability(self, logits: torch.Tensor) -> torch.Tensor:
        """Served probability: the logit corrected by ``config.fraud_logit_offset``."""
        return torch.sigmoid(logits + self.config.fraud_logit_offset)

    def next_event_nll(self, hidden: torch.Tensor, cat: torch.Tensor) -> torch.Tensor:
        """``[B, K-1, Fc]``: -log p(field of event t+1 | events <= t) for t = 0..K-2."""
        log_probs = self.field_log_probs(self.next_event_head(hidden[:, :-1]))
        target = cat[:, 1:].clamp(min=0).unsqueeze(-1)
        return -log_probs.gather(-1, target).squeeze(-1)

    def anomaly_score(self, hidden: torch.Tensor, cat: torch.Tensor) -> torch.Tensor:
        """``[B]``: surprise of the scored event's fields given the history before it, read
        at the next-to-last position of ``hidden`` [B,*,H]."""
        log_probs = self.field_log_probs(self.next_event_head(hidden[:, -2]))
        target = cat[:, -1].clamp(min=0).unsqueeze(-1)
        return -log_probs.gather(-1, target).squeeze(-1).sum(-1)

    # ---- losses ----
    def next_event_loss(
        self, hidden: torch.Tensor, cat: torch.Tensor, transitions: torch.Tensor
    ) -> torch.Tensor:
        """Mean NLL per field over the transitions t -> t+1 flagged in ``transitions``
        [B, K-1] (normally: the next event is real)."""
        nll = self.next_event_nll(hidden, cat)
        valid = transitions.to(nll.dtype).unsqueeze(-1)
        return (nll * valid).sum() / (valid.sum() * nll.shape[-1]).clamp(min=1.0)

    def masked_field_loss(self, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean NLL of the masked fields (``targets`` [B,K,Fc], IGNORE where not masked)."""
        log_probs = self.field_log_probs(self.field_head(hidden))
        width = log_probs.shape[-1]
        if not (targets != IGNORE).any():
            return log_probs.sum() * 0.0
        return F.nll_loss(log_probs.reshape(-1, width), targets.reshape(-1), ignore_index=IGNORE)

    # ---- the forward pass ----
    def forward(
        self,
        cat: torch.Tensor,
        num: torch.Tensor,
        mask: torch.Tensor,
        labels: torch.Tensor | None = None,
        masked_field_targets: torch.Tensor | None = None,
        transitions: torch.Tensor | None = None,
        pos_weight: float = 1.0,
        next_event_weight: float = 1.0,
    ) -> FraudSeqOutput:
        """Scores for a batch of windows; with ``labels`` (fine-tuning) or
        ``masked_field_targets`` (pretraining, ``cat`` already holding [MASK] codes) also the
        loss, which always includes the next-event loss weighted by ``next_event_weight``
        over ``transitions`` [B, K-1] (default: every transition into a real event)."""
        hidden = self.encode(cat, num, mask)
        fraud = self.fraud_logits(hidden)
        original = cat
        if masked_field_targets is not None:  # next-event targets are the unmasked fields
            original = torch.where(masked_field_targets != IGNORE, masked_field_targets, cat)
        loss = None
        if labels is not None or masked_field_targets is not None:
            if transitions is None:
                transitions = mask[:, 1:] != 0
            loss = next_event_weight * self.next_event_loss(hidden, original, transitions)
            if labels is not None:
                weight = torch.tensor(pos_weight, dtype=fraud.dtype, device=fraud.device)
                loss = loss + F.binary_cross_entropy_with_logits(
                    fraud, labels.to(fraud.dtype), pos_weight=weight
                )
            if masked_field_targets is not None:
                loss = loss + self.masked_field_loss(hidden, masked_field_targets)
        return FraudSeqOutput(
            loss=loss,
            fraud_logits=fraud,
            anomaly_score=self.anomaly_score(hidden, original),
            hidden_states=hidden,
        )
