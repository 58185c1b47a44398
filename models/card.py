"""A short model card (markdown) written beside every registered model."""

from __future__ import annotations

from models.manifest import Manifest

CARD_FILE = "MODEL_CARD.md"


def model_card(manifest: Manifest, notes: str = "") -> str:
    """What the model is, what it was trained on, how it scored and how it decides."""
    lines = [
        f"# fraudstream model ({manifest.kind})",
        "",
        f"- parent version: {manifest.parent_version or 'none'}",
        f"- created: {manifest.created_at.isoformat()}",
        f"- inputs: {', '.join(manifest.inputs)} (window {manifest.window})",
        f"- outputs: {manifest.outputs.fraud_probability}, {manifest.outputs.anomaly_score}",
        f"- feature set: {manifest.feature_set_hash[:12]}… "
        f"(rules v{manifest.feature_spec.get('version')})",
        f"- training data: {manifest.training_data_hash[:12]}…",
        "",
        "## Metrics",
        "",
        "| metric | value |",
        "|---|---|",
        *(f"| {name} | {value:.4g} |" for name, value in sorted(manifest.metrics.items())),
        "",
        "## Thresholds",
        "",
        "| event type (or its channel) | review ≥ | block ≥ |",
        "|---|---|---|",
        *(
            f"| {event_type} | {cut.review:.6g} | {cut.block:.6g} |"
            for event_type, cut in manifest.thresholds.items()
        ),
        "",
    ]
    if notes:
        lines += ["## Notes", "", notes, ""]
    return "\n".join(lines)


EVALUATION_START = "<!-- evaluation:start -->"
EVALUATION_END = "<!-- evaluation:end -->"


def with_evaluation(card: str, section: str) -> str:
    """``card`` with its evaluation section replaced by ``section`` (appended the first time).

    The section sits between two HTML comments, so a later evaluation replaces it and leaves
    the rest of the card as the trainer wrote it.
    """
    block = f"{EVALUATION_START}\n{section.strip()}\n{EVALUATION_END}\n"
    start, end = card.find(EVALUATION_START), card.find(EVALUATION_END)
    if start != -1 and end > start:
        return card[:start] + block + card[end + len(EVALUATION_END) :].lstrip("\n")
    return card.rstrip("\n") + "\n\n" + block
