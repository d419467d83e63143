"""Table cells from a page's ruling lines, rectangles and curves (part of the PDF reader, see :mod:`yusuan.ingest.pdf`).

pdfplumber's ``find_tables()`` with its default "lines" settings, re-done on plain tuples for the pages PDFium reads:
the same edges, snapped, joined and filtered with the same arithmetic in the same order, so that the cells come
out equal to the last bit (``tests/test_ingest_pdfium.py`` holds them against pdfplumber's); without pdfplumber's
dict copy per edge and per move, and with its quadratic scans (every vertical edge against every horizontal one,
every point against every later point, every cell against every remaining cell) replaced by sorted look-ups.
"""

from __future__ import annotations

import bisect
import itertools
from typing import Any

Edge = tuple[float, float, float, float, float]  # x0, top, x1, bottom, length (a vertical edge's height, a horizontal one's width)
Bbox = tuple[float, float, float, float]

SNAP_TOLERANCE = 3.0  # pdfplumber's defaults: snap_x/y_tolerance, join_x/y_tolerance, intersection_x/y_tolerance
JOIN_TOLERANCE = 3.0
INTERSECTION_TOLERANCE = 3.0
MIN_EDGE_LENGTH = 1.0  # edges shorter than this are dropped before merging,
MIN_MERGED_LENGTH = 3.0  # …and merged edges shorter than this after


def clip_to_page(objects: list[dict[str, Any]], page_bbox: Bbox) -> list[dict[str, Any]]:
    """pdfplumber's crop: objects outside the page box go, the others are cut to it. An object inside the box (not
    a mere point) is kept as it is: pdfplumber's copy of it would hold the same values."""
    from pdfplumber.utils import clip_obj

    left, top, right, bottom = page_bbox
    kept = []
    for obj in objects:
        x0, x1, obj_top, obj_bottom = obj["x0"], obj["x1"], obj["top"], obj["bottom"]
        if left <= x0 and x1 <= right and top <= obj_top and obj_bottom <= bottom and (x1 - x0) + (obj_bottom - obj_top) > 0:
            kept.append(obj)
        elif (clipped := clip_obj(obj, page_bbox)) is not None:
            kept.append(clipped)
    return kept


def find_table_cells(objects: list[dict[str, Any]]) -> list[list[Bbox]]:
    """pdfplumber's ``page.crop(bbox).find_tables()`` cell groups over lines/rects/curves in pdfplumber's form."""
    vertical, horizontal = _edges(objects)
    vertical = _merged(_snapped(vertical, 0), 0)
    horizontal = _merged(_snapped(horizontal, 1), 1)
    return _cells_to_tables(_intersections_to_cells(_intersections(vertical, horizontal)))


def _edges(objects: list[dict[str, Any]]) -> tuple[list[Edge], list[Edge]]:
    """pdfplumber's ``line_to_edge``/``rect_to_edges``/``curve_to_edges`` (lines first, then rectangles, then curves),
    split by orientation and filtered to a length of at least 1 point."""
    kinds: dict[str, list[dict[str, Any]]] = {"line": [], "rect": [], "curve": []}
    for obj in objects:
        kinds[obj["object_type"]].append(obj)
    vertical: list[Edge] = []
    horizontal: list[Edge] = []
    for line in kinds["line"]:
        x0, top, x1, bottom = line["x0"], line["top"], line["x1"], line["bottom"]
        if top == bottom:
            horizontal.append((x0, top, x1, bottom, line["width"]))
        else:  # a slanted line counts as vertical, as in pdfplumber
            vertical.append((x0, top, x1, bottom, line["height"]))
    for rect in kinds["rect"]:
        x0, top, x1, bottom, width, height = rect["x0"], rect["top"], rect["x1"], rect["bottom"], rect["width"], rect["height"]
        horizontal.append((x0, top, x1, top, width))
        horizontal.append((x0, top + height, x1, bottom, width))  # pdfplumber's bottom edge: top + height, not bottom
        vertical.append((x0, top, x0, bottom, height))
        vertical.append((x1, top, x1, bottom, height))
    for curve in kinds["curve"]:
        for (ax, ay), (bx, by) in itertools.pairwise(curve["pts"]):
            # min and max as the builtins pick them (the first of two equal values: 0.0 and -0.0 stay apart)
            box = (bx if bx < ax else ax, by if by < ay else ay, bx if bx > ax else ax, by if by > ay else ay)
            if ax == bx:
                vertical.append((*box, abs(ay - by)))
            elif ay == by:
                horizontal.append((*box, abs(ax - bx)))
    return ([edge for edge in vertical if edge[4] >= MIN_EDGE_LENGTH],
            [edge for edge in horizontal if edge[4] >= MIN_EDGE_LENGTH])


def _snapped(edges: list[Edge], axis: int) -> list[Edge]:
    """pdfplumber's ``snap_objects``: positions (x0 of vertical edges, top of horizontal ones) chained within the
    tolerance form a cluster; each edge moves by the cluster's mean minus its position. Clusters in ascending order,
    each in the edges' order."""
    cluster_of: dict[float, int] = {}
    count, last = 0, 0.0
    for value in sorted({edge[axis] for edge in edges}):
        if not count or value > last + SNAP_TOLERANCE:
            count += 1
        cluster_of[value] = count - 1
        last = value
    clusters: list[list[Edge]] = [[] for _ in range(count)]
    for edge in edges:
        clusters[cluster_of[edge[axis]]].append(edge)
    snapped: list[Edge] = []
    for cluster in clusters:
        mean = sum(edge[axis] for edge in cluster) / len(cluster)
        for x0, top, x1, bottom, length in cluster:
            if axis == 0:
                shift = mean - x0
                snapped.append((x0 + shift, top, x1 + shift, bottom, length))
            else:
                shift = mean - top
                snapped.append((x0, top + shift, x1, bottom + shift, length))
    return snapped


