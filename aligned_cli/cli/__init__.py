"""The `aligned` command line: typer app, one module per command, rich output."""
