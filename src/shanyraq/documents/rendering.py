"""Issued documents as PDF files: A4, in Kazakh, Russian or English, with a QR code.

``render_pdf`` lays out one document in one language: the platform and the agency at the
top, the title, the number and date of issue, the holder, the document's own lines, and on
every page a footer with a QR code of the verification address, the short verification code
and a sentence saying how to check the electronic signature. A specimen carries the words
"SPECIMEN / ҮЛГІ / ОБРАЗЕЦ" on every page. The file is a plain, unencrypted PDF 1.4 ready to
be signed by ``documents.pades``.

The DejaVu fonts from ``DOCUMENT_FONT_DIR`` are embedded as subsets. Reading a whole DejaVu
font takes most of the time of a render, and fpdf2 cuts each document's copy of the font
down in place when it writes the file, so a parsed font cannot be shared between documents.
What is kept per process instead is a copy of each font reduced once to the letters documents
commonly use (Latin, Cyrillic including Kazakh, punctuation, currency signs); a document with
a character outside it is set with the whole font file.

Fixed phrases are in this module, per language, rather than in gettext catalogues: a
document's wording must not change with the interface translation.
"""

from __future__ import annotations

import io
import math
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

import segno
from django.conf import settings
from fontTools import subset as ft_subset
from fontTools import ttLib
from fontTools.pens.basePen import BasePen
from fpdf import FPDF
from fpdf.enums import Align, MethodReturnValue, PathPaintRule, XPos, YPos
from fpdf.fonts import TTFFont
from fpdf.prefs import ViewerPreferences

from shanyraq.core.text import LANGUAGES

__all__ = [
    "FONT_FILES",
    "PHRASES",
    "SPECIMEN_MARK",
    "DocumentSpec",
    "fonts_problem",
    "qr_png",
    "render_pdf",
]

ALMATY: Final = ZoneInfo("Asia/Almaty")
PLATFORM_NAME: Final = "Shanyraq"
SPECIMEN_WORDS: Final = ("SPECIMEN", "ҮЛГІ", "ОБРАЗЕЦ")
SPECIMEN_MARK: Final = " / ".join(SPECIMEN_WORDS)

PHRASES: Final[Mapping[str, Mapping[str, str]]] = {
    "kk": {
        "number": "Нөмірі",
        "issued": "Берілген күні",
        "holder": "Иесі",
        "iin": "ЖСН",
        "application": "Өтініш",
        "code": "Тексеру коды",
        "verify": (
            "Бұл құжат электрондық цифрлық қолтаңбамен қол қойылған. Оның түпнұсқалығын "
            "көрсетілген мекенжай бойынша немесе тексеру коды арқылы тексеруге болады."
        ),
        "page": "{pages} беттің {page}-беті",
        "specimen": "ҮЛГІ",
        "specimen_notice": "Үлгі: заңды күші жоқ",
        "subject": "{kind} № {number}",
    },
    "ru": {
        "number": "Номер",
        "issued": "Дата выдачи",
        "holder": "Владелец",
        "iin": "ИИН",
        "application": "Заявление",
        "code": "Код проверки",
        "verify": (
            "Документ подписан электронной цифровой подписью. Его подлинность можно "
            "проверить по указанному адресу или по коду проверки."
        ),
        "page": "Страница {page} из {pages}",
        "specimen": "ОБРАЗЕЦ",
        "specimen_notice": "Образец: не имеет юридической силы",
        "subject": "{kind} № {number}",
    },
    "en": {
        "number": "Number",
        "issued": "Date of issue",
        "holder": "Holder",
        "iin": "IIN",
        "application": "Application",
        "code": "Verification code",
        "verify": (
            "This document is signed with an electronic digital signature. Its authenticity "
            "can be verified at the address shown or with the verification code."
        ),
        "page": "Page {page} of {pages}",
        "specimen": "SPECIMEN",
        "specimen_notice": "Specimen: not a valid document",
        "subject": "{kind} No. {number}",
    },
}

