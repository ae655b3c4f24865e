"""``skillpath``: the console script (README.md, Commands). ``app`` holds the command
group, most commands and ``main`` (the one place exceptions become exit codes);
``session`` what every command runs inside; ``privacy`` the privacy commands."""

from skillpath.cli.app import cli, main, run

__all__ = ["cli", "main", "run"]
