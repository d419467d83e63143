"""PDF pages read with PDFium (pypdfium2): characters, ruling lines and rectangles in pdfplumber's geometry.

The PDF reader (:mod:`yusuan.ingest.pdf`) needs, per page, the characters with their boxes, font name and size,
and the cell rectangles of ruled tables. pdfminer (under pdfplumber) interprets every content stream in Python;
PDFium does it in C. This module asks PDFium for the same things and lays them out exactly as pdfplumber would:

* characters: each glyph's box is pdfminer's (origin, advance, font descriptor descent, font size, page
  rotation), so that lines, tokens and cells come out the same, to float rounding;
* paths: PDFium's path segments are replayed through pdfminer's rules (one subpath per ``m``; ``ml`` is a line,
  a closed axis-parallel ``mllll`` a rectangle, the rest curves), clipped to the page box, filtered like the
  pdfplumber path does and fed to pdfplumber's own edge merging and cell finding.

A page PDFium cannot render the way pdfminer would raises :class:`PdfiumFallback` with the reason; the reader
then reads that page with pdfplumber (see docs/ingest.md for the list).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .pdf_lines import Char

Point = tuple[float, float]
Box = tuple[float, float, float, float]

_DECIMALS = 4  # PDFium computes in float32: rounded back to the content stream's decimals, borderline gap tests
# (a space where a gap is exactly a quarter em) come out as pdfminer's double arithmetic has them

_AXIS_EPSILON = 1e-6  # a matrix entry this small is zero (skewed or rotated text is read by pdfminer)

_UNMAPPED = ("\ufffd", "\ufffe", "\uffff", "\x00")


class PdfiumFallback(Exception):
    """This page must be read with pdfminer; the message says why."""


@dataclass(frozen=True)
class PageFrame:
    """pdfplumber's page space: pdfminer's rotation matrix for the page, then y flipped (origin top-left)."""

    matrix: tuple[float, float, float, float, float, float]
    x_offset: float
    top_offset: float
    width: float
    height: float

    @property
    def bbox(self) -> Box:
        return (self.x_offset, self.top_offset, self.x_offset + self.width, self.top_offset + self.height)

    def point(self, x: float, y: float) -> Point:
        a, b, c, d, e, f = self.matrix
        return (
            round(a * x + c * y + e + self.x_offset, _DECIMALS),
            round(self.height - (b * x + d * y + f) + self.top_offset, _DECIMALS),
        )


def page_frame(page: Any) -> PageFrame:
    """The frame pdfplumber builds from /MediaBox and /Rotate (float32 noise rounded off the box)."""
    left, bottom, right, top = (round(v, 4) for v in page.get_mediabox())
    x0, x1 = sorted((left, right))
    y0, y1 = sorted((bottom, top))
    rotation = page.get_rotation() % 360
    if rotation == 90:
        matrix, box = (0.0, -1.0, 1.0, 0.0, -y0, x1), (y0, x0, y1, x1)
    elif rotation == 180:
        matrix, box = (-1.0, 0.0, 0.0, -1.0, x1, y1), (x0, y0, x1, y1)
    elif rotation == 270:
        matrix, box = (0.0, 1.0, -1.0, 0.0, y1, -x0), (y0, x0, y1, x1)
    else:
        matrix, box = (1.0, 0.0, 0.0, 1.0, -x0, -y0), (x0, y0, x1, y1)
    height = box[3] - box[1]
    return PageFrame(matrix=matrix, x_offset=box[0], top_offset=height - box[3], width=box[2] - box[0], height=height)


@dataclass(frozen=True)
class _TextObject:
    fontname: str
    descent: float  # the font descriptor's /Descent, per unit of font size
    em_height: float  # PDFium's ascent - descent, per unit of font size (the height of its loose boxes)
    size: float  # the font size set with Tf
    matrix: tuple[float, float, float, float]  # text matrix × CTM (horizontal scaling included)
    upright: bool  # False: turned a quarter (landscape pages drawn rotated)
    height: float  # pdfminer's char "size": the font size scaled to the page


@dataclass(frozen=True)
class _FastTextApi:
    """The per-character PDFium calls with plain integer handles: pypdfium2's typed pointers cost more per call
    than PDFium's work, and a text object handle must be hashable to cache what is known of it."""

    map_error: Callable[..., int]
    text_object: Callable[..., int]
    origin: Callable[..., int]
    loose_box: Callable[..., int]
    matrix: Callable[..., int]
    font_size: Callable[..., float]
    font: Callable[..., int]


