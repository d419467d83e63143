"""`yusuan serve`."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    data: Path | None = typer.Option(None, "--data", help="data directory (default ./yusuan-data or $YUSUAN_DATA)"),
) -> None:
    """Run the HTTP API and the web page (OpenAPI at /docs)."""
    import uvicorn

    from .app import create_app

    uvicorn.run(create_app(data), host=host, port=port, log_level="info")
