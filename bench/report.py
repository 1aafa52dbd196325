"""The report: a plain table for people, the same numbers as JSON for files."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from bench.load import Limits
from bench.load import Result
from bench.scenarios import Target

COLUMNS = ("scenario", "concurrency", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms")


@dataclass
class Report:
    """Everything one run measured, and what it could not."""

    target: Target
    limits: Limits
    concurrency: list[int]
    started_stack: bool
    results: list[Result] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": {
                "idp_url": self.target.idp_url,
                "sf_url": self.target.sf_url,
                "portal_url": self.target.portal_url,
                "started_stack": self.started_stack,
            },
            "settings": {
                "requests": self.limits.requests,
                "seconds": self.limits.seconds,
                "warmup": self.limits.warmup,
                "one_shot_requests": self.limits.one_shot,
                "concurrency": self.concurrency,
            },
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "results": [result.as_dict() for result in self.results],
            "skipped": [{"scenario": name, "reason": why} for name, why in self.skipped],
        }

    def table(self) -> str:
        """Aligned plain-text rows, then one line per skipped scenario and per first error."""
        rows = [COLUMNS] + [
            (
                r.scenario,
                str(r.concurrency),
                str(r.requests),
                str(r.errors),
                f"{r.rps:.1f}",
                f"{r.percentile(50):.1f}",
                f"{r.percentile(95):.1f}",
                f"{r.percentile(99):.1f}",
            )
            for r in self.results
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
        lines = [
            "  ".join(
                cell.ljust(width) if i == 0 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            )
            for row in rows
        ]
        lines.insert(1, "  ".join("-" * width for width in widths))
        lines += [f"skipped {name}: {why}" for name, why in self.skipped]
        lines += [
            f"first error of {r.scenario} (concurrency {r.concurrency}): {r.first_error}"
            for r in self.results
            if r.first_error
        ]
        return "\n".join(lines)

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=2) + "\n")
