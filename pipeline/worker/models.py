"""The model a worker serves, and the hot swap driven by ``fraud.model-updates.v1``.

Every worker follows the updates topic on its own (no consumer group: each one must see
every update). A new version is loaded and verified in a thread; the reference is swapped
between batches, so a batch is always scored by exactly one model. A bad update (sha256
mismatch, manifest for another feature set, unreadable file) is refused and counted, and
the old model keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
from aiokafka import AIOKafkaConsumer

from models.registry import Registry
from models.serving import OnnxScorer
from models.serving.inputs import N_CAT, N_NUM
from pipeline.settings import Settings
from pipeline.worker.metrics import WorkerMetrics
from schemas import FraudstreamError, InvalidRecordError, ModelUpdate, Topic, decode

log = logging.getLogger(__name__)


def warm_up(scorer: OnnxScorer) -> OnnxScorer:
    """Score one padding event, so that the first batch does not pay ONNX Runtime's first
    run (allocations, kernel choice); a model that cannot score it is refused here."""
    positions = scorer.positions
    cat = np.zeros((1, positions, N_CAT), dtype=np.int64)
    num = np.zeros((1, positions, N_NUM), dtype=np.float32)
    mask = np.zeros((1, positions), dtype=np.int64)
    mask[:, -1] = 1
    try:
        scorer.score(cat, num, mask)
    except FraudstreamError:
        raise
    except Exception as err:  # onnxruntime's own errors: the model is unusable
        raise FraudstreamError(
            f"model {scorer.version} failed to score a warm-up event: {err}"
        ) from err
    return scorer


class ModelHolder:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._model: OnnxScorer | None = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def version(self) -> str | None:
        return None if self._model is None else self._model.version

    @property
    def model(self) -> OnnxScorer:
        if self._model is None:
            raise FraudstreamError("no model loaded: train one with `fraudstream train`")
        return self._model

    def load_initial(self) -> OnnxScorer:
        """Load the registry's current (or the configured) version; fails with one line."""
        registry = Registry(self.settings.registry_dir)
        self._model = warm_up(OnnxScorer.load(registry, self.settings.model_version))
        log.info("model_loaded version=%s", self._model.version)
        return self._model

    def swap(self, model: OnnxScorer) -> None:
        old = self.version
        self._model = model
        log.info("model_swapped from=%s to=%s", old, model.version)

    @staticmethod
    def load_update(update: ModelUpdate) -> OnnxScorer:
        """Load the announced version from its folder and check the announced sha256."""
        folder = Path(unquote(urlparse(update.uri).path))
        scorer = OnnxScorer.load(Registry(folder.parent), folder.name)
        if scorer.sha256 != update.sha256:
            raise FraudstreamError(
                f"model update {update.version}: sha256 {scorer.sha256[:12]}… does not match "
                f"the announced {update.sha256[:12]}…; refusing it"
            )
        return warm_up(scorer)

    async def follow(self, app: Any, metrics: WorkerMetrics) -> None:
        """Consume model updates from the end of the topic and swap on each good one."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
        )
        consumer.subscribe([Topic.MODEL_UPDATES.value])
        await consumer.start()
        try:
            if self.version is not None:
                metrics.model_version.info({"version": self.version})
            # an update published while this worker started is caught by the pointer check
            await self._reconcile(metrics)
            async for msg in consumer:
                await self._apply(msg.value, metrics)
        finally:
            await consumer.stop()

    async def _reconcile(self, metrics: WorkerMetrics) -> None:
        if self.settings.model_version is not None:
            return
        current = Registry(self.settings.registry_dir).current()
        if current is None or current == self.version:
            return
        loop = asyncio.get_running_loop()
        try:
            registry = Registry(self.settings.registry_dir)
            scorer = await loop.run_in_executor(
                None, lambda: warm_up(OnnxScorer.load(registry, current))
            )
        except FraudstreamError as err:
            metrics.model_updates.labels("refused").inc()
            log.error("model_reconcile_refused version=%s reason=%s", current, err)
            return
        self.swap(scorer)

    async def _apply(self, raw: bytes | None, metrics: WorkerMetrics) -> None:
        try:
            update = decode(ModelUpdate, raw)
        except InvalidRecordError as err:
            metrics.model_updates.labels("invalid").inc()
            log.warning("model_update_invalid reason=%r", err.reason)
            return
        if update.version == self.version:
            return
        loop = asyncio.get_running_loop()
        try:
            scorer = await loop.run_in_executor(None, self.load_update, update)
        except FraudstreamError as err:
            metrics.model_updates.labels("refused").inc()
            log.error("model_update_refused version=%s reason=%s", update.version, err)
            return
        self.swap(scorer)
        metrics.model_updates.labels("applied").inc()
        metrics.model_version.info({"version": scorer.version})
