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
        f"challenger {r['challenger']} (parent {r['challenger_parent']})",
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
        for key, label in (
            ("alert_rate", "alert rate"),
            ("fpr", "false-positive rate"),
            ("fpr_segment", "FPR, shifted segment"),
            ("fpr_elsewhere", "FPR, elsewhere"),
        ):
            lines.append(
                f"| {label} | {_pct(eq['champion'][key], 3)} | {_pct(eq['challenger'][key], 3)} |"
            )
        budget = p3["equal_alert_rate"]
        for name in sorted(eq["champion"]["scenarios"]):
            c = eq["champion"]["scenarios"][name]
            n = eq["challenger"]["scenarios"].get(name, {})
            lines.append(
                f"| recall {name} ({c['frauds']}) | {_pct(c['recall'], 1)} | "
                f"{_pct(n.get('recall'), 1)} |"
            )
        lines += [
            "",
            f"## Period 3 at equal alert rate ({_pct(budget['alert_rate'], 3)}: the champion's "
            "alert rate at the point above)",
            "",
            "| measure | champion | challenger |",
            "|---|---|---|",
        ]
        for key, label in (("recall", "recall"), ("fpr", "false-positive rate")):
            lines.append(
                f"| {label} | {_pct(budget['champion'][key], 3)} | "
                f"{_pct(budget['challenger'][key], 3)} |"
            )
        for name in sorted(budget["champion"]["scenarios"]):
            c = budget["champion"]["scenarios"][name]
            n = budget["challenger"]["scenarios"].get(name, {})
            lines.append(
                f"| recall {name} ({c['frauds']}) | {_pct(c['recall'], 1)} | "
                f"{_pct(n.get('recall'), 1)} |"
            )
        same_fpr = p3.get("equal_fpr")
        if same_fpr is not None:
            lines += [
                "",
                f"## Period 3 at equal false-positive rate ({_pct(same_fpr['fpr'], 3)}: the "
                "champion's at the point above)",
                "",
                "| measure | champion | challenger |",
                "|---|---|---|",
            ]
            for key, label in (("recall", "recall"), ("alert_rate", "alert rate")):
                lines.append(
                    f"| {label} | {_pct(same_fpr['champion'][key], 3)} | "
                    f"{_pct(same_fpr['challenger'][key], 3)} |"
                )
            for name in sorted(same_fpr["champion"]["scenarios"]):
                c = same_fpr["champion"]["scenarios"][name]
                n = same_fpr["challenger"]["scenarios"].get(name, {})
                lines.append(
                    f"| recall {name} ({c['frauds']}) | {_pct(c['recall'], 1)} | "
                    f"{_pct(n.get('recall'), 1)} |"
                )
        lines += ["", "## Targets", "", "| target | goal | measured | met |", "|---|---|---|---|"]
        for t in report["targets"]:
            measured = t["measured"]
            shown = _pct(measured, 1) if t["name"].startswith("false-positive") else _pts(measured)
            lines.append(f"| {t['name']} | {t['goal']} | {shown} | {'yes' if t['met'] else 'no'} |")
    lines += ["", f"seconds: { {k: round(v, 1) for k, v in report['seconds'].items()} }", ""]
    return "\n".join(lines)
