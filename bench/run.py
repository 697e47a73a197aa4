"""Run one benchmark: `python bench/run.py NAME [--json] [--database sqlite|postgresql|both]`.

Each benchmark prints one JSON object per measured figure, with its goal
and a baseline measured in the same run where the issue names one. With
`--database both` each figure is measured on SQLite and then on PostgreSQL
(the server in DISPATCH_BENCH_PG_URL, or a throw-away cluster started for
the run), and each PostgreSQL figure carries SQLite's beside it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import benchmarks, pg

FIGURES = (
    "ms_whole_preview_queries",
    "ms_excluding_a_feeder",
    "ms",
    "ms_median",
    "ms_all_5000",
    "preview_ms_max",
    "seconds",
    "msg_per_s",
)
"""The figures a PostgreSQL result is compared by; the first it has is its own
(`ratio_to_sqlite`, which `ok` takes), the others are shown beside it."""
HIGHER_IS_BETTER = {"msg_per_s"}
GOAL_RATIO = 1.5
"""PostgreSQL within 1.5x of SQLite (issue 15)."""


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two results of one figure (the same benchmark and the same labels)."""
    labels = {k for k, v in a.items() if isinstance(v, str) and k != "database"}
    return all(a.get(k) == b.get(k) for k in labels | {"benchmark"})


def _beside(result: dict[str, Any], sqlite: list[dict[str, Any]]) -> dict[str, Any]:
    match = next((r for r in sqlite if _same(result, r)), None)
    if match is None:
        return result
    shared = [k for k in FIGURES if k in result and match.get(k)]
    if not shared:
        return result
    ratios = {
        figure: round(
            match[figure] / result[figure]
            if figure in HIGHER_IS_BETTER
            else result[figure] / match[figure],
            2,
        )
        for figure in shared
    }
    main = shared[0]
    result = result | {
        f"sqlite_{main}": match[main],
        "ratio_to_sqlite": ratios[main],
        "goal_ratio_to_sqlite": GOAL_RATIO,
        "ok": result.get("ok", True) and ratios[main] <= GOAL_RATIO,
    }
    for figure in shared[1:]:
        result |= {f"sqlite_{figure}": match[figure], f"ratio_to_sqlite_{figure}": ratios[figure]}
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name", choices=sorted(benchmarks.REGISTRY))
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql", "both"),
        default=None,
        help="the backend(s) to measure on (default: each benchmark's first)",
    )
    args = parser.parse_args()
    offered = benchmarks.BACKENDS.get(args.name, ("sqlite",))
    wanted = (
        offered[:1]
        if args.database is None
        else (("sqlite", "postgresql") if args.database == "both" else (args.database,))
    )
    missing = [b for b in wanted if b not in offered]
    if missing:
        parser.error(
            f"--database: {args.name} runs on {' and '.join(offered)} only, not {missing[0]}"
        )
    failed = False
    measured: list[dict[str, Any]] = []
    with pg.server() if "postgresql" in wanted else contextlib.nullcontext():
        for backend in wanted:
            for result in benchmarks.REGISTRY[args.name](backend):
                if backend == "postgresql":
                    result = _beside(result, measured)
                measured.append(result)
                failed |= not result.get("ok", True)
                if args.json:
                    print(json.dumps(result, ensure_ascii=False), flush=True)
                else:
                    print(", ".join(f"{k}={v}" for k, v in result.items()), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
