"""Table recognizers, one module per table family; importing this package registers the built-ins."""

from . import coded_lines, performance, projects, sangong, summary
from .base import BuildContext, Recognizer, classify, recognizers, register, title_kind

__all__ = [
    "BuildContext", "Recognizer", "classify", "coded_lines", "performance", "projects", "recognizers", "register",
    "sangong", "summary", "title_kind",
]
