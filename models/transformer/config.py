"""The transformer's Hugging Face configuration: sizes, and the token fields it was built for.

The field names and cardinalities come from ``schemas.features`` and are stored in the
config (``config.json``), so a saved model states which tokens it reads and
``from_pretrained`` rebuilds the same embedding tables even after the schema moved on.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from transformers import BertConfig, PreTrainedConfig

from schemas.features import CATEGORICAL, CONTINUOUS, DEFAULT_WINDOW, FeatureSpec

MODEL_TYPE = "fraudstream-seq"

#: fields always written to config.json, even when equal to the defaults: the defaults come
#: from the current schema and a model must never silently take a newer schema's values
_ALWAYS_SAVED = (
    "categorical_names",
    "categorical_cardinalities",
    "continuous_names",
    "feature_set_hash",
    "window",
)


class FraudSeqConfig(PreTrainedConfig):
    """Configuration of :class:`models.transformer.FraudSeqModel`.

    Categorical field ``i`` has codes ``0..categorical_cardinalities[i]-1`` (0 = padding /
    not available); its embedding table has one more row, the [MASK] code of pretraining.
    A token is ``W · [e_1(c_1); …; e_Fc(c_Fc); num] + b``: the sum over fields of each field's
    embedding ``W_f · e_f(c_f)`` (rank ``field_embedding_size``) plus a linear projection of
    the continuous values.
    """

    model_type = MODEL_TYPE

    # ---- the tokens (schemas.features) ----
    categorical_names: list[str] = field(default_factory=lambda: list(CATEGORICAL))
    categorical_cardinalities: list[int] = field(default_factory=lambda: list(CATEGORICAL.values()))
    continuous_names: list[str] = field(default_factory=lambda: list(CONTINUOUS))
    feature_set_hash: str = field(default_factory=lambda: FeatureSpec().hash())
    window: int = DEFAULT_WINDOW  # K: events per window, the scored event last
    # ---- the tokens' embedding ----
    #: width of each field's own embedding; the concatenated field embeddings and the
    #: continuous values go through one linear map to ``hidden_size``
    field_embedding_size: int = 8
    # ---- the encoder ----
    hidden_size: int = 64
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    intermediate_size: int = 128
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    layer_norm_eps: float = 1e-12
    initializer_range: float = 0.02
    # ---- serving ----
    #: added to the fraud logit at inference: undoes the odds shift of training on a
    #: sub-sample of genuine events with a positive-class weight (set by fine-tuning)
    fraud_logit_offset: float = 0.0

    def __post_init__(self, **kwargs: Any) -> None:
        super().__post_init__(**kwargs)
        if len(self.categorical_names) != len(self.categorical_cardinalities):
            raise ValueError(
                f"{len(self.categorical_names)} categorical names but "
                f"{len(self.categorical_cardinalities)} cardinalities"
            )
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size {self.hidden_size} is not a multiple of "
                f"num_attention_heads {self.num_attention_heads}"
            )
        if self.window < 2:
            raise ValueError(
                f"window must be at least 2 (history + scored event), got {self.window}"
            )

    @property
    def n_categorical(self) -> int:
        return len(self.categorical_names)

    @property
    def n_continuous(self) -> int:
        return len(self.continuous_names)

    @property
    def mask_codes(self) -> list[int]:
        """The [MASK] code of each categorical field (one past its last real code)."""
        return list(self.categorical_cardinalities)

    def to_diff_dict(self) -> dict[str, Any]:
        body = super().to_diff_dict()
        body.update({name: getattr(self, name) for name in _ALWAYS_SAVED})
        return body

    def encoder_config(self) -> BertConfig:
        """The BertConfig of the encoder: it only ever sees ``inputs_embeds`` (no vocabulary)."""
        attention: dict[str, Any] = {"attn_implementation": self._attn_implementation}
        return BertConfig(
            vocab_size=1,
            hidden_size=self.hidden_size,
            num_hidden_layers=self.num_hidden_layers,
            num_attention_heads=self.num_attention_heads,
            intermediate_size=self.intermediate_size,
            hidden_act=self.hidden_act,
            hidden_dropout_prob=self.hidden_dropout_prob,
            attention_probs_dropout_prob=self.attention_probs_dropout_prob,
            max_position_embeddings=self.window,
            type_vocab_size=1,
            layer_norm_eps=self.layer_norm_eps,
            initializer_range=self.initializer_range,
            pad_token_id=0,
            is_decoder=False,  # causality comes from the 4-D mask FraudSeqModel builds
            use_cache=False,
            **attention,
        )

    def matches(self, spec: FeatureSpec) -> bool:
        """True when this model reads the tokens ``spec`` describes."""
        return (
            self.feature_set_hash == spec.hash()
            and self.categorical_names == list(spec.categorical)
            and self.categorical_cardinalities == list(spec.categorical.values())
            and self.continuous_names == list(spec.continuous)
        )
