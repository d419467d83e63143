"""LLM-assisted extractor plugin ("llm"): an OpenAI-compatible chat endpoint reads the document and returns records
in the public schema.

Configuration (environment): ``YUSUAN_LLM_BASE_URL`` (e.g. ``http://127.0.0.1:8000/v1``), ``YUSUAN_LLM_MODEL``,
``YUSUAN_LLM_API_KEY`` (optional for local servers), ``YUSUAN_LLM_TIMEOUT`` (seconds, default 120),
``YUSUAN_LLM_MAX_CHARS`` (document text per request, default 12000). Without a base URL and a model the extractor
is unavailable and ``extract`` raises "LLM extractor not configured".

The document is sent as numbered lines (``L12: …``; PDFs ``P3: …`` per page), with table grids from
``yusuan.ingest.ingest_path`` rendered as `` | ``-separated rows where ingest supports the file, else the raw text
(pdfplumber for PDFs). Every returned record is validated against the pydantic models of ``yusuan.model``; invalid
ones are dropped with a warning (kept in ``last_warnings``). Provenance is not trusted from the model: each record
is located in the source by its name/code text and its figures (in 万元, 元 or with thousands separators), giving
the line (text) or page (PDF).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from yusuan.model import RECORD_TYPES, DocumentMeta, Extraction, Provenance, Record

from .baselines import read_text
from .extractors import BaseExtractor, source_fingerprint
from .kinds import INTERNAL_FIELDS, MONEY_DICT_FIELDS, MONEY_FIELDS, NUMBER_FIELDS
from .normalize import to_number

log = logging.getLogger(__name__)

LLM_VERSION = "1.0"
NOT_CONFIGURED = (
    "LLM extractor not configured: set YUSUAN_LLM_BASE_URL (an OpenAI-compatible endpoint, e.g. "
    "http://127.0.0.1:8000/v1) and YUSUAN_LLM_MODEL (and YUSUAN_LLM_API_KEY if the endpoint needs one)"
)


class LLMError(RuntimeError):
    """The endpoint is not configured, unreachable, or answered something that is not records."""


@dataclass
class LLMConfig:
    base_url: str
    model: str
    api_key: str = ""
    timeout: float = 120.0
    max_chars: int = 12000
    retries: int = 2

    @classmethod
    def from_env(cls) -> LLMConfig:
        base_url = os.environ.get("YUSUAN_LLM_BASE_URL", "").strip()
        model = os.environ.get("YUSUAN_LLM_MODEL", "").strip()
        if not base_url or not model:
            raise LLMError(NOT_CONFIGURED)
        return cls(
            base_url=base_url.rstrip("/"),
            model=model,
            api_key=os.environ.get("YUSUAN_LLM_API_KEY", ""),
            timeout=float(os.environ.get("YUSUAN_LLM_TIMEOUT", "120")),
            max_chars=int(os.environ.get("YUSUAN_LLM_MAX_CHARS", "12000")),
        )

    @property
    def endpoint(self) -> str:
        return self.base_url + "/chat/completions"


# ------------------------------------------------------------------------------------------- the prompt


def schema_description() -> str:
    lines = []
    for kind, model in RECORD_TYPES.items():
        fields = [name for name in model.model_fields if name not in INTERNAL_FIELDS]
        lines.append(f"- {kind}: {', '.join(fields)}")
    return "\n".join(lines)


SYSTEM_PROMPT = """You extract records from a Chinese government budget disclosure (部门预算/决算).
Answer with one JSON object only: {{"document": {{"department", "region", "level", "year", "doc_kind",
"unit_original"}}, "records": [{{"kind": ..., fields...}}]}}.
Record kinds and their fields:
{schema}
Rules: every money figure in 万元 (convert 元 by dividing by 10000, 亿元 by multiplying by 10000); a blank cell is
null, never 0; keep names as printed; code is the subject code (201, 20101, 2010101) or null for a 合计 line;
level is 类/款/项/合计; table_kind is one of 收支总表, 收入总表, 支出总表, 财政拨款收支总表, 一般公共预算支出表,
基本支出表, 三公经费表, 政府性基金支出表, 国有资本经营支出表, 项目支出表, 绩效目标表, 整体绩效目标表, 重点项目表,
narrative; measure is 预算数 or 决算数. Add "line" (the L number) or "page" (the P number) where the record is
printed. Do not invent records that are not in the text."""


# ------------------------------------------------------------------------------------------- document text


@dataclass
class SourceLine:
    text: str
    page: int | None
    line: int | None


def source_lines(path: Path) -> list[SourceLine]:
    """The document's own lines (for locating values): text lines, or pdfplumber text lines per page."""
    if path.suffix.lower() == ".pdf":
        import pdfplumber

        out = []
        with pdfplumber.open(str(path)) as pdf:
            for number, page in enumerate(pdf.pages, start=1):
                for text in (page.extract_text() or "").split("\n"):
                    if text.strip():
                        out.append(SourceLine(text, number, None))
        return out
    text = read_text(path).replace("\r\n", "\n").replace("\r", "\n")
    return [SourceLine(line, None, number) for number, line in enumerate(text.split("\n"), start=1)]


