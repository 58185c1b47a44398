"""The worker serves a transformer from the registry: the model holder loads the registered
ONNX graph and every Score the engine emits carries its version and the torch model's
fraud probability for the window the engine built."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from models.manifest import WINDOW_INPUTS, Manifest, Thresholds  # noqa: E402
from models.registry import MODEL_FILE, Registry  # noqa: E402
from models.serving import OnnxScorer  # noqa: E402
from models.transformer import FraudSeqConfig, FraudSeqModel  # noqa: E402
from models.transformer.export import export_onnx  # noqa: E402
from pipeline.settings import Settings  # noqa: E402
from pipeline.worker.engine import Engine, Incoming  # noqa: E402
from pipeline.worker.models import ModelHolder  # noqa: E402
from schemas import DecodeLimits, Login, Score, Transaction, decode, encode  # noqa: E402
from schemas.features import FeatureSpec  # noqa: E402

K = 8
T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def tx(i: int, account: str, amount: str) -> Transaction:
    return Transaction(
        event_id=f"tx-{i}", account_id=account, ts=T0 + timedelta(minutes=i), amount=amount,
        currency="EUR", merchant_id=f"m{i % 3}", channel="pos", country="FR",
    )  # fmt: skip


def msg(record: Transaction | Login, offset: int) -> Incoming:
    return Incoming(record.topic, 0, offset, encode(record), T0.timestamp())


@dataclass
class Recording:
    """Delegates to the served scorer and keeps the windows it was given."""

    scorer: OnnxScorer
    windows: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)

    @property
    def version(self) -> str:
        return self.scorer.version

    @property
    def window(self) -> int:
        return self.scorer.window

    @property
    def thresholds(self) -> dict[str, dict[str, float]]:
        return self.scorer.thresholds

    def score(self, cat: np.ndarray, num: np.ndarray, mask: np.ndarray):
        self.windows.append((cat.copy(), num.copy(), mask.copy()))
        return self.scorer.score(cat, num, mask)


@pytest.fixture
def registered(tmp_path: Path) -> tuple[Settings, FraudSeqModel, str]:
    """A small transformer (K=8) exported and promoted in a scratch registry."""
    torch.manual_seed(0)
    config = FraudSeqConfig(
        window=K, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=32, fraud_logit_offset=-1.0,
    )  # fmt: skip
    model = FraudSeqModel(config).eval()
    with torch.no_grad():
        for weight in model.parameters():
            weight.add_(torch.randn_like(weight) * 0.3)
    build = tmp_path / "build"
    build.mkdir()
    export_onnx(model, build / MODEL_FILE, {"fraudstream.kind": "transformer"})
    cut = Thresholds(review=0.5, block=0.9)
    settings = Settings(home=tmp_path / "home", window=K)
    registry = Registry(settings.registry_dir)
    version = registry.register(
        build,
        Manifest.for_spec(
            FeatureSpec(window=K),
            kind="transformer",
            inputs=list(WINDOW_INPUTS),
            thresholds={"transaction": cut, "login": cut},
        ),
    )
    registry.promote(version)
    return settings, model, version


def test_worker_serves_the_registered_transformer(
    registered: tuple[Settings, FraudSeqModel, str],
) -> None:
    settings, model, version = registered
    holder = ModelHolder(settings)
    served = holder.load_initial()
    assert holder.version == version and served.manifest.kind == "transformer"
    records = [tx(i, account=f"a{i % 3}", amount=f"{10 + 37 * i}.00") for i in range(12)]
    records.insert(5, Login(event_id="lg-1", account_id="a1", ts=T0, success=False))
    recording = Recording(served)
    engine = Engine(window=settings.window, partitions=1, limits=DecodeLimits())
    out = engine.score_batch([msg(r, i) for i, r in enumerate(records)], recording, {}, {}, {})
    scores = [decode(Score, value) for _, value in out.scores]
    assert [s.event_id for s in scores] == [r.event_id for r in records]
    assert {s.model_version for s in scores} == {version}
    ((cat, num, mask),) = recording.windows
    assert cat.shape == (len(records), K, model.config.n_categorical)
    with torch.no_grad():
        fraud, anomaly = model.serve(*map(torch.from_numpy, (cat, num, mask)))
    got = np.array([s.fraud_score for s in scores])
    assert np.abs(got - fraud.numpy()).max() < 1e-5
    assert np.abs(np.array([s.anomaly_score for s in scores]) - anomaly.numpy()).max() < 1e-3
    assert got.std() > 1e-3  # the events are told apart, not a constant
    for score in scores:
        expected = (
            "block"
            if score.fraud_score >= 0.9
            else "review"
            if score.fraud_score >= 0.5
            else "allow"
        )
        assert score.decision == expected