# Names of the kinds of document, used in the file's metadata.
KIND_NAMES: Final[Mapping[str, Mapping[str, str]]] = {
    "certificate": {"kk": "Анықтама", "ru": "Справка", "en": "Certificate"},
    "extract": {"kk": "Үзінді", "ru": "Выписка", "en": "Extract"},
    "decision": {"kk": "Шешім", "ru": "Решение", "en": "Decision"},
    "": {"kk": "Құжат", "ru": "Документ", "en": "Document"},
}

KAZAKH_LETTERS: Final = "ӘҒҚҢӨҰҮҺІәғқңөұүһі"


@dataclass(frozen=True)
class DocumentSpec:
    """What an issued document says, in every language, independent of its layout.

    ``title`` and ``agency`` map a language to text; each line's ``label`` does too, and its
    ``value`` is either plain text or such a mapping. ``issued_at`` must be timezone-aware.
    ``verify_url`` is the address the QR code encodes.
    """

    number: str
    code: str
    kind: str
    title: Mapping[str, str]
    agency: Mapping[str, str]
    holder_name: str
    holder_iin: str
    issued_at: datetime
    lines: Sequence[Mapping[str, object]]
    verify_url: str
    specimen: bool = False
    application_number: str = ""


# --- Fonts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FontFile:
    family: str
    style: str
    name: str
    common: tuple[tuple[int, int], ...]  # inclusive code point ranges kept in the reduced copy


_SANS_COMMON: Final = (
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x024F),  # Latin-1 Supplement, Latin Extended-A and -B
    (0x0300, 0x036F),  # combining diacritical marks
    (0x0400, 0x052F),  # Cyrillic and Cyrillic Supplement (Kazakh letters included)
    (0x2000, 0x206F),  # general punctuation: dashes, quotation marks, ellipsis
    (0x2070, 0x209F),  # superscripts and subscripts
    (0x20A0, 0x20CF),  # currency signs, the tenge sign among them
    (0x2100, 0x214F),  # letterlike symbols, the numero sign among them
    (0x2212, 0x2212),  # minus sign
    (0x2248, 0x2248),
    (0x2260, 0x2260),
    (0x2264, 0x2265),
)
_MONO_COMMON: Final = ((0x0020, 0x007E),)

_SANS = "DejaVu"
_MONO = "DejaVuMono"
_FONTS: Final = (
    _FontFile(_SANS, "", "DejaVuSans.ttf", _SANS_COMMON),
    _FontFile(_SANS, "B", "DejaVuSans-Bold.ttf", _SANS_COMMON),
    _FontFile(_MONO, "B", "DejaVuSansMono-Bold.ttf", _MONO_COMMON),
)
FONT_FILES: Final = tuple(font.name for font in _FONTS)


# A glyph outline as drawing operations ("M", "L", "C", "Z") with their points, in ems,
# y upwards from the baseline, x from the start of the word.
_Outline = tuple[tuple[str, tuple[float, ...]], ...]


@dataclass(frozen=True)
class _Face:
    """A font file, and a copy of it reduced to ``covers``, held in memory.

    ``marks`` are the outlines of the specimen words with their widths (in ems), for the
    face the watermark is drawn with.
    """

    spec: _FontFile
    path: Path
    reduced: bytes
    covers: frozenset[int]
    marks: tuple[tuple[_Outline, float], ...] = ()

    @property
    def fontkey(self) -> str:
        return f"{self.spec.family.lower()}{self.spec.style}"


_faces_lock = threading.Lock()
_faces_cache: dict[Path, tuple[tuple[tuple[int, int], ...], tuple[_Face, ...]]] = {}


def _signature(paths: Iterable[Path]) -> tuple[tuple[int, int], ...]:
    stats = [path.stat() for path in paths]
    return tuple((stat.st_mtime_ns, stat.st_size) for stat in stats)


