"""Run every scenario at every concurrency level, preparing inputs before each timed part."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence

from bench.load import Limits
from bench.load import measure
from bench.report import Report
from bench.scenarios import Inputs
from bench.scenarios import PrepareError
from bench.scenarios import Target
from bench.scenarios import scenarios


def run(
    target: Target,
    limits: Limits,
    concurrency: Sequence[int] = (1, 4),
    *,
    started_stack: bool = False,
    only: Sequence[str] | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> Report:
    """Measure the scenarios (all, or those named in `only`) against a running stack."""
    report = Report(target, limits, list(concurrency), started_stack)
    inputs = Inputs(target)
    for scenario in scenarios(inputs):
        if only is not None and scenario.name not in only:
            continue
        for level in concurrency:
            progress(f"{scenario.name}: {scenario.what}, concurrency {level}")
            own = limits.for_scenario(scenario.one_shot)
            try:
                call = scenario.prepare(own.warmup + own.requests)
            except PrepareError as error:
                progress(f"  skipped: {error}")
                report.skipped.append((scenario.name, str(error)))
                break  # what failed to prepare at one level fails at the next too
            result = measure(scenario.name, call, level, own)
            progress(
                f"  {result.requests} requests, {result.errors} errors, {result.rps:.1f} req/s"
            )
            report.results.append(result)
    return report
