"""An annotated copy of a PDF: every page rendered, the places each issue points at boxed in red with its rule id."""

from __future__ import annotations

from pathlib import Path

from .model import Issue

_SCALE = 2.0  # render at 144 dpi so boxed figures stay legible


def annotate_pdf(source: str | Path, issues: list[Issue], out: str | Path) -> Path:
    import pypdfium2
    from PIL import ImageDraw

    boxes: dict[int, list[tuple[tuple[float, float, float, float], str]]] = {}
    for issue in issues:
        for page, bbox in issue.locations:
            boxes.setdefault(page, []).append((bbox, issue.rule_id))
    pdf = pypdfium2.PdfDocument(str(source))
    images = []
    try:
        for index in range(len(pdf)):
            image = pdf[index].render(scale=_SCALE).to_pil().convert("RGB")
            draw = ImageDraw.Draw(image)
            for (x0, top, x1, bottom), rule_id in boxes.get(index + 1, []):
                box = [x0 * _SCALE - 3, top * _SCALE - 3, x1 * _SCALE + 3, bottom * _SCALE + 3]
                draw.rectangle(box, outline=(220, 0, 0), width=3)
                draw.text((box[0], max(0, box[1] - 12)), rule_id, fill=(220, 0, 0))
            images.append(image)
    finally:
        pdf.close()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(out, "PDF", resolution=72 * _SCALE, save_all=True, append_images=images[1:])
    return out
