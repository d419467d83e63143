"""The one command-line entry point: `yusuan`.

Stages that own commands (index, eval, api) register them through a `register(app)` function in their own
`cli` module, so this file stays a thin table of contents.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(help="yusuan (预算): Chinese budget disclosures → checked, queryable records.", no_args_is_help=True)

_STAGE_COMMANDS = ("yusuan.extract.cli", "yusuan.index.cli", "yusuan.qa.cli", "yusuan.api.cli", "yusuan.eval.cli")

for _module_name in _STAGE_COMMANDS:
    try:
        _module = importlib.import_module(_module_name)
    except ModuleNotFoundError as exc:
        if exc.name != _module_name:
            raise
        continue
    _module.register(app)


if __name__ == "__main__":
    app()