_FAST: list[_FastTextApi] = []


def _fast_api(c: Any) -> _FastTextApi:
    if not _FAST:
        handle, index = ctypes.c_void_p, ctypes.c_int
        double_ref, rect_ref = ctypes.POINTER(ctypes.c_double), ctypes.POINTER(c.FS_RECTF)
        _FAST.append(
            _FastTextApi(
                map_error=ctypes.cast(c.FPDFText_HasUnicodeMapError, ctypes.CFUNCTYPE(ctypes.c_int, handle, index)),
                text_object=ctypes.cast(c.FPDFText_GetTextObject, ctypes.CFUNCTYPE(ctypes.c_void_p, handle, index)),
                origin=ctypes.cast(c.FPDFText_GetCharOrigin, ctypes.CFUNCTYPE(ctypes.c_int, handle, index, double_ref, double_ref)),
                loose_box=ctypes.cast(c.FPDFText_GetLooseCharBox, ctypes.CFUNCTYPE(ctypes.c_int, handle, index, rect_ref)),
                matrix=ctypes.cast(c.FPDFText_GetMatrix, ctypes.CFUNCTYPE(ctypes.c_int, handle, index, ctypes.POINTER(c.FS_MATRIX))),
                font_size=ctypes.cast(c.FPDFText_GetFontSize, ctypes.CFUNCTYPE(ctypes.c_double, handle, index)),
                font=ctypes.cast(c.FPDFTextObj_GetFont, ctypes.CFUNCTYPE(ctypes.c_void_p, handle)),
            )
        )
    return _FAST[0]


def _font_name(raw: bytes) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:  # GBK names ("宋体"): spelled the way pdfplumber spells them
        from pdfplumber.page import fix_fontname_bytes

        return fix_fontname_bytes(raw)