def _reduce(path: Path, ranges: Iterable[tuple[int, int]]) -> tuple[bytes, frozenset[int]]:
    font = ttLib.TTFont(path, recalcTimestamp=False)
    options = ft_subset.Options(
        notdef_outline=True,
        recommended_glyphs=True,
        glyph_names=True,
        hinting=False,
        name_IDs=["*"],
        name_languages=["*"],
        layout_features=[],
    )
    # fpdf2 drops these when it embeds a font; without text shaping they are never used.
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "FFTM", "MATH", "hdmx"]
    subsetter = ft_subset.Subsetter(options)
    subsetter.populate(unicodes=[cp for first, last in ranges for cp in range(first, last + 1)])
    subsetter.subset(font)
    covers = frozenset(font.getBestCmap())
    out = io.BytesIO()
    font.save(out)
    font.close()
    return out.getvalue(), covers


class _OutlinePen(BasePen):
    """Collects a glyph's outline, shifted by ``offset`` font units, in ems."""

    def __init__(self, glyph_set: object, offset: float, units_per_em: float) -> None:
        super().__init__(glyph_set)
        self.ops: list[tuple[str, tuple[float, ...]]] = []
        self.offset = offset
        self.em = units_per_em

    def _points(self, *points: tuple[float, float]) -> tuple[float, ...]:
        return tuple(
            value for x, y in points for value in ((x + self.offset) / self.em, y / self.em)
        )

    def _moveTo(self, pt: tuple[float, float]) -> None:
        self.ops.append(("M", self._points(pt)))

    def _lineTo(self, pt: tuple[float, float]) -> None:
        self.ops.append(("L", self._points(pt)))

    def _curveToOne(
        self, pt1: tuple[float, float], pt2: tuple[float, float], pt3: tuple[float, float]
    ) -> None:
        self.ops.append(("C", self._points(pt1, pt2, pt3)))

    def _closePath(self) -> None:
        self.ops.append(("Z", ()))

    _endPath = _closePath


def _outlines(data: bytes, words: Iterable[str]) -> tuple[tuple[_Outline, float], ...]:
    """Each word's outline and width in ems, set in the font ``data`` without kerning."""
    font = ttLib.TTFont(io.BytesIO(data))
    cmap = font.getBestCmap()
    glyph_set = font.getGlyphSet()
    units_per_em = float(font["head"].unitsPerEm)
    made = []
    for word in words:
        ops: list[tuple[str, tuple[float, ...]]] = []
        advance = 0.0
        for char in word:
            name = cmap[ord(char)]
            pen = _OutlinePen(glyph_set, advance, units_per_em)
            glyph_set[name].draw(pen)
            ops += pen.ops
            advance += glyph_set[name].width
        made.append((tuple(ops), advance / units_per_em))
    font.close()
    return tuple(made)


def _faces(font_dir: Path) -> tuple[_Face, ...]:
    """The document fonts in ``font_dir``, reduced once per process and font file version."""
    paths = [font_dir / font.name for font in _FONTS]
    signature = _signature(paths)
    with _faces_lock:
        cached = _faces_cache.get(font_dir)
        if cached is not None and cached[0] == signature:
            return cached[1]
        faces = []
        for font, path in zip(_FONTS, paths, strict=True):
            reduced, covers = _reduce(path, font.common)
            marks = (
                _outlines(reduced, SPECIMEN_WORDS) if font.family == _SANS and font.style else ()
            )
            faces.append(_Face(font, path, reduced, covers, marks))
        _faces_cache[font_dir] = (signature, tuple(faces))
        return tuple(faces)


def _install(pdf: FPDF, face: _Face, text: Iterable[str]) -> None:
    """Make ``face`` available to ``pdf``: the reduced copy when it has every character of
    ``text``, else the whole file."""
    if all(ord(char) in face.covers for char in set(text) - {"\n"}):
        # FPDF.add_font only opens files; the reduced copy is in memory, so the font object
        # is made as add_font makes it. Each document gets its own: fpdf2 subsets it in place.
        font = TTFFont(pdf, io.BytesIO(face.reduced), face.fontkey, face.spec.style)  # type: ignore[arg-type]
        pdf.fonts[face.fontkey] = font
    else:
        pdf.add_font(face.spec.family, face.spec.style, face.path)


