"""Logging: rich on a terminal, plain lines otherwise; access lines with control characters escaped."""

from .access import format_target
from .setup import TRACE, configure_logging

__all__ = ["TRACE", "configure_logging", "format_target"]
