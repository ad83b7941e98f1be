"""``python -m pds`` is the same as the ``pds`` command."""

from pds.cli import main

main(prog_name="pds")
