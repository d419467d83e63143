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
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple

from .pdf_lines import Char

Point = tuple[float, float]
Box = tuple[float, float, float, float]

_DECIMALS = 4  # PDFium computes in float32: rounded back to the content stream's decimals, borderline gap tests
# (a space where a gap is exactly a quarter em) come out as pdfminer's double arithmetic has them

_AXIS_EPSILON = 1e-6  # a matrix entry this small is zero (skewed or rotated text is read by pdfminer)

_UNMAPPED = frozenset(("\ufffd", "\ufffe", "\uffff", "\x00"))

_GLYPH = struct.Struct("=2d4f")  # FPDFText_GetCharOrigin's x and y, then FPDFText_GetLooseCharBox's FS_RECTF
_MATRIX_LINEAR = struct.Struct("=4f")  # FS_MATRIX's a, b, c, d (then e and f, the translation, not read)
_BOUNDS = struct.Struct("=4f")  # FPDFPageObj_GetBounds: left, bottom, right, top

_TINY_PATH = 0.99  # a path less than this wide and less than this high (points) has no edge of cell finding's minimum
# length (1 pt; the margin covers float32 bounds and the rounding of the corners)


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


class _TextObject(NamedTuple):
    """What the glyphs of one text object share (a tuple: the character loop unpacks it whole, once per glyph)."""

    upright: bool  # False: turned a quarter (landscape pages drawn rotated)
    a: float  # text matrix × CTM (horizontal scaling included), axis-parallel: b (upright) or a (turned) is zero
    b: float
    c: float
    d: float
    scale: float  # |a| (upright) or |b| (turned): text space → page space along the advance
    low: float  # the glyph box's bottom and top above the baseline, in text space: the font descriptor's /Descent
    high: float  # × the font size, and that plus the font size
    loose_extra: float  # what PDFium's loose box adds along the advance: its ascent-to-descent height through the slant
    height: float  # pdfminer's char "size": the font size scaled to the page
    fontname: str
    plain: bool  # upright, unslanted, not mirrored, positive size: the box's corners need no reordering
    low_d: float  # low × d and high × d: the box's bottom and top above the baseline in user space (when plain)
    high_d: float


class _Handle(ctypes.c_void_p):
    """A PDFium handle for :func:`_unchecked` functions, as they return it or made from an address: a subclass of
    ``c_void_p`` stays a ctypes object (no conversion to int and back) and goes into the next call as a pointer."""


def _unchecked(function: Any, restype: Any) -> Callable[..., Any]:
    """``function`` without declared argument types: ints go as C ints, handles and ``byref`` out-parameters as
    pointers. pypdfium2's declared pointer types cost more to check per call than PDFium's own work (2-4 times
    the cost of an unchecked call), and these calls are made per glyph and per path segment."""
    return ctypes.CFUNCTYPE(restype)(ctypes.cast(function, ctypes.c_void_p).value)


@dataclass(frozen=True)
class _FastTextApi:
    """The per-character and per-text-object PDFium calls of :meth:`PdfiumPage.chars` (see :func:`_unchecked`)."""

    map_error: Callable[..., int]
    text_object: Callable[..., int | None]  # the handle as an int (a dict key)
    origin: Callable[..., int]
    loose_box: Callable[..., int]
    matrix: Callable[..., int]
    font_size: Callable[..., float]
    font: Callable[..., int | None]  # takes the text object handle as an int (its one argument declared a pointer)


@dataclass(frozen=True)
class _FastPathApi:
    """The per-object and per-segment PDFium calls of :meth:`PdfiumPage.rule_objects` (see :func:`_unchecked`):
    a page holds a text object per glyph or per line, and each one is looked at."""

    count_objects: Callable[..., int]
    page_object: Callable[..., int | None]  # the handle as an int (text objects are looked up by it)
    object_type: Callable[..., int]
    object_matrix: Callable[..., int]
    bounds: Callable[..., int]
    count_form_objects: Callable[..., int]
    form_object: Callable[..., int | None]
    draw_mode: Callable[..., int]
    count_segments: Callable[..., int]
    segment: Callable[..., _Handle]
    segment_point: Callable[..., int]
    segment_type: Callable[..., int]
    segment_close: Callable[..., int]


