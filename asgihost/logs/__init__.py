"""Logging: rich on a terminal, plain lines otherwise; access lines with control characters escaped."""

from .access import format_target
from .setup import TRACE, LogConfigError, configure_logging, read_log_config, reopen_log_files

__all__ = [
    "TRACE",
    "LogConfigError",
    "configure_logging",
    "format_target",
    "read_log_config",
    "reopen_log_files",
]
