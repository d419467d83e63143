"""Start-up cost of the `yusuan` command: `yusuan --help` and `yusuan ask` against `python -c pass`, in one run.

    .venv/bin/python bench/bench_cli.py --data /tmp/qa/corpus [--repeat 5]

Prints the median wall time of each and its ratio to `python -c pass` (the interpreter's own start-up), and the
`ask` time minus the interpreter start-up (the target is ≤ 0.3 s on an idle machine).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path


def timed(command: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a data directory with a store")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--question", default="哪个部门三公经费最高")
    args = parser.parse_args()
    yusuan = str(Path(sys.executable).with_name("yusuan"))
    baseline = timed([sys.executable, "-c", "pass"], args.repeat)
    runs = {
        "python -c pass": baseline,
        "yusuan --help": timed([yusuan, "--help"], args.repeat),
        "yusuan ask": timed([yusuan, "ask", args.question, "--data", args.data], args.repeat),
    }
    for name, seconds in runs.items():
        print(f"{name:16s} {seconds * 1000:8.0f} ms  ×{seconds / baseline:5.1f}")
    print(f"yusuan ask start-up beyond the interpreter: {(runs['yusuan ask'] - baseline) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
