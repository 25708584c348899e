"""``python -m semrec.cli``: the same as the ``semrec`` console script."""

from semrec.cli import main

main()
