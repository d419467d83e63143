"""The extractor interface and its discovery.

An extractor is any object with ``name``, ``version`` and ``extract(path) -> list[dict] | Extraction`` producing
records in the public schema (docs/schema.md). Third-party extractors register a class (or factory, or instance)
under the ``yusuan.extractors`` entry-point group::

    [project.entry-points."yusuan.extractors"]
    mine = "my_package.module:MyExtractor"

The built-ins are also registered here by name, so they are found even where the package metadata is stale.
An extractor may define ``available() -> str | None`` (a reason it cannot run here, e.g. an unset endpoint or a
missing optional dependency) and ``fingerprint() -> str``; without one the fingerprint is the hash of the source
files of the module that defines its class.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import inspect
import sys
from abc import ABC, abstractmethod
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from yusuan.model import Extraction

ENTRY_POINT_GROUP = "yusuan.extractors"

BUILTIN_EXTRACTORS: dict[str, str] = {
    "yusuan": "yusuan.eval.extractors:YusuanExtractor",
    "pdfplumber-keywords": "yusuan.eval.baselines:PdfplumberKeywordsExtractor",
    "camelot-keywords": "yusuan.eval.baselines:CamelotKeywordsExtractor",
    "regex-text": "yusuan.eval.baselines:RegexTextExtractor",
    "llm": "yusuan.eval.llm:LLMExtractor",
}


@runtime_checkable
class Extractor(Protocol):
    name: str
    version: str

    def extract(self, path: Path) -> list[dict[str, Any]] | Extraction | dict[str, Any]: ...


class ExtractorError(Exception):
    """An extractor that cannot be found, loaded or run here."""


class BaseExtractor(ABC):
    """Convenience base: a fingerprint over the defining module plus ``source_modules``."""

    name: str = ""
    version: str = "0"
    description: str = ""
    # Extra modules or packages whose source makes up this extractor (hashed into the fingerprint).
    source_modules: tuple[str, ...] = ()

    @abstractmethod
    def extract(self, path: Path) -> list[dict[str, Any]] | Extraction | dict[str, Any]: ...

    def available(self) -> str | None:
        return None

    def fingerprint(self) -> str:
        """Hash of the source of the defining module (+ ``source_modules``), the class name and the version."""
        modules = (type(self).__module__, *self.source_modules)
        identity = f"{source_fingerprint(modules)}:{type(self).__qualname__}:{self.version}"
        return hashlib.sha256(identity.encode()).hexdigest()[:16]


def _module_files(module_name: str) -> list[Path]:
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return []
    files: list[Path] = []
    paths = getattr(module, "__path__", None)
    if paths:  # a package: all its python files
        for base in paths:
            files += sorted(Path(base).rglob("*.py"))
    else:
        source = getattr(module, "__file__", None)
        if source:
            files.append(Path(source))
    return files


def source_fingerprint(module_names: tuple[str, ...] | list[str]) -> str:
    """sha256 (first 16 hex) over the source files of the given modules/packages, in a stable order."""
    digest = hashlib.sha256()
    seen: set[Path] = set()
    for name in module_names:
        for path in _module_files(name):
            path = path.resolve()
            if path in seen or not path.is_file():
                continue
            seen.add(path)
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def fingerprint_of(extractor: Any) -> str:
    method = getattr(extractor, "fingerprint", None)
    if callable(method):
        return str(method())
    module = type(extractor).__module__ if not inspect.isclass(extractor) else extractor.__module__
    return source_fingerprint((module,))


def unavailable_reason(extractor: Any) -> str | None:
    method = getattr(extractor, "available", None)
    if callable(method):
        return method()
    return None


# ------------------------------------------------------------------------------------------- discovery


def registered_extractors() -> dict[str, str]:
    """name → "module:attr" for the built-ins and every `yusuan.extractors` entry point (entry points win)."""
    found = dict(BUILTIN_EXTRACTORS)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found[entry.name] = entry.value
    return found


def _resolve(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


def load_extractor(name: str) -> Any:
    """Instantiate the extractor registered as `name` (a class, a factory or an instance)."""
    registry = registered_extractors()
    if name not in registry:
        known = ", ".join(sorted(registry))
        raise ExtractorError(f"unknown extractor '{name}' (registered: {known})")
    try:
        obj = _resolve(registry[name])
    except (ImportError, AttributeError) as exc:
        raise ExtractorError(f"extractor '{name}' cannot be loaded from {registry[name]}: {exc}") from exc
    if inspect.isclass(obj):
        extractor = obj()
    elif hasattr(obj, "extract"):
        extractor = obj
    elif callable(obj):
        extractor = obj()
    else:
        extractor = obj
    if not hasattr(extractor, "extract"):
        raise ExtractorError(f"extractor '{name}' ({registry[name]}) has no extract(path) method")
    if not getattr(extractor, "name", None):
        with contextlib.suppress(AttributeError):
            extractor.name = name
    return extractor


# ------------------------------------------------------------------------------------------- yusuan itself


class YusuanExtractor(BaseExtractor):
    """yusuan's own pipeline: ``yusuan.extract.extract_path`` (imported when first used)."""

    name = "yusuan"
    description = "yusuan ingest + extract (the system under test)"
    source_modules = ("yusuan.extract", "yusuan.ingest", "yusuan.model")

    @property
    def version(self) -> str:  # type: ignore[override]
        import yusuan

        return yusuan.__version__

    def available(self) -> str | None:
        try:
            module = importlib.import_module("yusuan.extract")
        except ImportError as exc:
            return f"yusuan.extract cannot be imported: {exc}"
        if not hasattr(module, "extract_path"):
            return "yusuan.extract.extract_path is not defined yet"
        return None

    def extract(self, path: Path) -> Extraction:
        from yusuan.extract import extract_path

        return extract_path(path)


def python_version() -> str:
    return sys.version.split()[0]
