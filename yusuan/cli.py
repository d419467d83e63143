"""The one command-line entry point: `yusuan`.

Each stage owns its commands and adds them through a `register(app)` function in its own `cli` module, so this
file stays a thin table of contents. `app` is built on first access: for `yusuan ask` / `yusuan sql` only the QA stage
is registered, so answering a question does not import the extractors, pandas or torch (bench/bench_cli.py).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

STAGES = ("yusuan.extract.cli", "yusuan.index.cli", "yusuan.qa.cli", "yusuan.api.cli", "yusuan.audit.cli", "yusuan.eval.cli")
# commands whose stage is enough to run them (the first argument decides)
FAST_COMMANDS = {"ask": ("yusuan.qa.cli",), "sql": ("yusuan.qa.cli",)}


EXIT_STORE_BUSY = 75  # EX_TEMPFAIL: try again once the writer is done


def _report_busy_store(exc: RuntimeError) -> None:
    """A store another process kept locked past the wait is one line on stderr and exit status 75, not a traceback."""
    from yusuan.store.lock import StoreBusy

    if not isinstance(exc, StoreBusy):
        raise exc
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(EXIT_STORE_BUSY)


def build_app(stages: tuple[str, ...] = STAGES) -> typer.Typer:
    import typer  # not at module level: `yusuan ask` answers without it

    class _App(typer.Typer):
        def __call__(self, *args: object, **kwargs: object) -> object:
            try:
                return super().__call__(*args, **kwargs)
            except RuntimeError as exc:
                _report_busy_store(exc)

    app = _App(help="yusuan (预算): Chinese budget disclosures → checked, queryable records.", no_args_is_help=True)
    for stage in stages:
        import_module(stage).register(app)
    return app


def _ask_without_typer(argv: list[str]) -> int | None:
    """`yusuan ask QUESTION [--data DIR] [--json] [--sql]` parsed by argparse: typer builds a pydantic validator per
    parameter on every run, which costs more than answering. None when the arguments need typer (help, errors)."""
    import argparse

    if any(arg in ("--help", "-h") for arg in argv):
        return None
    parser = argparse.ArgumentParser(prog="yusuan ask", add_help=False, exit_on_error=False)
    parser.add_argument("question")
    parser.add_argument("--data")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--sql", action="store_true")
    try:
        args, unknown = parser.parse_known_args(argv)
    except (argparse.ArgumentError, SystemExit):
        return None
    if unknown:
        return None
    from pathlib import Path

    from yusuan.qa.shell import run_ask

    return run_ask(args.question, Path(args.data) if args.data else None, args.json, args.sql)


def _ask_app() -> None:
    """`app` for a `yusuan ask` process: argparse when it can, the (QA-only) typer app otherwise."""
    try:
        status = _ask_without_typer(sys.argv[2:])
    except RuntimeError as exc:
        _report_busy_store(exc)
    if status is not None:
        sys.exit(status)
    build_app(FAST_COMMANDS["ask"])()


def __getattr__(name: str) -> typer.Typer | Callable[[], None]:
    """`app` (the console script's entry, `yusuan.cli:app`) is built for the command being run."""
    if name != "app":
        raise AttributeError(name)
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "ask":
        return _ask_app
    app = build_app(FAST_COMMANDS.get(command, STAGES))
    globals()["app"] = app
    return app


if __name__ == "__main__":
    build_app()()
