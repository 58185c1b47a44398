"""``python -m pipeline.cli`` runs the ``fraudstream`` command line."""

from pipeline.cli.app import main

main()
