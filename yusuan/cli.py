"""The one command-line entry point: `yusuan`.

Each stage owns its commands and adds them through a `register(app)` function in its own `cli` module, so this
file stays a thin table of contents.
"""

from __future__ import annotations

import typer

from yusuan.api import cli as api_cli
from yusuan.eval import cli as eval_cli
from yusuan.extract import cli as extract_cli
from yusuan.index import cli as index_cli
from yusuan.qa import cli as qa_cli

app = typer.Typer(help="yusuan (预算): Chinese budget disclosures → checked, queryable records.", no_args_is_help=True)

for _stage in (extract_cli, index_cli, qa_cli, api_cli, eval_cli):
    _stage.register(app)


if __name__ == "__main__":
    app()
