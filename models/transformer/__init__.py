"""The compact event-sequence transformer: config, model, training stages, ONNX export.

Needs the ``train`` extra (torch, transformers, safetensors); serving does not.
"""

from models.transformer.build import train_transformer
from models.transformer.checkpoint import StageCheckpoint
from models.transformer.config import FraudSeqConfig
from models.transformer.exceptions import CheckpointError, TransformerError
from models.transformer.modeling import FraudSeqModel, FraudSeqOutput
from models.transformer.params import TransformerParams
from models.transformer.train import Progress, finetune, pretrain

__all__ = [
    "CheckpointError",
    "FraudSeqConfig",
    "FraudSeqModel",
    "FraudSeqOutput",
    "Progress",
    "StageCheckpoint",
    "TransformerError",
    "TransformerParams",
    "finetune",
    "pretrain",
    "train_transformer",
]
