"""The table ``asgihost run`` prints once the server is ready: where it listens, which app
answers which host and path, and how many workers serve."""

from __future__ import annotations

import logging
import sys

from ..plan import Plan, route_rows
from ..version import __version__


def print_summary(plan: Plan, addresses: list[str], workers: int, pid: int) -> None:
    """Print the table to stderr through rich, unless the server logs below info or in JSON."""
    if (
        not logging.getLogger("asgihost.error").isEnabledFor(logging.INFO)
        or plan.config.logging.format == "json"
    ):
        return  # below info, or JSON lines for machines: the "running on" lines say it
    from rich import box
    from rich.console import Console
    from rich.table import Table

    logging_cfg = plan.config.logging
    use_colors = logging_cfg.use_colors
    console = Console(
        stderr=True,
        highlight=False,
        force_terminal=True if use_colors else None,
        no_color=use_colors is False,
        width=None if sys.stderr.isatty() else 160,  # a log file: no wrapping
    )
    where = "this process" if workers == 1 else f"{workers} workers"
    table = Table(
        title=f"asgihost {__version__} is serving ({where}, pid {pid})",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for column in ("listener", "address", "protocols", "host", "mount", "app"):
        table.add_column(column, overflow="fold")
    address_of = dict(zip((listener.name for listener in plan.listeners), addresses, strict=True))
    protocols_of = {listener.name: ", ".join(listener.protocols) for listener in plan.listeners}
    for row in route_rows(plan):
        name = row["listener"]
        table.add_row(
            name,
            address_of[name],
            protocols_of[name],
            ", ".join(row["hosts"]),
            row["mount"],
            row["app"],
        )
    console.print(table)
