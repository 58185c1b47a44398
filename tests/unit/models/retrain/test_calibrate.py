"""A challenger's cut-offs set to the champion's false-alarm share, channel by channel."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.card import CARD_FILE
from models.evaluation import alert_rates, choose_thresholds
from models.manifest import Manifest, Thresholds
from models.registry import MODEL_FILE, Registry
from models.retrain.calibrate import champion_fpr_thresholds, register_calibrated
from models.retrain.compare import ScoredSet
from schemas.features import FeatureSpec

CHANNELS = {"pos": 4000, "ecom": 3000, "transfer": 2000, "atm": 150}
LOGINS = 1500
CHAMPION = {
    "transaction": Thresholds(review=0.99, block=0.998),
    "login": Thresholds(review=0.98, block=0.995),
}


def scored_set(seed: int = 0) -> ScoredSet:
    """Genuine events (and a few frauds) whose challenger scores rank transfers far higher
    than the champion's do: kept as they are, its transaction cut-off would alert little
    else."""
    rng = np.random.default_rng(seed)
    types, channels = [], []
    for channel, n in CHANNELS.items():
        types += ["transaction"] * n
        channels += [channel] * n
    types += ["login"] * LOGINS
    channels += [None] * LOGINS
    n = len(types)
    channel_of = np.array(channels, dtype=object)
    champion = rng.random(n)
    challenger = rng.random(n) ** 3
    challenger[channel_of == "transfer"] = 0.7 + 0.3 * rng.random(CHANNELS["transfer"])
    y = (rng.random(n) < 0.01).astype(np.int8)
    return ScoredSet(
        name="recent",
        y=y,
        event_types=np.array(types, dtype=object),
        scenarios=np.array([None] * n, dtype=object),
        scores={"champion": champion, "challenger": challenger},
        channels=channel_of,
    )


def false_alarms(scored: ScoredSet, role: str, table: dict[str, Thresholds]) -> dict[str, int]:
    alerted, _ = alert_rates(scored.scores[role], scored.event_types, table, scored.channels)
    genuine = scored.y == 0
    keys = [c or t for t, c in zip(scored.event_types, scored.channels, strict=True)]
    out: dict[str, int] = {}
    for key, hit in zip(keys, alerted & genuine, strict=True):
        out[key] = out.get(key, 0) + int(hit)
    return out


def test_each_channel_gets_the_champions_share_of_false_alarms() -> None:
    scored = scored_set()
    # the challenger's own: 1 % of each event type's events, as a fresh model chooses them
    own = choose_thresholds(scored.scores["challenger"], scored.event_types, 0.01, 0.002)
    table, keys = champion_fpr_thresholds(scored, CHAMPION, own, min_false_alarms=10)

    before = false_alarms(scored, "champion", CHAMPION)
    after = false_alarms(scored, "challenger", table)
    for channel in ("pos", "ecom", "transfer"):
        assert keys[f"transaction/{channel}"].thresholds is not None
        assert after[channel] == before[channel] > 10
    assert after["login"] == before["login"]
    # the challenger's own transaction cut-off would have spent its alerts on transfers
    kept = false_alarms(scored, "challenger", own)
    assert kept["transfer"] > 2 * before["transfer"] and kept["pos"] < before["pos"]

    # too few false alarms in a channel to measure a share: its events use the type's cut-off
    atm = keys["transaction/atm"]
    assert atm.thresholds is None and atm.champion_reviewed < 10
    assert "transaction/atm" not in table and table["transaction"] == keys["transaction"].thresholds
    for cut in table.values():
        assert cut.block >= cut.review


def test_a_model_with_channel_cut_offs_is_matched_channel_by_channel() -> None:
    """After one calibrated promotion the champion has channel keys itself."""
    scored = scored_set(1)
    champion = {**CHAMPION, "transaction/transfer": Thresholds(review=0.9, block=0.95)}
    table, keys = champion_fpr_thresholds(scored, champion, CHAMPION, min_false_alarms=10)
    before = false_alarms(scored, "champion", champion)
    assert keys["transaction/transfer"].champion_reviewed == before["transfer"] > 100
    assert false_alarms(scored, "challenger", table)["transfer"] == before["transfer"]


def test_the_calibrated_challenger_is_a_new_version_naming_the_trained_one(
    tmp_path: Path,
) -> None:
    registry = Registry(tmp_path / "registry")
    build = tmp_path / "build"
    build.mkdir()
    (build / MODEL_FILE).write_bytes(b"onnx bytes")
    (build / CARD_FILE).write_text("# fraudstream model (baseline)\n")
    manifest = Manifest.for_spec(
        FeatureSpec(), kind="baseline", inputs=["features"], thresholds=dict(CHAMPION),
        parent_version="v0001-baseline-x",
    )  # fmt: skip
    trained = registry.register(build, manifest)
    table, keys = champion_fpr_thresholds(scored_set(), CHAMPION, CHAMPION, 10)

    version = register_calibrated(registry, trained, table, keys)

    assert registry.versions() == [trained, version]
    calibrated = registry.verify(version)
    assert calibrated.thresholds == table and "transaction/pos" in calibrated.thresholds
    assert calibrated.parent_version == "v0001-baseline-x"
    origin = calibrated.params["thresholds_from"]
    assert origin["version"] == trained and origin["policy"] == "champion-fpr"
    assert origin["keys"]["transaction/atm"]["review"] is None
    assert registry.manifest(trained).thresholds == CHAMPION  # registered versions never change
    card = (registry.path(version) / CARD_FILE).read_text()
    assert card.startswith("# fraudstream model") and "| transaction/pos |" in card


def test_false_alarms_the_champion_raised_beyond_its_budget_are_not_passed_on() -> None:
    """Drift made the champion flag a tenth of the logins; its thresholds were chosen for 1 %."""
    scored = scored_set(2)
    drifted = {**CHAMPION, "login": Thresholds(review=0.9, block=0.99)}
    table, keys = champion_fpr_thresholds(scored, drifted, CHAMPION, 10, budget=(0.01, 0.002))
    login = keys["login"]
    genuine_logins = int(((scored.event_types == "login") & (scored.y == 0)).sum())
    assert login.champion_reviewed > 0.08 * genuine_logins  # what the champion did
    assert login.reviewed == genuine_logins // 100  # what the challenger may
    assert login.blocked == min(login.champion_blocked, int(0.002 * genuine_logins))
    assert false_alarms(scored, "challenger", table)["login"] == login.reviewed
    # under the budget, a channel keeps the champion's own share
    pos = keys["transaction/pos"]
    assert pos.reviewed == pos.champion_reviewed


def test_channels_only_leaves_each_event_type_its_own_cut_offs() -> None:
    scored = scored_set(3)
    own = choose_thresholds(scored.scores["challenger"], scored.event_types, 0.01, 0.002)
    table, keys = champion_fpr_thresholds(scored, CHAMPION, own, 10, event_types=False)
    assert set(keys) == {f"transaction/{c}" for c in CHANNELS}
    assert table["transaction"] == own["transaction"] and table["login"] == own["login"]
    before = false_alarms(scored, "champion", CHAMPION)
    after = false_alarms(scored, "challenger", table)
    for channel in ("pos", "ecom", "transfer"):
        assert after[channel] == before[channel]
    # atm: too few to measure, decided with the challenger's own transaction cut-off
    assert "transaction/atm" not in table
