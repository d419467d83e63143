"""Start-up cost of the `yusuan` command: `yusuan --help`, `yusuan ask` and `yusuan ask --json` against `python -c pass`.

    .venv/bin/python bench/bench_cli.py --data /tmp/qa/corpus [--repeat 5]

Prints, per command, the median wall time and the median CPU time (user + system of the child process, from
``resource.getrusage``) and their ratios to `python -c pass` (the interpreter's own start-up), then the `ask` cost
beyond the interpreter. On a busy machine wall time mostly measures the other processes; CPU time does not. The target
is ≤ 0.3 s beyond the interpreter. The runs interleave (one of each command per round), so load changes hit all alike.
The commands run with Python's bytecode cache on, as an installed yusuan has it (PYTHONDONTWRITEBYTECODE, set in
some development shells, would make every run compile yusuan's sources again: about 0.1 s); --no-bytecode keeps it off.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path


def timed_once(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, cpu) seconds of one run of `command`; cpu is the child's user + system time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a data directory with a store")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--question", default="2025年普陀区各部门三公经费最高的是哪个")
    parser.add_argument("--no-bytecode", action="store_true", help="keep PYTHONDONTWRITEBYTECODE as the shell has it")
    args = parser.parse_args()
    env = dict(os.environ)
    if not args.no_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    yusuan = str(Path(sys.executable).with_name("yusuan"))
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "yusuan --help": [yusuan, "--help"],
        "yusuan ask": [yusuan, "ask", args.question, "--data", args.data],
        "yusuan ask --json": [yusuan, "ask", args.question, "--data", args.data, "--json"],
    }
    for warm_up in ("yusuan --help", "yusuan ask --json"):  # the store's QA cache and the bytecode of every module used
        subprocess.run(commands[warm_up], check=True, stdout=subprocess.DEVNULL, env=env)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(args.repeat):
        for name, command in commands.items():
            samples[name].append(timed_once(command, env))
    median = {name: (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
              for name, runs in samples.items()}
    base_wall, base_cpu = median["python -c pass"]
    print(f"{'':18s} {'wall':>8s} {'':>6s} {'cpu':>8s}")
    for name, (wall, cpu) in median.items():
        print(f"{name:18s} {wall * 1000:6.0f}ms ×{wall / base_wall:5.1f} {cpu * 1000:6.0f}ms ×{cpu / base_cpu:5.1f}")
    wall, cpu = median["yusuan ask"]
    print(f"yusuan ask beyond the interpreter: wall {(wall - base_wall) * 1000:.0f} ms, cpu {(cpu - base_cpu) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