class PdfiumPage:
    """One page read through PDFium's C API (pypdfium2.raw), in pdfplumber's coordinates."""

    def __init__(self, document: Any, index: int) -> None:
        import pypdfium2.raw as pdfium_c

        self._c = pdfium_c
        self._page = document[index]
        self.frame = page_frame(self._page)
        self.width = self.frame.width
        self.height = self.frame.height
        self._fonts: dict[int, tuple[str, float, float]] = {}
        self._objects: dict[tuple[float, ...], _TextObject] = {}
        self._matrix = pdfium_c.FS_MATRIX()

    def close(self) -> None:
        self._page.close()

    # ---------------------------------------------------------------- characters

    def chars(self) -> list[Char]:
        """Every non-blank glyph as a pdfplumber-style char dict, clipped to the page box like ``page.crop``."""
        c = self._c
        textpage = c.FPDFText_LoadPage(self._page.raw)
        if not textpage:
            raise PdfiumFallback("PDFium could not load the text layer")
        try:
            return self._read_chars(textpage)
        finally:
            c.FPDFText_ClosePage(textpage)

    def _read_chars(self, textpage: Any) -> list[Char]:
        c = self._c
        count = c.FPDFText_CountChars(textpage)
        if count <= 0:
            return []
        buffer = (ctypes.c_ushort * (count + 1))()
        written = c.FPDFText_GetText(textpage, 0, count, buffer)
        text = bytes(buffer)[: 2 * max(0, written - 1)].decode("utf-16-le", errors="replace")
        if len(text) != count:  # characters outside the BMP: indexes no longer line up
            raise PdfiumFallback("characters outside the Basic Multilingual Plane")
        fast = _fast_api(c)
        page_handle = ctypes.cast(textpage, ctypes.c_void_p).value
        objects: dict[int, _TextObject] = {}
        origin_x, origin_y, loose = ctypes.c_double(), ctypes.c_double(), c.FS_RECTF()
        origin_x_ref, origin_y_ref, loose_ref = ctypes.byref(origin_x), ctypes.byref(origin_y), ctypes.byref(loose)
        frame = self.frame
        pa, pb, pc, pd, pe, pf = frame.matrix
        x_offset, flip = frame.x_offset, frame.height + frame.top_offset
        left, top_limit, right, bottom_limit = frame.bbox
        chars: list[Char] = []
        for index, glyph in enumerate(text):
            if glyph.isspace():
                continue
            if glyph in _UNMAPPED or fast.map_error(page_handle, index):
                raise PdfiumFallback("glyphs without a Unicode mapping")
            handle = fast.text_object(page_handle, index)
            info = objects.get(handle)
            if info is None:
                info = objects[handle] = self._text_object(fast, page_handle, index, handle)
            fast.origin(page_handle, index, origin_x_ref, origin_y_ref)
            fast.loose_box(page_handle, index, loose_ref)
            a, b, cc, d = info.matrix
            ox, oy = origin_x.value, origin_y.value
            low, high = info.descent * info.size, info.descent * info.size + info.size
            # the glyph box's two opposite corners in user space (the matrix is axis-parallel, see _text_object)
            # PDFium's loose box: the advance × PDFium's ascent-to-descent, through the matrix (slant included)
            if info.upright:
                advance = (loose.right - loose.left - abs(cc) * info.size * info.em_height) / abs(a)
                ux0, uy0, ux1, uy1 = ox, oy + low * d, ox + advance * a, oy + high * d
                if cc:  # slanted (synthetic italic): pdfminer boxes all four corners
                    ux0, ux1 = min(ox + low * cc, ox + high * cc), max(ox + advance * a + low * cc, ox + advance * a + high * cc)
            else:
                advance = (loose.top - loose.bottom - abs(d) * info.size * info.em_height) / abs(b)
                ux0, uy0, ux1, uy1 = ox + low * cc, oy, ox + high * cc, oy + advance * b
                if d:
                    uy0, uy1 = min(oy + low * d, oy + high * d), max(oy + advance * b + low * d, oy + advance * b + high * d)
            # pdfminer's page rotation, then pdfplumber's flip; both keep boxes axis-parallel
            px0, px1 = pa * ux0 + pc * uy0 + pe + x_offset, pa * ux1 + pc * uy1 + pe + x_offset
            py0, py1 = flip - (pb * ux0 + pd * uy0 + pf), flip - (pb * ux1 + pd * uy1 + pf)
            x0, x1 = (px0, px1) if px0 <= px1 else (px1, px0)
            y_top, y_bottom = (py0, py1) if py0 <= py1 else (py1, py0)
            if x1 < left or x0 > right or y_bottom < top_limit or y_top > bottom_limit:
                continue
            if (x1 == left or x0 == right) and (y_bottom == top_limit or y_top == bottom_limit):
                continue  # touches the page box in a corner only: pdfplumber's crop drops it
            chars.append(
                {
                    "text": glyph,
                    "x0": round(max(x0, left), _DECIMALS),
                    "x1": round(min(x1, right), _DECIMALS),
                    "top": round(max(y_top, top_limit), _DECIMALS),
                    "bottom": round(min(y_bottom, bottom_limit), _DECIMALS),
                    "size": info.height,
                    "fontname": info.fontname,
                }
            )
        return chars

    def _text_object(self, fast: _FastTextApi, page_handle: int, index: int, handle: int) -> _TextObject:
        matrix = self._matrix
        fast.matrix(page_handle, index, ctypes.byref(matrix))
        a, b, cc, d = matrix.a, matrix.b, matrix.c, matrix.d
        # the baseline must run along an axis (slanted glyphs are fine); text at an angle is pdfminer's to box
        upright = abs(b) < _AXIS_EPSILON and abs(a) > _AXIS_EPSILON
        quarter_turn = abs(a) < _AXIS_EPSILON and abs(b) > _AXIS_EPSILON
        if not (upright or quarter_turn):
            raise PdfiumFallback("text set at an angle")
        if upright:
            b = 0.0
        else:
            a = 0.0
        if abs(cc) < _AXIS_EPSILON:
            cc = 0.0
        if abs(d) < _AXIS_EPSILON:
            d = 0.0
        font = fast.font(handle)
        if not font:
            raise PdfiumFallback("a text object without a font")
        size = fast.font_size(page_handle, index)
        key = (font, size, a, b, cc, d)
        known = self._objects.get(key)
        if known is None:
            fontname, descent, em_height = self._font(font)
            known = self._objects[key] = _TextObject(
                fontname=fontname,
                descent=descent,
                em_height=em_height,
                size=size,
                matrix=(a, b, cc, d),
                upright=upright,
                height=round(abs(size * (d if upright else cc)), _DECIMALS),
            )
        return known

    def _font(self, key: int) -> tuple[str, float, float]:
        known = self._fonts.get(key)
        if known is None:
            c = self._c
            font = ctypes.cast(ctypes.c_void_p(key), c.FPDF_FONT)
            name = ctypes.create_string_buffer(512)
            length = c.FPDFFont_GetBaseFontName(font, name, len(name))
            ascent, descent = ctypes.c_float(), ctypes.c_float()
            if not (c.FPDFFont_GetAscent(font, ctypes.c_float(1.0), ascent) and c.FPDFFont_GetDescent(font, ctypes.c_float(1.0), descent)):
                raise PdfiumFallback("a font without metrics")
            # pdfminer: the descriptor's /Descent, made negative when a producer wrote it positive
            known = (_font_name(name.raw[: max(0, length - 1)]), -abs(descent.value), ascent.value - descent.value)
            self._fonts[key] = known
        return known

    # ---------------------------------------------------------------- ruling lines and rectangles

    def rule_objects(self) -> Iterator[dict[str, Any]]:
        """Lines, rectangles and curves as pdfplumber would list them, in painting order."""
        c = self._c
        page = self._page.raw
        yield from self._walk(c.FPDFPage_CountObjects(page), lambda i: c.FPDFPage_GetObject(page, i), None)

    def _walk(self, count: int, get: Callable[[int], Any], parent: tuple[float, ...] | None) -> Iterator[dict[str, Any]]:
        c = self._c
        matrix = c.FS_MATRIX()
        for position in range(count):
            handle = get(position)
            kind = c.FPDFPageObj_GetType(handle)
            if kind not in (c.FPDF_PAGEOBJ_PATH, c.FPDF_PAGEOBJ_FORM):
                continue
            if not c.FPDFPageObj_GetMatrix(handle, matrix):
                raise PdfiumFallback("a page object without a matrix")
            own = (matrix.a, matrix.b, matrix.c, matrix.d, matrix.e, matrix.f)
            total = own if parent is None else _multiply(own, parent)
            if kind == c.FPDF_PAGEOBJ_FORM:
                form = handle
                yield from self._walk(c.FPDFFormObj_CountObjects(form), lambda i, form=form: c.FPDFFormObj_GetObject(form, i), total)
                continue
            yield from self._path_objects(handle, total)

    def _path_objects(self, handle: Any, matrix: tuple[float, ...]) -> Iterator[dict[str, Any]]:
        c = self._c
        fill_mode, stroke = ctypes.c_int(), ctypes.c_int()
        if not c.FPDFPath_GetDrawMode(handle, fill_mode, stroke):
            raise PdfiumFallback("a path without a draw mode")
        fill, stroked = fill_mode.value != c.FPDF_FILLMODE_NONE, bool(stroke.value)
        if not fill and not stroked:
            return
        x, y = ctypes.c_float(), ctypes.c_float()
        a, b, cc, d, e, f = matrix
        frame = self.frame
        operations: list[tuple[str, Point | None]] = []
        pending_curve = 0
        for position in range(c.FPDFPath_CountSegments(handle)):
            segment = c.FPDFPath_GetPathSegment(handle, position)
            if not c.FPDFPathSegment_GetPoint(segment, x, y):
                raise PdfiumFallback("a path segment without a point")
            kind = c.FPDFPathSegment_GetType(segment)
            point = frame.point(a * x.value + cc * y.value + e, b * x.value + d * y.value + f)
            if kind == c.FPDF_SEGMENT_BEZIERTO:
                pending_curve += 1
                if pending_curve < 3:  # control points: pdfminer keeps only a curve's end point
                    continue
                pending_curve = 0
                operations.append(("c", point))
            elif kind == c.FPDF_SEGMENT_MOVETO:
                operations.append(("m", point))
            else:
                operations.append(("l", point))
            if c.FPDFPathSegment_GetClose(segment):
                operations.append(("h", None))
        yield from _painted_shapes(operations, stroked, fill)