def fonts_problem() -> str | None:
    """What is wrong with the fonts in ``DOCUMENT_FONT_DIR``, or None when documents can be
    rendered: every font file present, readable, and with the Kazakh letters."""
    font_dir = Path(settings.DOCUMENT_FONT_DIR)
    missing = [name for name in FONT_FILES if not (font_dir / name).is_file()]
    if missing:
        return (
            f"The fonts for documents are missing from {font_dir}: {', '.join(missing)}. "
            "Install the DejaVu fonts (Debian: fonts-dejavu-core) or set DOCUMENT_FONT_DIR."
        )
    for font in _FONTS:
        path = font_dir / font.name
        try:
            with ttLib.TTFont(path, lazy=True) as parsed:
                cmap = parsed.getBestCmap() or {}
        except Exception as exc:  # fontTools raises many kinds of errors on a damaged file
            return f"The font {path} cannot be read: {exc}"
        if font.family != _SANS:
            continue
        lacking = [char for char in KAZAKH_LETTERS if ord(char) not in cmap]
        if lacking:
            return f"The font {path} has no glyphs for the Kazakh letters {''.join(lacking)}."
    return None


# --- QR code -----------------------------------------------------------------------------

QR_BORDER: Final = 4  # modules of quiet zone around the code
QR_SCALE: Final = 8  # pixels per module, so that viewers that smooth images keep it sharp


def qr_png(url: str) -> bytes:
    """A PNG image of the QR code (error correction M) encoding ``url``."""
    code = segno.make_qr(url, error="m", boost_error=False)
    out = io.BytesIO()
    code.save(out, kind="png", scale=QR_SCALE, border=QR_BORDER)
    return out.getvalue()


# --- Layout ------------------------------------------------------------------------------

PAGE_WIDTH: Final = 210.0
PAGE_HEIGHT: Final = 297.0
MARGIN: Final = 18.0
TOP: Final = 12.0
FOOTER_HEIGHT: Final = 50.0  # from the footer's rule to the bottom of the page
QR_SIZE: Final = 32.0
LABEL_SHARE: Final = 0.38  # of the width, for the labels of the document's lines
CELL_PAD: Final = 1.8
LINE_HEIGHT: Final = 4.9

INK: Final = (33, 33, 33)
MUTED: Final = (95, 95, 95)
ACCENT: Final = (0, 98, 122)
RULE: Final = (190, 190, 190)
LABEL_FILL: Final = (244, 246, 247)
WARNING: Final = (176, 0, 32)


@dataclass(frozen=True)
class _Row:
    label: str
    value: str
    strong: bool = False


@dataclass(frozen=True)
class _Content:
    """The text of a document in one language, ready to be laid out."""

    language: str
    phrases: Mapping[str, str]
    title: str
    agency: str
    details: tuple[_Row, ...]
    lines: tuple[_Row, ...]
    code: str
    number: str
    verify_url: str
    specimen: bool
    qr: bytes = field(repr=False)

    def sans_text(self) -> str:
        parts = [
            PLATFORM_NAME,
            self.title,
            self.agency,
            self.verify_url,
            self.number,
            "0123456789",
            SPECIMEN_MARK,
            *self.phrases.values(),
        ]
        for row in (*self.details, *self.lines):
            parts += [row.label, row.value]
        return "".join(parts)


def _pick(text: object, language: str, what: str) -> str:
    """The text in ``language``, falling back like ``TranslatedText.get``."""
    if isinstance(text, str):
        return _clean(text)
    if not isinstance(text, Mapping):
        raise ValueError(f"{what} must be text or a mapping of languages to text")
    for code in (language, *LANGUAGES):
        value = text.get(code)
        if isinstance(value, str) and value.strip():
            return _clean(value)
    return ""