def _merged(edges: list[Edge], axis: int) -> list[Edge]:
    """pdfplumber's ``merge_edges`` after snapping: edges on one line (equal snapped position), sorted by where they
    start, are joined when the next starts within the tolerance of the current one's end; merged edges shorter than
    3 points go."""
    start, end = (1, 3) if axis == 0 else (0, 2)
    merged: list[Edge] = []
    for _position, group in itertools.groupby(sorted(edges, key=lambda edge: edge[axis]), key=lambda edge: edge[axis]):
        joined: list[Edge] = []
        for edge in sorted(group, key=lambda edge: edge[start]):
            if joined and edge[start] <= joined[-1][end] + JOIN_TOLERANCE:
                last = joined[-1]
                if edge[end] > last[end]:
                    x0, top, x1, bottom, length = last
                    if axis == 0:  # pdfplumber's resize_object: the height grows by the move of the bottom
                        joined[-1] = (x0, top, x1, edge[3], length + (edge[3] - bottom))
                    else:
                        joined[-1] = (x0, top, edge[2], bottom, edge[2] - x0)
            else:
                joined.append(edge)
        merged += joined
    return [edge for edge in merged if edge[4] >= MIN_MERGED_LENGTH]


Intersections = dict[tuple[float, float], tuple[set[Bbox], set[Bbox]]]


def _intersections(vertical: list[Edge], horizontal: list[Edge]) -> Intersections:
    """pdfplumber's ``edges_to_intersections``: each point where a vertical edge meets a horizontal one (within the
    tolerance) with the edges that meet there. Only the horizontal edges whose top lies along the vertical edge
    are tested (found by bisection, a point wider than the tolerance; the test itself is pdfplumber's)."""
    tolerance = INTERSECTION_TOLERANCE
    by_top = sorted(horizontal, key=lambda edge: edge[1])
    tops = [edge[1] for edge in by_top]
    found: Intersections = {}
    for v_x0, v_top, v_x1, v_bottom, _length in vertical:
        first = bisect.bisect_left(tops, v_top - tolerance - 1.0)
        last = bisect.bisect_right(tops, v_bottom + tolerance + 1.0)
        for h_x0, h_top, h_x1, h_bottom, _h_length in by_top[first:last]:
            if v_top <= h_top + tolerance and v_bottom >= h_top - tolerance and v_x0 >= h_x0 - tolerance and v_x0 <= h_x1 + tolerance:
                meeting = found.get((v_x0, h_top))
                if meeting is None:
                    meeting = found[v_x0, h_top] = (set(), set())
                meeting[0].add((v_x0, v_top, v_x1, v_bottom))
                meeting[1].add((h_x0, h_top, h_x1, h_bottom))
    return found


def _intersections_to_cells(intersections: Intersections) -> list[Bbox]:
    """pdfplumber's ``intersections_to_cells`` (same cells, same order): for each point, the nearest point below and
    the nearest to the right that share an edge with it and close a rectangle; the points of its column and row
    are looked up instead of scanning every later point."""
    points = sorted(intersections)
    by_x: dict[float, list[tuple[float, float]]] = {}
    by_y: dict[float, list[tuple[float, float]]] = {}
    place: dict[tuple[float, float], tuple[int, int]] = {}  # a point's position in its column and in its row
    for point in points:  # sorted by (x, y): each column by y, each row by x
        column, row = by_x.setdefault(point[0], []), by_y.setdefault(point[1], [])
        place[point] = (len(column), len(row))
        column.append(point)
        row.append(point)
    cells: list[Bbox] = []
    for point in points:
        vertical, horizontal = intersections[point]
        in_column, in_row = place[point]
        below = by_x[point[0]][in_column + 1 :]
        right = by_y[point[1]][in_row + 1 :]
        cell = None
        for below_point in below:
            below_vertical, below_horizontal = intersections[below_point]
            if not vertical & below_vertical:
                continue
            for right_point in right:
                right_vertical, right_horizontal = intersections[right_point]
                if not horizontal & right_horizontal:
                    continue
                corner = intersections.get((right_point[0], below_point[1]))
                if corner is not None and corner[0] & right_vertical and corner[1] & below_horizontal:
                    cell = (point[0], point[1], right_point[0], below_point[1])
                    break
            if cell is not None:
                break
        if cell is not None:
            cells.append(cell)
    return cells


def _cells_to_tables(cells: list[Bbox]) -> list[list[Bbox]]:
    """pdfplumber's ``cells_to_tables`` (same groups, cells in the same order): passes over the remaining cells grow
    the current group by every cell sharing a corner with it, until a pass adds none; then the next group starts.
    Groups of one cell are dropped; groups are sorted by their top-left-most cell."""
    remaining = list(cells)
    corners: set[tuple[float, float]] = set()
    current: list[Bbox] = []
    tables: list[list[Bbox]] = []
    while remaining:
        before = len(current)
        left_over: list[Bbox] = []
        for cell in remaining:
            x0, top, x1, bottom = cell
            cell_corners = ((x0, top), (x0, bottom), (x1, top), (x1, bottom))
            if not current or any(corner in corners for corner in cell_corners):
                corners.update(cell_corners)
                current.append(cell)
            else:
                left_over.append(cell)
        remaining = left_over
        if len(current) == before:
            tables.append(current)
            corners, current = set(), []
    if current:
        tables.append(current)
    tables.sort(key=lambda table: min((cell[1], cell[0]) for cell in table))
    return [table for table in tables if len(table) > 1]
