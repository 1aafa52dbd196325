"""The report: JSON for files, a plain table for the terminal, a Markdown table for the README."""

from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from bench.scenarios import Measured

COLUMNS = ("scenario", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "cores c/s")


@dataclass(frozen=True)
class Target:
    """A goal of the issue, and whether this run met it."""

    what: str
    goal: str
    measured: float | None
    met: bool | None  # None: not measured in this run

    def as_dict(self) -> dict[str, Any]:
        return {"what": self.what, "goal": self.goal, "measured": self.measured, "met": self.met}


@dataclass
class Report:
    """Everything one run measured, and what it could not."""

    machine: dict[str, Any]
    settings: dict[str, Any]
    results: list[Measured] = field(default_factory=list)
    ratios: dict[str, float] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def result(self, name: str) -> Measured | None:
        return next((r for r in self.results if r.name == name), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "settings": self.settings,
            "results": [r.as_dict() for r in self.results],
            "ratios": self.ratios,
            "facts": self.facts,
            "targets": [t.as_dict() for t in self.targets],
            "skipped": [{"scenario": name, "reason": why} for name, why in self.skipped],
        }

    def rows(self) -> list[tuple[str, ...]]:
        return [
            (
                r["name"],
                str(r["requests"]),
                str(r["errors"]),
                f"{r['rps']:.0f}",
                f"{r['p50_ms']:.1f}",
                f"{r['p95_ms']:.1f}",
                f"{r['p99_ms']:.1f}",
                f"{r['client_cores']:.2f}/{r['server_cores']:.2f}",
            )
            for r in (m.as_dict() for m in self.results)
        ]

    def table(self) -> str:
        """Aligned plain-text rows, then ratios, facts, targets and skipped scenarios."""
        rows = [COLUMNS, *self.rows()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
        lines = [
            "  ".join(
                cell.ljust(width) if i == 0 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            )
            for row in rows
        ]
        lines.insert(1, "  ".join("-" * width for width in widths))
        lines += [f"ratio {name}: {value}" for name, value in self.ratios.items()]
        lines += [f"{name}: {value}" for name, value in self.facts.items()]
        lines += [
            f"target {t.what} {t.goal}: measured {t.measured} -> "
            + {True: "met", False: "NOT met", None: "not measured"}[t.met]
            for t in self.targets
        ]
        lines += [f"skipped {name}: {why}" for name, why in self.skipped]
        lines += [
            f"first error of {r.name}: {r.run.first_error}"
            for r in self.results
            if r.run.first_error
        ]
        return "\n".join(lines)

    def markdown(self) -> str:
        """The results as a Markdown table, for bench/README.md and the project README."""
        head = "| " + " | ".join(COLUMNS) + " |"
        lines = [head, "|---|" + "---:|" * (len(COLUMNS) - 1)]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows()]
        return "\n".join(lines)

    def write(self, json_path: Path) -> None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(self.as_dict(), indent=2) + "\n")