def document_text(path: Path, lines: list[SourceLine]) -> list[str]:
    """Numbered lines for the prompt: ingest's blocks and grids where it supports the file, else raw lines."""
    try:
        from yusuan.ingest import ingest_path

        document = ingest_path(path)
    except Exception as exc:  # ingest may not support the file type yet: fall back to raw text
        log.debug("llm: ingest failed for %s (%s); sending raw text", path, exc)
        document = None
    out: list[str] = []
    if document is not None:
        for block in document.blocks:
            if block.kind == "table" and block.grid is not None:
                grid = block.grid
                if grid.title:
                    out.append(f"TABLE {grid.title}")
                for row in grid.rows:
                    first = next((c for c in row if c.line is not None or c.page is not None), None)
                    tag = _tag(first.page if first else None, first.line if first else None)
                    out.append(f"{tag}: " + " | ".join(cell.text for cell in row))
            else:
                for line in block.lines:
                    out.append(f"{_tag(line.page, line.line)}: {line.text}")
        if out:
            return out
    return [f"{_tag(line.page, line.line)}: {line.text.strip()}" for line in lines if line.text.strip()]


def _tag(page: int | None, line: int | None) -> str:
    if line is not None:
        return f"L{line}"
    if page is not None:
        return f"P{page}"
    return "L?"


def chunks(lines: list[str], max_chars: int) -> list[str]:
    out, current, size = [], [], 0
    for line in lines:
        if current and size + len(line) + 1 > max_chars:
            out.append("\n".join(current))
            current, size = [], 0
        current.append(line[:max_chars])
        size += len(line) + 1
    if current:
        out.append("\n".join(current))
    return out


# ------------------------------------------------------------------------------------------- locating values


def _number_forms(value: float) -> set[str]:
    forms = set()
    for scaled in (value, value * 10000):
        if abs(scaled) >= 1e12:
            continue
        forms.add(f"{scaled:.2f}")
        forms.add(f"{scaled:,.2f}")
        if abs(scaled - round(scaled)) < 1e-6:
            forms.add(f"{round(scaled)}")
            forms.add(f"{round(scaled):,}")
        else:
            forms.add(f"{scaled:g}")
    return {form for form in forms if len(form.replace(",", "").replace(".", "").lstrip("-0")) >= 1}


def _anchors(record: dict[str, Any]) -> list[str]:
    anchors = []
    for name in ("code", "name", "subject", "level3", "unit_name", "project"):
        value = record.get(name)
        if isinstance(value, str) and value.strip():
            anchors.append(re.sub(r"\s+", "", value))
    return anchors


def _figures(record: dict[str, Any]) -> list[float]:
    kind = record.get("kind", "")
    figures = []
    for name in MONEY_FIELDS.get(kind, ()) | NUMBER_FIELDS.get(kind, frozenset()):
        number = to_number(record.get(name))
        if number is not None and number != 0:
            figures.append(number)
    for name in MONEY_DICT_FIELDS.get(kind, ()):
        for value in (record.get(name) or {}).values():
            number = to_number(value)
            if number is not None and number != 0:
                figures.append(number)
    return figures


