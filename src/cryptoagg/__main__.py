"""`python -m cryptoagg` runs the CLI."""

from cryptoagg.cli import main

main()
