"""Run one benchmark: `python bench/run.py NAME [--json]`.

Each benchmark prints one JSON object per measured figure, with its goal
and a baseline measured in the same run where the issue names one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import benchmarks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name", choices=sorted(benchmarks.REGISTRY))
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args()
    failed = False
    for result in benchmarks.REGISTRY[args.name]():
        failed |= not result.get("ok", True)
        if args.json:
            print(json.dumps(result, ensure_ascii=False), flush=True)
        else:
            print(", ".join(f"{k}={v}" for k, v in result.items()), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
