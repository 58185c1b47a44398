"""ONNX export of the transformer: fp32 graph, int8 dynamic quantization, parity checks.

The served graph takes the worker's arrays — ``cat`` int64 [B,K,Fc], ``num`` float32
[B,K,Fn], ``mask`` int64 [B,K] — and returns ``fraud_probability`` [B] and
``anomaly_score`` [B]: exactly what :class:`models.serving.OnnxScorer` feeds and reads.
The batch axis is dynamic, K is fixed (the scorer pads or trims to the manifest's window).

The exported module is :class:`models.transformer.inference.InferenceModule`: the same
weights and arithmetic as :meth:`FraudSeqModel.serve`, laid out for ONNX Runtime's CPU
kernels (fused query/key/value projection, the last layer on the two read positions, no
SkipLayerNormalization fusion); the parity checks hold it to torch. The export uses torch's
TorchScript-based exporter (``dynamo=False``): it handles the dynamic batch through
``dynamic_axes`` and needs nothing beyond torch, whereas the torch.export-based default
needs the extra ``onnxscript`` package. Attention runs as plain MatMul/Softmax.

Quantization is ONNX Runtime's dynamic int8 on MatMul/Gemm weights only: activations are
quantized per call, the attention products (two activations) and the embedding lookups
(Gather) stay fp32.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic

from models.exceptions import ParityError
from models.manifest import WINDOW_INPUTS, OutputNames
from models.serving.onnx_scorer import session_options
from models.transformer.inference import InferenceModule, unfuse_skip_layer_norm
from models.transformer.modeling import FraudSeqModel
from models.transformer.windows import Windows, batches

logger = logging.getLogger(__name__)

OUTPUTS = OutputNames()
OPSET = 17
QUANTIZED_OPS = ["MatMul", "Gemm"]


def export_onnx(model: FraudSeqModel, path: Path, metadata: dict[str, str]) -> onnx.ModelProto:
    """Write the fp32 inference graph of ``model`` to ``path`` (dynamic batch, K fixed)."""
    config = model.config
    model.eval()
    k = config.window
    example = (
        torch.zeros(2, k, config.n_categorical, dtype=torch.long),
        torch.zeros(2, k, config.n_continuous, dtype=torch.float32),
        torch.ones(2, k, dtype=torch.long),
    )
    dynamic = {name: {0: "batch"} for name in (*WINDOW_INPUTS, *_output_names())}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            InferenceModule(model).eval(),  # the exporter restores the wrapper's mode
            example,
            str(path),
            dynamo=False,
            input_names=list(WINDOW_INPUTS),
            output_names=_output_names(),
            dynamic_axes=dynamic,
            opset_version=OPSET,
        )
    graph = onnx.load(str(path))
    unfuse_skip_layer_norm(graph)
    for name, value in metadata.items():
        entry = graph.metadata_props.add()
        entry.key, entry.value = name, value
    onnx.checker.check_model(graph)
    onnx.save(graph, str(path))
    return graph


def _output_names() -> list[str]:
    return [OUTPUTS.fraud_probability, OUTPUTS.anomaly_score]


def quantize_int8(fp32: Path, int8: Path) -> None:
    """Dynamic int8 quantization of the MatMul/Gemm weights (activations quantized at run
    time; Gather, LayerNorm, Softmax and the attention products stay fp32)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))  # the quantizer narrates every tensor to root
    try:
        quantize_dynamic(
            fp32,
            int8,
            op_types_to_quantize=QUANTIZED_OPS,
            weight_type=QuantType.QInt8,
            per_channel=False,
        )
    finally:
        root.setLevel(level)
    graph = onnx.load(str(int8))
    kept = onnx.load(str(fp32)).metadata_props
    del graph.metadata_props[:]
    graph.metadata_props.extend(kept)
    onnx.save(graph, str(int8))


def session(path: Path | bytes, threads: int = 1) -> ort.InferenceSession:
    source = path if isinstance(path, bytes) else str(path)
    return ort.InferenceSession(
        source, session_options(threads), providers=["CPUExecutionProvider"]
    )


def onnx_scores(
    sess: ort.InferenceSession, windows: Windows, rows: np.ndarray, batch_size: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """(fraud probability, anomaly score) of ``rows`` from an ONNX session."""
    fraud, anomaly = [], []
    for part in batches(rows, batch_size):
        cat, num, mask = windows.replay.windows(part)
        f, a = sess.run(_output_names(), {"cat": cat, "num": num, "mask": mask})
        fraud.append(f.reshape(-1))
        anomaly.append(a.reshape(-1))
    if not fraud:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    return np.concatenate(fraud), np.concatenate(anomaly)


@dataclass(frozen=True, slots=True)
class Parity:
    fraud_max_abs_diff: float
    anomaly_max_abs_diff: float

    def worst(self) -> float:
        return max(self.fraud_max_abs_diff, self.anomaly_max_abs_diff)


def compare(
    reference: tuple[np.ndarray, np.ndarray], other: tuple[np.ndarray, np.ndarray]
) -> Parity:
    return Parity(
        float(np.max(np.abs(reference[0] - other[0]), initial=0.0)),
        float(np.max(np.abs(reference[1] - other[1]), initial=0.0)),
    )


def check_fp32_parity(
    torch_scores: tuple[np.ndarray, np.ndarray],
    onnx_fp32: tuple[np.ndarray, np.ndarray],
    tolerance: float,
) -> Parity:
    """The fp32 graph must reproduce torch within ``tolerance`` (else nothing registers)."""
    parity = compare(torch_scores, onnx_fp32)
    if parity.worst() > tolerance:
        raise ParityError(
            f"the fp32 ONNX graph differs from torch on {len(torch_scores[0])} validation "
            f"windows: fraud probability by {parity.fraud_max_abs_diff:.2e}, anomaly score by "
            f"{parity.anomaly_max_abs_diff:.2e} (tolerance {tolerance:.0e}); the model was not "
            "registered — report this with the torch/onnxruntime versions"
        )
    logger.info(
        "onnx fp32 parity windows=%d fraud_diff=%.2e anomaly_diff=%.2e",
        len(torch_scores[0]),
        parity.fraud_max_abs_diff,
        parity.anomaly_max_abs_diff,
    )
    return parity
