"""Benchmarks of the pure scheduling core.  ``python -m bench`` runs them all and prints the figures.

Benchmarks measure; they never fail a build.  Timing is done here with the standard library only
(``time.perf_counter_ns``, ``statistics``), with the garbage collector left on, as in production.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["Budget", "Timing", "measure"]


@dataclass(frozen=True, slots=True)
class Budget:
    """How long to measure one case: ``warmup`` untimed calls, then up to ``max_runs`` timed calls or about
    ``seconds`` (whichever comes first, never fewer than ``min_runs``), split into ``passes`` blocks."""

    seconds: float = 1.0
    max_runs: int = 200
    min_runs: int = 5
    warmup: int = 3
    passes: int = 5


@dataclass(frozen=True, slots=True)
class Timing:
    """Wall-clock samples of one callable, in nanoseconds."""

    name: str
    samples: tuple[int, ...]

    @property
    def runs(self) -> int:
        return len(self.samples)

    def percentile_ms(self, q: float) -> float:
        """The ``q``-th percentile (0..100), linearly interpolated between the nearest samples."""
        ordered = sorted(self.samples)
        if not ordered:
            raise ValueError(f"{self.name}: no samples")
        pos = (len(ordered) - 1) * q / 100
        lo = int(pos)
        hi = min(lo + 1, len(ordered) - 1)
        value = ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
        return value / 1e6

    @property
    def median_ms(self) -> float:
        return self.percentile_ms(50)

    @property
    def p95_ms(self) -> float:
        return self.percentile_ms(95)


def measure(cases: Mapping[str, Callable[[], object]], budget: Budget) -> dict[str, Timing]:
    """Time every case in blocks of back-to-back calls (warm caches, as ``timeit`` does), alternating the
    cases block by block over ``budget.passes`` passes, so that a baseline and the code compared with it
    share the machine's state (CPU frequency, other load) across the run instead of one getting a quiet minute.
    """
    for _ in range(budget.warmup):
        for fn in cases.values():
            fn()
    passes = max(1, budget.passes)
    runs_per_pass = max(1, -(-budget.max_runs // passes))
    min_per_pass = max(1, -(-budget.min_runs // passes))
    ns_per_pass = int(budget.seconds * 1e9 / passes)
    clock = time.perf_counter_ns
    samples: dict[str, list[int]] = {name: [] for name in cases}
    for _ in range(passes):
        for name, fn in cases.items():
            out = samples[name]
            deadline = clock() + ns_per_pass
            for done in range(1, runs_per_pass + 1):
                started = clock()
                fn()
                ended = clock()
                out.append(ended - started)
                if done >= min_per_pass and ended >= deadline:
                    break
    return {name: Timing(name, tuple(values)) for name, values in samples.items()}
