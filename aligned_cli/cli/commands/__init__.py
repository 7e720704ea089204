"""One module per `aligned` command."""