def _multiply(first: tuple[float, ...], second: tuple[float, ...]) -> tuple[float, ...]:
    a1, b1, c1, d1, e1, f1 = first
    a2, b2, c2, d2, e2, f2 = second
    return (
        a1 * a2 + b1 * c2,
        a1 * b2 + b1 * d2,
        c1 * a2 + d1 * c2,
        c1 * b2 + d1 * d2,
        e1 * a2 + f1 * c2 + e2,
        e1 * b2 + f1 * d2 + f2,
    )


def _painted_shapes(operations: list[tuple[str, Point | None]], stroke: bool, fill: bool) -> Iterator[dict[str, Any]]:
    """pdfminer's ``paint_path``: one shape per subpath (a subpath starts at ``m`` and has more than the ``m``)."""
    if not operations or operations[0][0] != "m":
        return
    start = 0
    for position in range(1, len(operations) + 1):
        if position == len(operations) or operations[position][0] == "m":
            if position - start > 1:
                shape = _shape(operations[start:position], stroke, fill)
                if shape is not None:
                    yield shape
            start = position


def _shape(subpath: list[tuple[str, Point | None]], stroke: bool, fill: bool) -> dict[str, Any] | None:
    shape = "".join(op for op, _point in subpath)
    first = subpath[0][1]
    points: list[Point] = [point if point is not None else first for _op, point in subpath]  # type: ignore[misc]
    if len(shape) > 3 and shape[-2:] == "lh" and points[-2] == points[0]:
        shape = shape[:-2] + "h"
        points.pop()
    if shape in {"mlh", "ml"}:
        return _object("line", points[:2], stroke, fill)
    if shape in {"mlllh", "mllll"}:
        (x0, y0), (x1, y1), (x2, y2), (x3, y3), _last = points
        closed = points[0] == points[4]
        square = (x0 == x1 and y1 == y2 and x2 == x3 and y3 == y0) or (y0 == y1 and x1 == x2 and y2 == y3 and x3 == x0)
        if closed and square:
            return _object("rect", [points[0], points[2]], stroke, fill)
    return _object("curve", points, stroke, fill)


def _object(kind: str, points: list[Point], stroke: bool, fill: bool) -> dict[str, Any]:
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0, x1, top, bottom = min(xs), max(xs), min(ys), max(ys)
    return {
        "object_type": kind,
        "x0": x0,
        "x1": x1,
        "top": top,
        "bottom": bottom,
        "doctop": top,
        "width": x1 - x0,
        "height": bottom - top,
        "y0": -bottom,  # only differences of y0/y1 are used (rectangle edges)
        "y1": -top,
        "pts": points,
        "stroke": stroke,
        "fill": fill,
    }