def _clean(text: str) -> str:
    # Control characters have no glyphs; line breaks are kept, tabs become spaces.
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return "".join(
        char for char in text if char == "\n" or unicodedata.category(char) not in ("Cc", "Cf")
    )


def _content(spec: DocumentSpec, language: str) -> _Content:
    if language not in LANGUAGES:
        raise ValueError(f"Unknown language {language!r}: expected one of {', '.join(LANGUAGES)}")
    if spec.issued_at.tzinfo is None or spec.issued_at.utcoffset() is None:
        raise ValueError("issued_at must be timezone-aware")
    phrases = PHRASES[language]
    title = _pick(spec.title, language, "title")
    agency = _pick(spec.agency, language, "agency")
    if not title:
        raise ValueError("The document has no title")
    if not agency:
        raise ValueError("The document has no agency name")
    if spec.specimen:
        title = f"{title} — {phrases['specimen']}"
    details = [
        _Row(phrases["number"], _clean(spec.number), strong=True),
        _Row(phrases["issued"], spec.issued_at.astimezone(ALMATY).strftime("%d.%m.%Y")),
    ]
    if spec.application_number:
        details.append(_Row(phrases["application"], _clean(spec.application_number)))
    if spec.holder_name:
        details.append(_Row(phrases["holder"], _clean(spec.holder_name), strong=True))
    if spec.holder_iin:
        details.append(_Row(phrases["iin"], _clean(spec.holder_iin)))
    lines = []
    for index, line in enumerate(spec.lines):
        label = _pick(line.get("label", ""), language, f"lines[{index}].label")
        value = _pick(line.get("value", ""), language, f"lines[{index}].value")
        lines.append(_Row(label, value))
    return _Content(
        language=language,
        phrases=phrases,
        title=title,
        agency=agency,
        details=tuple(details),
        lines=tuple(lines),
        code=_clean(spec.code),
        number=_clean(spec.number),
        verify_url=_clean(spec.verify_url),
        specimen=spec.specimen,
        qr=qr_png(spec.verify_url),
    )