def locate(record: dict[str, Any], lines: list[SourceLine], hint: int | None = None) -> SourceLine | None:
    """The source line that best shows this record: its name/code text and as many of its figures as possible."""
    anchors = _anchors(record)
    forms = [_number_forms(value) for value in _figures(record)]
    best: tuple[float, int] | None = None
    for index, line in enumerate(lines):
        compact = re.sub(r"\s+", "", line.text)
        if not compact:
            continue
        plain = line.text.replace("\t", " ")
        score = 0.0
        for anchor in anchors:
            if anchor and anchor in compact:
                score += 2.0 + min(len(anchor), 20) / 20
        for options in forms:
            if any(re.search(rf"(?<![\d.,]){re.escape(form)}(?![\d])", plain) for form in options):
                score += 1.0
        if score <= 0:
            continue
        if hint is not None and (line.line == hint or (line.line is None and line.page == hint)):
            score += 0.5
        if best is None or score > best[0]:
            best = (score, index)
    return lines[best[1]] if best else None


# ------------------------------------------------------------------------------------------- the extractor


def parse_json_content(content: str) -> dict[str, Any]:
    """The JSON object of a chat answer (tolerates ```json fences and text around the object)."""
    text = content.strip()
    fence = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    if fence:
        text = fence.group(1).strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        start, end = text.find("{"), text.rfind("}")
        if start < 0 or end <= start:
            raise LLMError(f"the model's answer is not JSON: {content[:200]!r}") from None
        try:
            data = json.loads(text[start : end + 1])
        except json.JSONDecodeError as exc:
            raise LLMError(f"the model's answer is not JSON: {exc}") from exc
    if isinstance(data, list):
        data = {"records": data}
    if not isinstance(data, dict):
        raise LLMError("the model's answer is not a JSON object")
    return data


