"""The chart beside the JSON: throughput and latency per scenario, as a hand-written SVG."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

BAR = 18  # px per scenario row
LABEL = 230  # px for the scenario names
PLOT = 300  # px per panel
GAP = 40
COLORS = {"rps": "#3b6ea8", "p50_ms": "#7fb27f", "p99_ms": "#c8553d"}


def svg(report: dict[str, Any]) -> str:
    """Two panels side by side: req/s, and p50/p99 in ms (same rows, same order)."""
    results = report["results"]
    height = 60 + BAR * len(results) + 40
    width = LABEL + PLOT + GAP + PLOT + 20
    machine = report["machine"]
    title = (
        f"make bench: {machine.get('cpus')} cores ({machine.get('cpu_model')}), Python "
        f"{machine.get('python')}, gunicorn {report['settings'].get('workers')} sync workers, "
        f"{report['settings'].get('clients')} clients (wrk)"
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="10" y="18" font-size="12" font-weight="bold">{escape(title)}</text>',
    ]
    parts += _panel(results, ["rps"], LABEL, "requests per second")
    parts += _panel(results, ["p50_ms", "p99_ms"], LABEL + PLOT + GAP, "latency ms (p50, p99)")
    for i, result in enumerate(results):
        y = 60 + i * BAR + BAR * 0.7
        parts.append(
            f'<text x="{LABEL - 6}" y="{y:.1f}" text-anchor="end">{escape(result["name"])}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _panel(results: list[dict[str, Any]], keys: list[str], left: int, caption: str) -> list[str]:
    top = 60
    peak = max([float(r[k]) for r in results for k in keys] + [1.0])
    out = [f'<text x="{left}" y="{top - 14}" font-weight="bold">{escape(caption)}</text>']
    out.append(
        f'<line x1="{left}" y1="{top - 4}" x2="{left}" y2="{top + BAR * len(results)}" '
        'stroke="#888"/>'
    )
    share = (BAR - 4) / len(keys)
    for i, result in enumerate(results):
        for j, key in enumerate(keys):
            value = float(result[key])
            length = PLOT * 0.8 * value / peak
            y = top + i * BAR + 2 + j * share
            out.append(
                f'<rect x="{left}" y="{y:.1f}" width="{length:.1f}" height="{share - 1:.1f}" '
                f'fill="{COLORS[key]}"/>'
            )
            out.append(
                f'<text x="{left + length + 3:.1f}" y="{y + share - 2:.1f}" font-size="9">'
                f"{value:.0f}</text>"
                if key == "rps"
                else f'<text x="{left + length + 3:.1f}" y="{y + share - 2:.1f}" '
                f'font-size="9">{value:.1f}</text>'
            )
    return out


def write(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(svg(report))