@cache  # one set of unchecked functions per process (``c`` is pypdfium2's raw module)
def _fast_api(c: Any) -> _FastTextApi:
    return _FastTextApi(
        map_error=_unchecked(c.FPDFText_HasUnicodeMapError, ctypes.c_int),
        text_object=_unchecked(c.FPDFText_GetTextObject, ctypes.c_void_p),
        origin=_unchecked(c.FPDFText_GetCharOrigin, ctypes.c_int),
        loose_box=_unchecked(c.FPDFText_GetLooseCharBox, ctypes.c_int),
        matrix=_unchecked(c.FPDFText_GetMatrix, ctypes.c_int),
        font_size=_unchecked(c.FPDFText_GetFontSize, ctypes.c_double),
        font=ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)(ctypes.cast(c.FPDFTextObj_GetFont, ctypes.c_void_p).value),
    )


@cache
def _fast_path_api(c: Any) -> _FastPathApi:
    # the form object index is an unsigned long: declared, so that it is passed at its width
    form_object_type = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_ulong)
    form_object = form_object_type(ctypes.cast(c.FPDFFormObj_GetObject, ctypes.c_void_p).value)
    return _FastPathApi(
        count_objects=_unchecked(c.FPDFPage_CountObjects, ctypes.c_int),
        page_object=_unchecked(c.FPDFPage_GetObject, ctypes.c_void_p),
        object_type=_unchecked(c.FPDFPageObj_GetType, ctypes.c_int),
        object_matrix=_unchecked(c.FPDFPageObj_GetMatrix, ctypes.c_int),
        bounds=_unchecked(c.FPDFPageObj_GetBounds, ctypes.c_int),
        count_form_objects=_unchecked(c.FPDFFormObj_CountObjects, ctypes.c_int),
        form_object=form_object,
        draw_mode=_unchecked(c.FPDFPath_GetDrawMode, ctypes.c_int),
        count_segments=_unchecked(c.FPDFPath_CountSegments, ctypes.c_int),
        segment=_unchecked(c.FPDFPath_GetPathSegment, _Handle),
        segment_point=_unchecked(c.FPDFPathSegment_GetPoint, ctypes.c_int),
        segment_type=_unchecked(c.FPDFPathSegment_GetType, ctypes.c_int),
        segment_close=_unchecked(c.FPDFPathSegment_GetClose, ctypes.c_int),
    )


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
        self._objects: dict[tuple[float, ...], _TextObject] = {}  # by font, size and matrix
        self._text_objects: dict[int | None, _TextObject] = {}  # by handle, those whose glyphs were read
        self._matrix = ctypes.create_string_buffer(24)  # FS_MATRIX: six floats, the first four read back in one unpack
        self._matrix_ref = ctypes.byref(self._matrix)
        self._points: dict[Point, Point] = {}  # user space → page space: the corners of a grid's rules repeat
        # the out-parameters of the per-path and per-segment calls, made once per page
        self._fill_mode, self._stroke = ctypes.c_int(), ctypes.c_int()
        self._fill_mode_ref, self._stroke_ref = ctypes.byref(self._fill_mode), ctypes.byref(self._stroke)
        self._x, self._y = ctypes.c_float(), ctypes.c_float()
        self._x_ref, self._y_ref = ctypes.byref(self._x), ctypes.byref(self._y)

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
        objects = self._text_objects
        known, matrix, matrix_ref, read_linear = self._objects, self._matrix, self._matrix_ref, _MATRIX_LINEAR.unpack_from
        text_matrix, text_font, text_font_size = fast.matrix, fast.font, fast.font_size
        # one buffer for a glyph's origin (two doubles) and loose box (FS_RECTF: four floats), read back in one unpack
        glyph = ctypes.create_string_buffer(_GLYPH.size)
        origin_x_ref, origin_y_ref, loose_ref = ctypes.byref(glyph, 0), ctypes.byref(glyph, 8), ctypes.byref(glyph, 16)
        read_glyph = _GLYPH.unpack_from
        frame = self.frame
        pa, pb, pc, pd, pe, pf = frame.matrix
        x_offset, flip = frame.x_offset, frame.height + frame.top_offset
        # an unrotated page box at the origin: pdfplumber's x is user space's, its y flipped; adding pe + x_offset (+0.0
        # there) gives a zero x the sign the general arithmetic gives it
        unrotated = (pa, pb, pc, pd, pe, pf, x_offset) == (1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0)
        zero = pe + x_offset
        left, top_limit, right, bottom_limit = frame.bbox
        map_error, text_object, char_origin, loose_box = fast.map_error, fast.text_object, fast.origin, fast.loose_box
        rounded: dict[float, float] = {}  # the glyphs of a line share their top and bottom: each rounded once
        chars: list[Char] = []
        for index, character in enumerate(text):
            if character.isspace():
                continue
            if character in _UNMAPPED or map_error(textpage, index):
                raise PdfiumFallback("glyphs without a Unicode mapping")
            handle = text_object(textpage, index)
            info = objects.get(handle)
            if info is None:
                # what the glyphs of a text object share, cached by what it is worked out from: a page of one text object
                # per glyph has as many objects as glyphs, and few kinds of them
                text_matrix(textpage, index, matrix_ref)
                key = (text_font(handle), text_font_size(textpage, index), *read_linear(matrix))
                info = known.get(key)
                if info is None:
                    info = known[key] = self._new_text_object(*key)
                objects[handle] = info
            _upright, a, _b, _c, _d, scale, _low, _high, loose_extra, size, fontname, plain, low_d, high_d = info
            char_origin(textpage, index, origin_x_ref, origin_y_ref)
            loose_box(textpage, index, loose_ref)
            ox, oy, loose_left, loose_top, loose_right, loose_bottom = read_glyph(glyph)
            if plain and unrotated:  # most glyphs: the arithmetic of _char_box without its products by 1 and 0
                x0, x1 = ox + zero, ox + (loose_right - loose_left - loose_extra) / scale * a + zero
                if x1 < x0:
                    x0, x1 = x1, x0
                y_top, y_bottom = flip - (oy + high_d), flip - (oy + low_d)
            else:
                x0, x1, y_top, y_bottom = self._char_box(info, ox, oy, loose_left, loose_top, loose_right, loose_bottom)
            if x1 < left or x0 > right or y_bottom < top_limit or y_top > bottom_limit:
                continue
            if (x1 == left or x0 == right) and (y_bottom == top_limit or y_top == bottom_limit):
                continue  # touches the page box in a corner only: pdfplumber's crop drops it
            # clipped to the page box (conditional expressions: the builtins min and max cost more than the rest)
            y_top = top_limit if top_limit > y_top else y_top
            y_bottom = bottom_limit if bottom_limit < y_bottom else y_bottom
            top, bottom = rounded.get(y_top), rounded.get(y_bottom)
            if top is None:
                top = rounded[y_top] = round(y_top, _DECIMALS)
            if bottom is None:
                bottom = rounded[y_bottom] = round(y_bottom, _DECIMALS)
            chars.append(
                {
                    "text": character,
                    "x0": round(left if left > x0 else x0, _DECIMALS),
                    "x1": round(right if right < x1 else x1, _DECIMALS),
                    "top": top,
                    "bottom": bottom,
                    "size": size,
                    "fontname": fontname,
                }
            )
        return chars

    def _char_box(self, info: _TextObject, ox: float, oy: float, loose_left: float, loose_top: float, loose_right: float,
                  loose_bottom: float) -> Box:
        """A glyph's box in pdfplumber's page space (x0, x1, top, bottom) from its origin and PDFium's loose box."""
        upright, a, b, cc, d, scale, low, high, loose_extra = info[:9]
        pa, pb, pc, pd, pe, pf = self.frame.matrix
        x_offset, flip = self.frame.x_offset, self.frame.height + self.frame.top_offset
        # the glyph box's two opposite corners in user space (the matrix is axis-parallel, see _new_text_object)
        # PDFium's loose box: the advance × PDFium's ascent-to-descent, through the matrix (slant included)
        if upright:
            advance = (loose_right - loose_left - loose_extra) / scale
            ux0, uy0, ux1, uy1 = ox, oy + low * d, ox + advance * a, oy + high * d
            if cc:  # slanted (synthetic italic): pdfminer boxes all four corners
                ux0, ux1 = min(ox + low * cc, ox + high * cc), max(ox + advance * a + low * cc, ox + advance * a + high * cc)
        else:
            advance = (loose_top - loose_bottom - loose_extra) / scale
            ux0, uy0, ux1, uy1 = ox + low * cc, oy, ox + high * cc, oy + advance * b
            if d:
                uy0, uy1 = min(oy + low * d, oy + high * d), max(oy + advance * b + low * d, oy + advance * b + high * d)
        # pdfminer's page rotation, then pdfplumber's flip; both keep boxes axis-parallel
        px0, px1 = pa * ux0 + pc * uy0 + pe + x_offset, pa * ux1 + pc * uy1 + pe + x_offset
        py0, py1 = flip - (pb * ux0 + pd * uy0 + pf), flip - (pb * ux1 + pd * uy1 + pf)
        x0, x1 = (px0, px1) if px0 <= px1 else (px1, px0)
        y_top, y_bottom = (py0, py1) if py0 <= py1 else (py1, py0)
        return x0, x1, y_top, y_bottom

    def _new_text_object(self, font: int | None, size: float, a: float, b: float, cc: float, d: float) -> _TextObject:
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
        if not font:
            raise PdfiumFallback("a text object without a font")
        fontname, descent, em_height = self._font(font)
        return _TextObject(
            upright=upright,
            a=a,
            b=b,
            c=cc,
            d=d,
            scale=abs(a) if upright else abs(b),
            low=descent * size,
            high=descent * size + size,
            loose_extra=abs(cc if upright else d) * size * em_height,
            height=round(abs(size * (d if upright else cc)), _DECIMALS),
            fontname=fontname,
            plain=upright and cc == 0.0 and a > 0.0 and d > 0.0 and size > 0.0,
            low_d=descent * size * d,
            high_d=(descent * size + size) * d,
        )

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

    def rule_objects(self) -> list[dict[str, Any]]:
        """Lines, rectangles and curves as pdfplumber would list them, in painting order."""
        fast = _fast_path_api(self._c)
        page = self._page.raw
        shapes: list[dict[str, Any]] = []
        self._walk(fast, [fast.page_object(page, i) for i in range(fast.count_objects(page))], None, shapes)
        return shapes

    def _walk(self, fast: _FastPathApi, handles: list[int | None], parent: tuple[float, ...] | None,
              shapes: list[dict[str, Any]]) -> None:
        c = self._c
        path_kind, form_kind = c.FPDF_PAGEOBJ_PATH, c.FPDF_PAGEOBJ_FORM
        matrix = c.FS_MATRIX()
        matrix_ref = ctypes.byref(matrix)
        bounds = ctypes.create_string_buffer(_BOUNDS.size)
        bounds_refs = [ctypes.byref(bounds, offset) for offset in range(0, _BOUNDS.size, 4)]
        text_objects = self._text_objects  # most of a page's objects: known without asking PDFium for their type
        for address in handles:
            if address in text_objects:
                continue
            handle = _Handle(address)
            kind = fast.object_type(handle)
            if kind != path_kind and kind != form_kind:
                continue
            if kind == path_kind and parent is None and fast.bounds(handle, *bounds_refs):
                # bounds in page space (a form's objects have theirs in the form's space): a path within less than a
                # point both ways only has edges shorter than the point that cell finding drops before anything else
                left, bottom, right, top = _BOUNDS.unpack(bounds)
                if right - left < _TINY_PATH and top - bottom < _TINY_PATH:
                    continue
            if not fast.object_matrix(handle, matrix_ref):
                raise PdfiumFallback("a page object without a matrix")
            own = (matrix.a, matrix.b, matrix.c, matrix.d, matrix.e, matrix.f)
            total = own if parent is None else _multiply(own, parent)
            if kind == form_kind:
                form = [fast.form_object(handle, i) for i in range(fast.count_form_objects(handle))]
                self._walk(fast, form, total, shapes)
            else:
                self._path_shapes(fast, handle, total, shapes)

    def _path_shapes(self, fast: _FastPathApi, handle: _Handle, matrix: tuple[float, ...], shapes: list[dict[str, Any]]) -> None:
        """pdfminer's ``paint_path`` over PDFium's segments: one shape per subpath (a subpath starts at ``m`` and has
        more than the ``m``; a path that does not start with ``m`` paints nothing)."""
        c = self._c
        if not fast.draw_mode(handle, self._fill_mode_ref, self._stroke_ref):
            raise PdfiumFallback("a path without a draw mode")
        fill, stroked = self._fill_mode.value != c.FPDF_FILLMODE_NONE, bool(self._stroke.value)
        if not fill and not stroked:
            return
        x, y, x_ref, y_ref = self._x, self._y, self._x_ref, self._y_ref
        bezier, move = c.FPDF_SEGMENT_BEZIERTO, c.FPDF_SEGMENT_MOVETO
        segment_of, segment_point, segment_type, segment_close = fast.segment, fast.segment_point, fast.segment_type, fast.segment_close
        a, b, cc, d, e, f = matrix
        point_of, points = self.frame.point, self._points
        operations: list[str] = []  # the current subpath's operators and points
        subpath: list[Point] = []
        pending_curve = 0
        for position in range(fast.count_segments(handle)):
            segment = segment_of(handle, position)
            if not segment_point(segment, x_ref, y_ref):
                raise PdfiumFallback("a path segment without a point")
            kind = segment_type(segment)
            user = (a * x.value + cc * y.value + e, b * x.value + d * y.value + f)
            point = points.get(user)
            if point is None:
                point = points[user] = point_of(*user)
            if kind == move:
                if len(operations) > 1:
                    _append_shape(shapes, operations, subpath, stroked, fill)
                operations, subpath = ["m"], [point]
            else:
                if kind == bezier:
                    pending_curve += 1
                    if pending_curve < 3:  # control points: pdfminer keeps only a curve's end point
                        continue
                    pending_curve = 0
                if not operations:
                    return  # the path does not start with a move
                operations.append("c" if kind == bezier else "l")
                subpath.append(point)
            if segment_close(segment):
                operations.append("h")
                subpath.append(subpath[0])
        if len(operations) > 1:
            _append_shape(shapes, operations, subpath, stroked, fill)


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


def _append_shape(shapes: list[dict[str, Any]], operations: list[str], points: list[Point], stroke: bool, fill: bool) -> None:
    """pdfminer's shape of one subpath (``points``: one per operator, a closing ``h`` at the subpath's start)."""
    shape = "".join(operations)
    if len(shape) > 3 and shape[-2:] == "lh" and points[-2] == points[0]:
        shape = shape[:-2] + "h"
        points = points[:-1]
    if shape in {"mlh", "ml"}:
        shapes.append(_object("line", points[:2], stroke, fill))
        return
    if shape in {"mlllh", "mllll"}:
        (x0, y0), (x1, y1), (x2, y2), (x3, y3), _last = points
        closed = points[0] == points[4]
        square = (x0 == x1 and y1 == y2 and x2 == x3 and y3 == y0) or (y0 == y1 and x1 == x2 and y2 == y3 and x3 == x0)
        if closed and square:
            shapes.append(_object("rect", [points[0], points[2]], stroke, fill))
            return
    shapes.append(_object("curve", points, stroke, fill))


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