def _clean_record(kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    model = RECORD_TYPES[kind]
    data = {k: v for k, v in raw.items() if k in model.model_fields and k not in INTERNAL_FIELDS}
    for name, value in list(data.items()):  # printed numbers ("1,234.50") → floats
        annotation = str(model.model_fields[name].annotation)
        if "float" in annotation and isinstance(value, str):
            number = to_number(value)
            data[name] = number if number is not None else value
        if "dict" in annotation and isinstance(value, dict):
            data[name] = {k: (to_number(v) if isinstance(v, str) else v) for k, v in value.items()}
    if "code" in data and isinstance(data["code"], int):
        data["code"] = str(data["code"])
    return data


class LLMExtractor(BaseExtractor):
    name = "llm"
    description = "OpenAI-compatible chat model asked for records in the public schema"

    def __init__(self, config: LLMConfig | None = None) -> None:
        self._config = config
        self.last_warnings: list[str] = []

    @property
    def config(self) -> LLMConfig:
        if self._config is None:
            self._config = LLMConfig.from_env()
        return self._config

    @property
    def version(self) -> str:  # type: ignore[override]
        try:
            return f"{LLM_VERSION}+{self.config.model}"
        except LLMError:
            return LLM_VERSION

    def available(self) -> str | None:
        try:
            _ = self.config
        except LLMError as exc:
            return str(exc)
        return None

    def fingerprint(self) -> str:
        base = source_fingerprint((__name__,))
        try:
            model = f"{self.config.model}@{self.config.base_url}"
        except LLMError:
            model = "unconfigured"
        return hashlib.sha256(f"{base}:{model}".encode()).hexdigest()[:16]

    # -- transport

    def chat(self, messages: list[dict[str, str]]) -> str:
        import httpx

        config = self.config
        headers = {"Content-Type": "application/json"}
        if config.api_key:
            headers["Authorization"] = f"Bearer {config.api_key}"
        body = {
            "model": config.model,
            "messages": messages,
            "temperature": 0,
            "response_format": {"type": "json_object"},
        }
        last_error: Exception | None = None
        for attempt in range(config.retries + 1):
            try:
                response = httpx.post(config.endpoint, json=body, headers=headers, timeout=config.timeout)
                if response.status_code >= 500 and attempt < config.retries:
                    last_error = LLMError(f"{config.endpoint} answered HTTP {response.status_code}")
                    time.sleep(0.2 * (attempt + 1))
                    continue
                if response.status_code >= 400:
                    raise LLMError(f"{config.endpoint} answered HTTP {response.status_code}: {response.text[:300]}")
                payload = response.json()
                return payload["choices"][0]["message"]["content"] or ""
            except (httpx.TransportError, httpx.TimeoutException) as exc:
                last_error = exc
                if attempt < config.retries:
                    time.sleep(0.2 * (attempt + 1))
                    continue
            except (KeyError, IndexError, TypeError, ValueError) as exc:
                raise LLMError(f"{config.endpoint} did not answer like an OpenAI chat endpoint: {exc}") from exc
        raise LLMError(f"cannot reach {config.endpoint}: {last_error}")

    # -- extraction

    def extract(self, path: Path) -> Extraction:
        path = Path(path)
        config = self.config  # raises "LLM extractor not configured"
        self.last_warnings = []
        lines = source_lines(path)
        prompt_lines = document_text(path, lines)
        system = SYSTEM_PROMPT.format(schema=schema_description())
        document: dict[str, Any] = {}
        records: list[Record] = []
        for index, chunk in enumerate(chunks(prompt_lines, config.max_chars), start=1):
            content = self.chat(
                [
                    {"role": "system", "content": system},
                    {"role": "user", "content": f"Document {path.name}, part {index}:\n{chunk}"},
                ]
            )
            answer = parse_json_content(content)
            if isinstance(answer.get("document"), dict):
                document.update({k: v for k, v in answer["document"].items() if v not in (None, "")})
            for raw in answer.get("records") or []:
                record = self._validate(raw, path, lines)
                if record is not None:
                    records.append(record)
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        meta = DocumentMeta(
            doc_id=sha[:16],
            source=str(path),
            sha256=sha,
            layout="pdf" if path.suffix.lower() == ".pdf" else "text",
            extractor_version=self.version,
            warnings=list(self.last_warnings),
            **self._document_fields(document),
        )
        for number, record in enumerate(records, start=1):
            record.doc_id = meta.doc_id
            record.record_id = f"{meta.doc_id}:{record.kind}:{number}"
        return Extraction(document=meta, records=records)

    def _warn(self, message: str) -> None:
        self.last_warnings.append(message)
        warnings.warn(message, stacklevel=3)

    @staticmethod
    def _document_fields(document: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("department", "region", "level", "doc_kind", "unit_original"):
            if isinstance(document.get(name), str):
                out[name] = document[name]
        year = document.get("year")
        if isinstance(year, (int, float, str)) and str(year).strip().isdigit():
            out["year"] = int(str(year).strip())
        return out

    def _validate(self, raw: Any, path: Path, lines: list[SourceLine]) -> Record | None:
        if not isinstance(raw, dict):
            self._warn(f"llm: dropped a record that is not an object: {str(raw)[:80]}")
            return None
        kind = raw.get("kind")
        if kind not in RECORD_TYPES:
            self._warn(f"llm: dropped a record of unknown kind {kind!r}")
            return None
        data = _clean_record(kind, raw)
        hint = raw.get("line") if isinstance(raw.get("line"), int) else raw.get("page")
        found = locate({"kind": kind, **data}, lines, hint if isinstance(hint, int) else None)
        provenance = Provenance(
            source=str(path),
            page=found.page if found else None,
            line=found.line if found else None,
            raw=found.text.strip()[:500] if found else "",
        )
        try:
            return RECORD_TYPES[kind].model_validate({**data, "provenance": provenance})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first.get("loc", ()))
            self._warn(f"llm: dropped an invalid {kind} record ({where}: {first.get('msg')})")
            return None