class _Sheet(FPDF):
    """An A4 page set with a document's header, watermark and verification footer."""

    def __init__(self, content: _Content, marks: Sequence[tuple[_Outline, float]]) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.content = content
        self.marks = marks
        self.set_margins(MARGIN, TOP, MARGIN)
        self.c_margin = 0
        self.set_auto_page_break(auto=True, margin=FOOTER_HEIGHT + 4)
        self.body_top = TOP

    @property
    def body_width(self) -> float:
        return PAGE_WIDTH - 2 * MARGIN

    def header(self) -> None:
        content = self.content
        self.set_text_color(*ACCENT)
        self.set_font(_SANS, "B", 15)
        self.set_xy(MARGIN, TOP)
        self.cell(60, 7, PLATFORM_NAME)
        agency_width = 110.0
        self.set_xy(PAGE_WIDTH - MARGIN - agency_width, TOP)
        self.set_text_color(*INK)
        self.set_font(_SANS, "B", 9)
        self.multi_cell(agency_width, 4.2, content.agency, align=Align.R)
        bottom = max(self.get_y(), TOP + 7) + 2.5
        self.set_draw_color(*ACCENT)
        self.set_line_width(0.5)
        self.line(MARGIN, bottom, PAGE_WIDTH - MARGIN, bottom)
        self.set_y(bottom + 3)
        if content.specimen:
            self.set_draw_color(*WARNING)
            self.set_text_color(*WARNING)
            self.set_font(_SANS, "B", 10)
            self.set_line_width(0.6)
            notice = f"{SPECIMEN_MARK} — {content.phrases['specimen_notice']}"
            self.set_x(MARGIN)
            self.multi_cell(self.body_width, 7, notice, border=1, align=Align.C)
            self.ln(3)
        self.set_text_color(*INK)
        self.body_top = self.get_y()

    def _watermark(self) -> None:
        """The specimen words across the page, drawn over the content as shapes: text there
        would be read into the middle of the document's lines by text extraction."""
        size = 50 / 72 * 25.4  # 50 pt, in mm
        gap = size * 1.4
        centre_x, centre_y = PAGE_WIDTH / 2, (TOP + PAGE_HEIGHT - FOOTER_HEIGHT) / 2
        cos, sin = math.cos(math.radians(40)), math.sin(math.radians(40))
        with self.new_path(paint_rule=PathPaintRule.FILL_NONZERO) as path:
            path.style.fill_color = "#{:02x}{:02x}{:02x}".format(*WARNING)
            path.style.fill_opacity = 0.14
            for index, (ops, width) in enumerate(self.marks):
                # Word coordinates: u along the baseline from the word's centre, v downwards
                # from the middle of its line; then turned about the page's centre.
                shift_v = (index - (len(self.marks) - 1) / 2) * gap + size * 0.36
                for op, values in ops:
                    points = []
                    for i in range(0, len(values), 2):
                        u = (values[i] - width / 2) * size
                        v = shift_v - values[i + 1] * size
                        points += [centre_x + u * cos + v * sin, centre_y - u * sin + v * cos]
                    if op == "M":
                        path.move_to(*points)
                    elif op == "L":
                        path.line_to(*points)
                    elif op == "C":
                        path.curve_to(*points)
                    else:
                        path.close()

    def footer(self) -> None:
        content = self.content
        if content.specimen:
            self._watermark()
        top = PAGE_HEIGHT - FOOTER_HEIGHT
        self.set_draw_color(*RULE)
        self.set_line_width(0.3)
        self.line(MARGIN, top, PAGE_WIDTH - MARGIN, top)
        self.image(io.BytesIO(content.qr), x=MARGIN - 1.5, y=top + 2, w=QR_SIZE, h=QR_SIZE)
        left = MARGIN + QR_SIZE + 3
        width = PAGE_WIDTH - MARGIN - left
        self.set_xy(left, top + 4)
        self.set_text_color(*MUTED)
        self.set_font(_SANS, "", 8)
        self.cell(width, 4, content.phrases["code"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_x(left)
        self.set_text_color(*INK)
        self.set_font(_MONO, "B", 18)
        self.cell(width, 9, content.code, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_x(left)
        self.set_text_color(*ACCENT)
        self.set_font(_SANS, "", 8)
        self.multi_cell(width, 3.8, content.verify_url, align=Align.L, link=content.verify_url)
        self.set_x(left)
        self.ln(1)
        self.set_x(left)
        self.set_text_color(*MUTED)
        self.set_font(_SANS, "", 7.5)
        self.multi_cell(width, 3.5, content.phrases["verify"], align=Align.L)
        self.set_y(PAGE_HEIGHT - 11)
        self.set_font(_SANS, "", 7.5)
        number = f"{content.phrases['number']}: {content.number}"
        self.cell(self.body_width / 2, 4, number, align=Align.L)
        page = content.phrases["page"].format(page=self.page_no(), pages=self.str_alias_nb_pages)
        self.cell(self.body_width / 2, 4, page, align=Align.R)

    def body(self) -> None:
        content = self.content
        self.add_page()
        self.ln(4)
        self.set_text_color(*INK)
        self.set_font(_SANS, "B", 16)
        self.multi_cell(self.body_width, 7.5, content.title, align=Align.C)
        self.ln(6)
        label_width = 48.0
        for row in content.details:
            self._row(row, label_width, boxed=False)
        if content.lines:
            self.ln(5)
            label_width = round(self.body_width * LABEL_SHARE, 1)
            for row in content.lines:
                self._row(row, label_width, boxed=True)

    def _wrap(self, text: str, width: float, style: str, size: float) -> list[str]:
        self.set_font(_SANS, style, size)
        lines = self.multi_cell(
            width,
            LINE_HEIGHT,
            text,
            align=Align.L,
            dry_run=True,
            output=MethodReturnValue.LINES,
        )
        if not isinstance(lines, list):  # only with other ``output`` flags
            raise TypeError("multi_cell did not return lines")
        return lines or [""]

    def _row(self, row: _Row, label_width: float, *, boxed: bool) -> None:
        """One label and its value, wrapped; a row longer than a page continues on the next."""
        pad = CELL_PAD if boxed else 0.8
        value_width = self.body_width - label_width
        value_style = "B" if row.strong else ""
        labels = self._wrap(row.label, label_width - 2 * pad, "", 9)
        values = self._wrap(row.value, value_width - 2 * pad, value_style, 10)
        while True:
            needed = max(len(labels), len(values), 1)
            room = int((self.page_break_trigger - self.get_y() - 2 * pad) // LINE_HEIGHT)
            if needed <= room:
                self._draw_row(labels, values, label_width, value_style, pad, boxed=boxed)
                return
            page_rows = int((self.page_break_trigger - self.body_top - 2 * pad) // LINE_HEIGHT)
            at_top = self.get_y() <= self.body_top + 0.01
            if at_top or (room >= 2 and needed > page_rows):
                # Taller than a page: as much as fits here, the rest on the next page.
                take = max(room, 1)
                self._draw_row(
                    labels[:take], values[:take], label_width, value_style, pad, boxed=boxed
                )
                labels, values = labels[take:], values[take:]
                if not labels and not values:
                    return
            self.add_page()

    def _draw_row(
        self,
        labels: Sequence[str],
        values: Sequence[str],
        label_width: float,
        value_style: str,
        pad: float,
        *,
        boxed: bool,
    ) -> None:
        x, y = MARGIN, self.get_y()
        height = max(len(labels), len(values), 1) * LINE_HEIGHT + 2 * pad
        if boxed:
            self.set_draw_color(*RULE)
            self.set_fill_color(*LABEL_FILL)
            self.set_line_width(0.2)
            self.rect(x, y, label_width, height, style="DF")
            self.rect(x + label_width, y, self.body_width - label_width, height, style="D")
        self.set_text_color(*MUTED)
        self.set_font(_SANS, "", 9)
        for index, text in enumerate(labels):
            self.set_xy(x + pad, y + pad + index * LINE_HEIGHT)
            self.cell(label_width - 2 * pad, LINE_HEIGHT, text)
        self.set_text_color(*INK)
        self.set_font(_SANS, value_style, 10)
        value_x = x + label_width + pad
        for index, text in enumerate(values):
            self.set_xy(value_x, y + pad + index * LINE_HEIGHT)
            self.cell(self.body_width - label_width - 2 * pad, LINE_HEIGHT, text)
        self.set_xy(x, y + height)


def render_pdf(spec: DocumentSpec, language: str) -> bytes:
    """The document as an A4 PDF in ``language`` ("kk", "ru" or "en").

    Raises ``ValueError`` for an unknown language, a naive ``issued_at``, or a document
    without a title or agency name. The same spec and language give the same bytes.
    """
    content = _content(spec, language)
    faces = _faces(Path(settings.DOCUMENT_FONT_DIR))
    pdf = _Sheet(content, next(face.marks for face in faces if face.marks))
    sans_text = content.sans_text()
    for face in faces:
        _install(pdf, face, content.code if face.spec.family == _MONO else sans_text)
    kind = KIND_NAMES.get(spec.kind, KIND_NAMES[""])[language]
    pdf.set_title(content.title)
    pdf.set_subject(content.phrases["subject"].format(kind=kind, number=content.number))
    pdf.set_author(content.agency)
    pdf.set_creator(PLATFORM_NAME)
    pdf.set_lang(language)
    pdf.set_creation_date(spec.issued_at)
    pdf.viewer_preferences = ViewerPreferences(display_doc_title=True)
    pdf.body()
    return bytes(pdf.output())
