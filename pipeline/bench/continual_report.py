"""The Markdown page of a ``bench continual`` run, from its JSON report."""

from __future__ import annotations

from typing import Any


def _pct(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f} %"


def _pts(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:+.1f} pts"


def markdown(report: dict[str, Any]) -> str:
    cfg, world = report["config"], report["world"]
    lines = [
        "# bench continual",
        "",
        f"- model kind: {cfg['model']}; world seed {cfg['world']['seed']}; "
        f"{cfg['world']['events']:,} events per period of {cfg['world']['days']} days; "
        f"{world['accounts']:,} accounts, {world['merchants']:,} merchants",
        f"- shift from period 2 ({cfg['world']['shift']}): {cfg['world']['adopters']:.0%} of "
        f"customers, {cfg['world']['adoption_share']:.0%} of their online activity; shifted "
        f"segment: {world['segment']}; new scenario `{cfg['world']['new_scenario']}` takes "
        f"{cfg['world']['new_scenario_share']:.0%} of the fraud",
        f"- learner: false-positive weight {cfg['false_positive_weight']:g}, "
        f"replay share {cfg['replay_share']:g}",
        "",
        "## Fraud events per scenario and period",
        "",
    ]
    per = world["scenarios_per_period"]
    names = sorted({n for p in per.values() for n in p})
    lines += ["| scenario | " + " | ".join(per) + " |", "|---" * (len(per) + 1) + "|"]
    lines += [f"| {n} | " + " | ".join(f"{p.get(n, 0):,}" for p in per.values()) + " |"
              for n in names]  # fmt: skip
    p2 = report["period2"]
    c2 = p2["champion"]
    lines += [
        "",
        "## Period 2 (champion live, analysts label)",
        "",
        f"- champion false-positive rate at its review threshold: {_pct(c2['fpr'])} overall, "
        f"{_pct(c2['fpr_segment'])} on the shifted segment, {_pct(c2['fpr_elsewhere'])} "
        "elsewhere",
        f"- analysts: {p2['analysts']}",
        f"- reviewed false positives: {p2['reviewed_false_positives']:,} "
        f"({p2['reviewed_false_positives_in_segment']:,} in the shifted segment)",
        "",
        "## Retrain",
        "",
    ]
    r = report["retrain"]
    lines += [
        f"- {r['headline']}",
        f"- gate passed: {r['gate_passed']} ({r['gate_evaluated']} expectations); "
        f"challenger {r['challenger']} (parent {r['challenger_parent']})"
        + (f", thresholds per channel set on {r['trained']}" if r.get("trained") else ""),
        f"- data: {r['data']}",
    ]
    p3 = report.get("period3")
    if p3 is not None:
        eq = p3["equal_recall"]
        lines += [
            "",
            f"## Period 3 at equal recall ({_pct(eq['recall'], 1)}: the champion's recall "
            "at its review threshold)",
            "",
            "| measure | champion | challenger |",
            "|---|---|---|",
            f"| average precision | {p3['average_precision']['champion']:.4f} | "
            f"{p3['average_precision']['challenger']:.4f} |",
        ]
        lines += _point_rows(
            eq,
            (
                ("alert_rate", "alert rate"),
                ("fpr", "false-positive rate"),
                ("fpr_segment", "FPR, shifted segment"),
                ("fpr_elsewhere", "FPR, elsewhere"),
            ),
        )
        budget = p3["equal_alert_rate"]
        lines += _point_table(
            f"equal alert rate ({_pct(budget['alert_rate'], 3)}: the champion's alert rate at "
            "the point above)",
            budget,
            (("recall", "recall"), ("fpr", "false-positive rate")),
        )
        same_fpr = p3.get("equal_fpr")
        if same_fpr is not None:
            lines += _point_table(
                f"equal false-positive rate ({_pct(same_fpr['fpr'], 3)}: the champion's at the "
                "point above)",
                same_fpr,
                (("recall", "recall"), ("alert_rate", "alert rate")),
            )
        per_channel = p3.get("equal_fpr_per_channel")
        if per_channel is not None:
            shares = ", ".join(f"{k} {_pct(v, 3)}" for k, v in per_channel["fpr"].items())
            lines += _point_table(
                f"each channel's false-positive rate (the champion's at the point above: {shares})",
                per_channel,
                (("recall", "recall"), ("alert_rate", "alert rate"), ("fpr", "FPR")),
            )
        own = p3.get("own_thresholds")
        if own is not None:
            lines += _point_table(
                "each model's own thresholds (what the bank runs: the champion's, and the "
                "challenger's from its retrain)",
                own,
                (("recall", "recall"), ("alert_rate", "alert rate"), ("fpr", "FPR"),
                 ("fpr_segment", "FPR, shifted segment"), ("fpr_elsewhere", "FPR, elsewhere")),
            )  # fmt: skip
            as_trained = own.get("challenger_as_trained")
            if as_trained is not None:
                recalls = ", ".join(
                    f"{name} {_pct(v['recall'], 1)}"
                    for name, v in sorted(as_trained["scenarios"].items())
                )
                lines += [
                    "",
                    "The challenger at the cut-offs it was trained with (before the retrain set "
                    f"them per channel): recall {_pct(as_trained['recall'], 1)}, alert rate "
                    f"{_pct(as_trained['alert_rate'], 3)}, FPR {_pct(as_trained['fpr'], 3)}; "
                    f"per scenario: {recalls}.",
                ]
        lines += ["", "## Targets", "", "| target | goal | measured | met |", "|---|---|---|---|"]
        for t in report["targets"]:
            measured = t["measured"]
            shown = _pct(measured, 1) if t["name"].startswith("false-positive") else _pts(measured)
            lines.append(f"| {t['name']} | {t['goal']} | {shown} | {'yes' if t['met'] else 'no'} |")
    lines += ["", f"seconds: { {k: round(v, 1) for k, v in report['seconds'].items()} }", ""]
    return "\n".join(lines)


def _point_rows(point: dict[str, Any], measures: tuple[tuple[str, str], ...]) -> list[str]:
    """Champion / challenger rows at one operating point: ``measures``, then recall per
    scenario (with its number of frauds)."""
    rows = [
        f"| {label} | {_pct(point['champion'][key], 3)} | {_pct(point['challenger'][key], 3)} |"
        for key, label in measures
    ]
    for name in sorted(point["champion"]["scenarios"]):
        c = point["champion"]["scenarios"][name]
        n = point["challenger"]["scenarios"].get(name, {})
        rows.append(
            f"| recall {name} ({c['frauds']}) | {_pct(c['recall'], 1)} | "
            f"{_pct(n.get('recall'), 1)} |"
        )
    return rows


def _point_table(
    title: str, point: dict[str, Any], measures: tuple[tuple[str, str], ...]
) -> list[str]:
    """A section of period 3 at one operating point."""
    header = ["", f"## Period 3 at {title}", "", "| measure | champion | challenger |"]
    return [*header, "|---|---|---|", *_point_rows(point, measures)]
