"""Run extractors over the fixtures and score them; record what was run on what."""

from __future__ import annotations

import platform
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .extractors import ExtractorError, fingerprint_of, load_extractor, python_version, registered_extractors, unavailable_reason
from .fixtures import Fixture, file_sha256, load_fixtures, validate_fixture
from .match import DEFAULT_TOLERANCE, split_output
from .score import DocScore, breakdowns, failed_document, score_document


@dataclass
class RunResult:
    extractor: str
    version: str
    fingerprint: str
    tolerance: float
    docs: list[DocScore] = field(default_factory=list)
    started: str = ""
    unavailable: str | None = None  # why the extractor did not run at all
    warnings: list[str] = field(default_factory=list)
    _metrics: dict[str, Any] | None = field(default=None, repr=False)

    def metrics(self) -> dict[str, Any]:
        """Overall / by layout / by document (computed once, after the run)."""
        if self._metrics is None:
            self._metrics = breakdowns(self.docs)
        return self._metrics

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "extractor": self.extractor,
            "version": self.version,
            "fingerprint": self.fingerprint,
            "tolerance": self.tolerance,
            "started": self.started,
            "unavailable": self.unavailable,
            "warnings": self.warnings,
        }
        if self.unavailable is None:
            result.update(self.metrics())
        return result


def usable_fixtures(fixtures: list[Fixture]) -> tuple[list[Fixture], list[str]]:
    """Fixtures without format errors; the others are named in the returned warnings."""
    good, warnings = [], []
    for fixture in fixtures:
        errors = [p for p in validate_fixture(fixture, check_source=False) if p.severity == "error"]
        if errors:
            warnings.append(f"fixture {fixture.name} has {len(errors)} format error(s) and is not scored: {errors[0]}")
        else:
            good.append(fixture)
    return good, warnings


def run_extractor(
    extractor: Any,
    fixtures: list[Fixture],
    tolerance: float = DEFAULT_TOLERANCE,
    progress: Callable[[str, Fixture, DocScore], None] | None = None,
) -> RunResult:
    name = str(getattr(extractor, "name", type(extractor).__name__))
    result = RunResult(
        extractor=name,
        version=str(getattr(extractor, "version", "")),
        fingerprint=fingerprint_of(extractor),
        tolerance=tolerance,
        started=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    result.unavailable = unavailable_reason(extractor)
    if result.unavailable:
        return result
    for fixture in fixtures:
        doc = DocScore(fixture=fixture.name, source=fixture.source, layout=fixture.layout)
        doc.sha256_expected = fixture.sha256
        if not fixture.available:
            doc.status = "skipped"
            doc.error = f"source not found: {fixture.source_path}"
            doc.warnings.append(doc.error)
            result.docs.append(doc)
            if progress:
                progress(name, fixture, doc)
            continue
        assert fixture.source_path is not None
        doc.sha256 = file_sha256(fixture.source_path)
        if fixture.sha256 and doc.sha256 != fixture.sha256:
            message = f"{fixture.name}: sha256 of {fixture.source} differs from the fixture's (labels may be stale)"
            doc.warnings.append(message)
            result.warnings.append(message)
        started = time.perf_counter()
        try:
            output = extractor.extract(Path(fixture.source_path))
            document, records = split_output(output)
        except Exception as exc:  # an extractor failing on a document is a result, not a crash of the harness
            doc.seconds = time.perf_counter() - started
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            failed_document(fixture, detail, doc)
        else:
            doc.seconds = time.perf_counter() - started
            score_document(fixture, records, document, tolerance, doc)
        result.docs.append(doc)
        if progress:
            progress(name, fixture, doc)
    return result


def resolve_names(spec: str | list[str] | None) -> list[str]:
    """`all` → every registered extractor; `a,b` → both."""
    if not spec:
        return ["yusuan"]
    names = spec if isinstance(spec, list) else [part.strip() for part in spec.split(",") if part.strip()]
    if "all" in names:
        return sorted(registered_extractors(), key=lambda n: (n != "yusuan", n))
    return names


def run(
    extractors: str | list[str] | None = None,
    fixtures_dir: str | Path | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    only: list[str] | None = None,
    progress: Callable[[str, Fixture, DocScore], None] | None = None,
) -> tuple[list[RunResult], list[str]]:
    """Run the named extractors over the fixtures. Returns the results and harness-level warnings."""
    fixtures = load_fixtures(fixtures_dir)
    if only:
        fixtures = [f for f in fixtures if any(f.name.startswith(token) or f.source.startswith(token) for token in only)]
    fixtures, warnings = usable_fixtures(fixtures)
    results = []
    for name in resolve_names(extractors):
        try:
            extractor = load_extractor(name)
        except ExtractorError as exc:
            results.append(RunResult(extractor=name, version="", fingerprint="", tolerance=tolerance,
                                     unavailable=str(exc)))
            continue
        results.append(run_extractor(extractor, fixtures, tolerance, progress))
    return results, warnings


def environment() -> dict[str, str]:
    return {"python": python_version(), "platform": platform.platform(), "machine": platform.machine()}
