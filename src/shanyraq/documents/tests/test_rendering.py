"""Rendering of issued documents as PDF files, read back with poppler's tools."""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import segno
from fontTools import subset as ft_subset
from fontTools import ttLib
from PIL import Image
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from shanyraq.documents.rendering import DocumentSpec, fonts_problem, qr_png, render_pdf

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
NUMBER = "D2026-0000042"
CODE = "7KQ4-MX2P"
IIN = "900101400123"
URL = f"http://127.0.0.1:8000/verify/?number={NUMBER}&code={CODE}"
KAZAKH_VALUE = "Өскемен, Ұлытау, Әуезов, Ғылым, Қаңқа, Үшқоңыр, Һ-блок, Іле, әғқңөұүһі"
HOLDER = "Әлібек Ғалымұлы Құрманғазиев"
PAGE_WIDTH_PT = 595.28
MARGIN_PT = 18 / 25.4 * 72
FOOTER_TOP_PT = (297 - 50) / 25.4 * 72

EXPECTED = {
    "kk": {
        "title": "Тұрғылықты жері бойынша тіркелгені туралы анықтама",
        "agency": "Қазақстан Республикасы Әділет министрлігі",
        "labels": {
            "number": "Нөмірі",
            "issued": "Берілген күні",
            "application": "Өтініш",
            "holder": "Иесі",
            "iin": "ЖСН",
            "code": "Тексеру коды",
            "address": "Мекенжайы",
        },
        "value": "Алматы қаласы, Әуезов ауданы",
        "verify": (
            "Бұл құжат электрондық цифрлық қолтаңбамен қол қойылған. Оның түпнұсқалығын "
            "көрсетілген мекенжай бойынша немесе тексеру коды арқылы тексеруге болады."
        ),
        "page": "1 беттің 1-беті",
        "specimen": "ҮЛГІ",
        "subject": f"Анықтама № {NUMBER}",
    },
    "ru": {
        "title": "Справка о регистрации по месту жительства",
        "agency": "Министерство юстиции Республики Казахстан",
        "labels": {
            "number": "Номер",
            "issued": "Дата выдачи",
            "application": "Заявление",
            "holder": "Владелец",
            "iin": "ИИН",
            "code": "Код проверки",
            "address": "Адрес",
        },
        "value": "г. Алматы, Ауэзовский район",
        "verify": (
            "Документ подписан электронной цифровой подписью. Его подлинность можно "
            "проверить по указанному адресу или по коду проверки."
        ),
        "page": "Страница 1 из 1",
        "specimen": "ОБРАЗЕЦ",
        "subject": f"Справка № {NUMBER}",
    },
    "en": {
        "title": "Certificate of registered residence",
        "agency": "Ministry of Justice of the Republic of Kazakhstan",
        "labels": {
            "number": "Number",
            "issued": "Date of issue",
            "application": "Application",
            "holder": "Holder",
            "iin": "IIN",
            "code": "Verification code",
            "address": "Address",
        },
        "value": "Auezov District, Almaty",
        "verify": (
            "This document is signed with an electronic digital signature. Its authenticity "
            "can be verified at the address shown or with the verification code."
        ),
        "page": "Page 1 of 1",
        "specimen": "SPECIMEN",
        "subject": f"Certificate No. {NUMBER}",
    },
}


def make_spec(**changes: object) -> DocumentSpec:
    spec = DocumentSpec(
        number=NUMBER,
        code=CODE,
        kind="certificate",
        title={lang: EXPECTED[lang]["title"] for lang in EXPECTED},
        agency={lang: EXPECTED[lang]["agency"] for lang in EXPECTED},
        holder_name=HOLDER,
        holder_iin=IIN,
        issued_at=datetime(2026, 3, 5, 20, 30, tzinfo=UTC),
        lines=[
            {
                "label": {"kk": "Мекенжайы", "ru": "Адрес", "en": "Address"},
                "value": {lang: EXPECTED[lang]["value"] for lang in EXPECTED},
            },
            {
                "label": {"kk": "Ескерту", "ru": "Примечание", "en": "Note"},
                "value": KAZAKH_VALUE,
            },
        ],
        verify_url=URL,
        application_number="A2026-0000007",
    )
    return dataclasses.replace(spec, **changes)


def run(*args: str | Path) -> str:
    return subprocess.run(
        [str(arg) for arg in args], check=True, capture_output=True, text=True
    ).stdout


def write(pdf: bytes, tmp_path: Path, name: str = "document.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(pdf)
    return path


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    return run("pdftotext", "-layout", write(pdf, tmp_path), "-")


def flat(text: str) -> str:
    return " ".join(text.split())


def pdf_info(pdf: bytes, tmp_path: Path) -> dict[str, str]:
    out = run("pdfinfo", write(pdf, tmp_path, "info.pdf"))
    return {
        key.strip(): value.strip()
        for key, value in (line.split(":", 1) for line in out.splitlines() if ":" in line)
    }


def words_with_boxes(pdf: bytes, tmp_path: Path) -> list[tuple[int, str, float, float]]:
    """(page, word, xMax, yMax) of every word, in points from the top left of its page."""
    html = run("pdftotext", "-bbox", write(pdf, tmp_path, "bbox.pdf"), "-")
    word = re.compile(
        r'<word xMin="[\d.]+" yMin="[\d.]+" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>'
    )
    return [
        (page, text, float(x_max), float(y_max))
        for page, body in enumerate(html.split("<page ")[1:], start=1)
        for x_max, y_max, text in word.findall(body)
    ]


def qr_modules(image: Image.Image, size: int, border: int = 4) -> list[list[bool]]:
    """The dark modules of a QR code image with a quiet zone of ``border`` modules."""
    gray = image.convert("L")
    step = gray.width / (size + 2 * border)
    assert gray.width == gray.height
    return [
        [
            gray.getpixel((int((border + col + 0.5) * step), int((border + row + 0.5) * step)))
            < 128
            for col in range(size)
        ]
        for row in range(size)
    ]


def segno_modules(url: str) -> list[list[bool]]:
    code = segno.make_qr(url, error="m", boost_error=False)
    assert code.error == "M"
    return [[bool(bit) for bit in row] for row in code.matrix]


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_text_in_each_language(language: str, tmp_path: Path) -> None:
    expected = EXPECTED[language]
    text = pdf_text(render_pdf(make_spec(), language), tmp_path)

    labels = expected["labels"]
    assert expected["title"] in flat(text)
    assert re.search(r"^Shanyraq\n", text, re.MULTILINE)
    assert re.search(rf"^\s+{expected['agency']}\n", text, re.MULTILINE)
    rows = {
        "number": NUMBER,
        "issued": "06.03.2026",  # 20:30 UTC on the 5th is 01:30 on the 6th in Almaty
        "application": "A2026-0000007",
        "holder": HOLDER,
        "iin": IIN,
        "address": expected["value"],
    }
    for key, value in rows.items():
        assert re.search(rf"^\s*{labels[key]}\s+{re.escape(value)}\n", text, re.MULTILINE), key
    assert KAZAKH_VALUE in flat(text)
    assert re.search(rf"^\s+{labels['code']}\n+\s+{CODE}\n", text, re.MULTILINE)
    assert re.search(rf"^\s+{re.escape(URL)}\n", text, re.MULTILINE)
    assert expected["verify"] in flat(text)
    assert expected["page"] in text
    for other in set(EXPECTED) - {language}:
        assert EXPECTED[other]["title"] not in flat(text)
        assert EXPECTED[other]["verify"] not in flat(text)


def test_kazakh_capitals_and_small_letters_extract_intact(tmp_path: Path) -> None:
    letters = "Әә Ғғ Ққ Ңң Өө Ұұ Үү Һһ Іі"
    spec = make_spec(
        lines=[{"label": {"kk": "Әріптер", "ru": "Буквы", "en": "Letters"}, "value": letters}]
    )

    text = pdf_text(render_pdf(spec, "en"), tmp_path)

    assert re.search(rf"Letters\s+{letters}\n", text)


@pytest.mark.parametrize(
    ("issued_at", "shown"),
    [
        (datetime(2026, 3, 5, 18, 59, tzinfo=UTC), "05.03.2026"),
        (datetime(2026, 3, 5, 19, 0, tzinfo=UTC), "06.03.2026"),
        (datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=6))), "31.12.2025"),
    ],
)
def test_date_of_issue_is_the_date_in_almaty(
    issued_at: datetime, shown: str, tmp_path: Path
) -> None:
    text = pdf_text(render_pdf(make_spec(issued_at=issued_at), "ru"), tmp_path)

    assert re.search(rf"Дата выдачи\s+{shown}\n", text)


def test_naive_issue_time_is_refused() -> None:
    with pytest.raises(ValueError, match="issued_at must be timezone-aware"):
        render_pdf(make_spec(issued_at=datetime(2026, 3, 5, 12, 0)), "kk")


@pytest.mark.parametrize("language", ["de", "kz", "", "RU", "en-us"])
def test_unknown_language_is_refused(language: str) -> None:
    with pytest.raises(ValueError, match="Unknown language"):
        render_pdf(make_spec(), language)


def test_missing_language_falls_back_like_translated_text(tmp_path: Path) -> None:
    spec = make_spec(
        title={"kk": "", "ru": "Выписка из реестра", "en": "Extract from the register"},
        lines=[
            {
                "label": {"ru": "Статус", "en": "Status"},
                "value": {"kk": "Белсенді", "ru": "Действует"},
            }
        ],
    )

    text = pdf_text(render_pdf(spec, "kk"), tmp_path)

    assert "Выписка из реестра" in text
    assert re.search(r"Статус\s+Белсенді\n", text)


def test_document_without_a_title_is_refused() -> None:
    with pytest.raises(ValueError, match="no title"):
        render_pdf(make_spec(title={"kk": " ", "ru": "", "en": ""}), "ru")


def test_holder_and_application_rows_only_when_given(tmp_path: Path) -> None:
    text = pdf_text(
        render_pdf(make_spec(holder_name="", holder_iin="", application_number=""), "en"),
        tmp_path,
    )

    assert not re.search(r"^\s*(Holder|IIN|Application)\s", text, re.MULTILINE)
    assert re.search(r"^\s*Number\s+D2026-0000042\n", text, re.MULTILINE)


def test_fonts_are_embedded_dejavu_subsets(tmp_path: Path) -> None:
    out = run("pdffonts", write(render_pdf(make_spec(), "kk"), tmp_path))

    rows = [line.split() for line in out.splitlines()[2:]]
    assert [row[0] for row in rows] == [
        "MPDFAA+DejaVuSansBook",
        "MPDFAA+DejaVuSansBold",
        "MPDFAA+DejaVuSansMonoBold",
    ]
    for row in rows:
        # type "CID TrueType", encoding "Identity-H", then emb, sub, uni
        assert row[1:7] == ["CID", "TrueType", "Identity-H", "yes", "yes", "yes"], row


def test_text_outside_the_common_letters_is_set_with_the_whole_font(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    greek = "Σωκράτης Παπαδόπουλος"
    spec = make_spec(lines=[{"label": {"kk": "Аты", "ru": "Имя", "en": "Name"}, "value": greek}])

    with caplog.at_level("WARNING"):
        pdf = render_pdf(spec, "en")

    assert re.search(rf"Name\s+{greek}\n", pdf_text(pdf, tmp_path))
    assert "missing" not in caplog.text


def test_one_qr_image_of_the_verification_address(tmp_path: Path) -> None:
    path = write(render_pdf(make_spec(), "ru"), tmp_path)

    listing = run("pdfimages", "-list", path).splitlines()[2:]
    assert len(listing) == 1
    assert listing[0].split()[:3] == ["1", "0", "image"]
    run("pdfimages", "-png", path, tmp_path / "img")
    (extracted,) = sorted(tmp_path.glob("img-*.png"))
    expected = segno_modules(URL)
    with Image.open(extracted) as image:
        assert qr_modules(image, len(expected)) == expected


def test_qr_png_is_the_qr_code_of_the_url() -> None:
    url = "https://shanyraq.example.kz/verify/?number=D2026-0000999&code=ABCD-EFGH"
    expected = segno_modules(url)

    with Image.open(io.BytesIO(qr_png(url))) as image:
        assert image.format == "PNG"
        assert qr_modules(image, len(expected)) == expected
        assert qr_modules(image, len(expected)) != segno_modules(url.replace("999", "998"))


def test_qr_is_made_for_each_document(tmp_path: Path) -> None:
    other_url = URL.replace("0000042", "0000043")
    path = write(render_pdf(make_spec(verify_url=other_url), "en"), tmp_path)

    run("pdfimages", "-png", path, tmp_path / "img")
    expected = segno_modules(other_url)
    with Image.open(tmp_path / "img-000.png") as image:
        assert qr_modules(image, len(expected)) == expected
    assert other_url in pdf_text(path.read_bytes(), tmp_path)


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_specimen_is_marked_on_every_page(language: str, tmp_path: Path) -> None:
    long_value = " ".join(f"word{i:03d}" for i in range(900))
    spec = make_spec(
        specimen=True,
        lines=[{"label": {"kk": "Мәтін", "ru": "Текст", "en": "Text"}, "value": long_value}],
    )
    pdf = render_pdf(spec, language)
    path = write(pdf, tmp_path)

    pages = run("pdftotext", "-layout", path, "-").split("\f")[:-1]
    assert len(pages) >= 2
    for page in pages:
        assert "SPECIMEN / ҮЛГІ / ОБРАЗЕЦ" in page
    title = f"{EXPECTED[language]['title']} — {EXPECTED[language]['specimen']}"
    assert title in flat(pages[0])
    assert pdf_info(pdf, tmp_path)["Title"] == title
    # The diagonal mark is drawn in red over the middle of each page.
    run("pdftoppm", "-r", "20", "-png", path, tmp_path / "page")
    for picture in sorted(tmp_path.glob("page-*.png")):
        with Image.open(picture) as image:
            rgb = image.convert("RGB")
            middle = rgb.crop(
                (rgb.width // 4, rgb.height // 3, 3 * rgb.width // 4, rgb.height // 2)
            )
            reddish = sum(1 for r, g, b in middle.get_flattened_data() if r - g > 12 and r - b > 12)
            assert reddish > 50, picture


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_real_document_has_no_specimen_mark(language: str, tmp_path: Path) -> None:
    pdf = render_pdf(make_spec(), language)
    text = pdf_text(pdf, tmp_path)

    for word in ("SPECIMEN", "ҮЛГІ", "ОБРАЗЕЦ"):
        assert word not in text
    assert pdf_info(pdf, tmp_path)["Title"] == EXPECTED[language]["title"]
    run("pdftoppm", "-r", "20", "-png", write(pdf, tmp_path, "real.pdf"), tmp_path / "page")
    with Image.open(tmp_path / "page-1.png") as image:
        reddish = sum(
            1 for r, g, b in image.convert("RGB").get_flattened_data() if r - g > 12 and r - b > 12
        )
    assert reddish == 0


def test_long_values_wrap_within_the_page_and_continue_on_the_next(tmp_path: Path) -> None:
    words = [f"сөз{i:04d}" for i in range(1200)]
    token = "0123456789abcdef" * 12
    spec = make_spec(
        lines=[
            {
                "label": {"kk": "Ұзын мәтін", "ru": "Длинный текст", "en": "Long text"},
                "value": " ".join(words),
            },
            {"label": {"kk": "Хэш", "ru": "Хэш", "en": "Hash"}, "value": token},
        ]
    )
    pdf = render_pdf(spec, "en")

    boxes = words_with_boxes(pdf, tmp_path)
    body = [box for box in boxes if box[1].startswith("сөз")]
    assert [box[1] for box in body] == words
    page_count = int(pdf_info(pdf, tmp_path)["Pages"])
    assert page_count >= 3
    assert {box[0] for box in body} == set(range(1, page_count + 1))
    for page, text, x_max, y_max in body:
        assert x_max <= PAGE_WIDTH_PT - MARGIN_PT, (page, text, x_max)
        assert y_max <= FOOTER_TOP_PT, (page, text, y_max)
    # A word wider than the column is broken into pieces that each fit.
    pieces = [box for box in boxes if re.fullmatch(r"(?=.*[a-f])[0-9a-f]{8,}", box[1])]
    assert "".join(box[1] for box in pieces) == token
    assert len(pieces) >= 2
    for page, text, x_max, y_max in pieces:
        assert x_max <= PAGE_WIDTH_PT - MARGIN_PT, (page, text, x_max)
        assert y_max <= FOOTER_TOP_PT, (page, text, y_max)
    text = pdf_text(pdf, tmp_path)
    for page in range(1, page_count + 1):
        assert f"Page {page} of {page_count}" in text
    assert text.count("Verification code") == page_count


def test_metadata(tmp_path: Path) -> None:
    pdf = render_pdf(make_spec(), "ru")

    info = pdf_info(pdf, tmp_path)

    assert info["Title"] == EXPECTED["ru"]["title"]
    assert info["Subject"] == EXPECTED["ru"]["subject"]
    assert info["Author"] == EXPECTED["ru"]["agency"]
    assert info["Creator"] == "Shanyraq"
    assert info["Encrypted"] == "no"
    assert info["Pages"] == "1"
    assert info["Page size"] == "595.28 x 841.89 pts (A4)"
    assert info["PDF version"] == "1.4"
    assert b"/Lang (ru)" in pdf
    assert pdf.startswith(b"%PDF-1.4")


@pytest.mark.parametrize(
    ("kind", "subject"),
    [
        ("extract", "Үзінді № D2026-0000042"),
        ("decision", "Шешім № D2026-0000042"),
        ("other", "Құжат № D2026-0000042"),
    ],
)
def test_subject_names_the_kind_and_number(kind: str, subject: str, tmp_path: Path) -> None:
    assert pdf_info(render_pdf(make_spec(kind=kind), "kk"), tmp_path)["Subject"] == subject


def test_same_spec_gives_the_same_bytes() -> None:
    assert render_pdf(make_spec(), "kk") == render_pdf(make_spec(), "kk")
    assert render_pdf(make_spec(), "kk") != render_pdf(make_spec(code="7KQ4-MX2Q"), "kk")


def test_pyhanko_opens_it_for_an_incremental_update() -> None:
    pdf = render_pdf(make_spec(), "en")

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=True)
    assert writer.root["/Pages"]["/Count"] == 1
    assert writer.prev.encrypted is False
    out = io.BytesIO()
    writer.write(out)
    assert out.getvalue().startswith(pdf)


def test_fonts_problem_is_none_with_the_dejavu_fonts(settings: Any) -> None:
    settings.DOCUMENT_FONT_DIR = DEJAVU

    assert fonts_problem() is None


def test_fonts_problem_names_the_missing_files(settings: Any, tmp_path: Path) -> None:
    settings.DOCUMENT_FONT_DIR = tmp_path

    problem = fonts_problem()

    assert problem == (
        f"The fonts for documents are missing from {tmp_path}: DejaVuSans.ttf, "
        "DejaVuSans-Bold.ttf, DejaVuSansMono-Bold.ttf. Install the DejaVu fonts "
        "(Debian: fonts-dejavu-core) or set DOCUMENT_FONT_DIR."
    )


def test_fonts_problem_reports_a_damaged_file(settings: Any, tmp_path: Path) -> None:
    for name in ("DejaVuSans-Bold.ttf", "DejaVuSansMono-Bold.ttf"):
        shutil.copy(DEJAVU / name, tmp_path / name)
    (tmp_path / "DejaVuSans.ttf").write_bytes(b"not a font")
    settings.DOCUMENT_FONT_DIR = tmp_path

    problem = fonts_problem()

    assert problem is not None
    assert problem.startswith(f"The font {tmp_path / 'DejaVuSans.ttf'} cannot be read")


def test_fonts_problem_reports_fonts_without_kazakh_letters(settings: Any, tmp_path: Path) -> None:
    for name in ("DejaVuSans.ttf", "DejaVuSansMono-Bold.ttf"):
        shutil.copy(DEJAVU / name, tmp_path / name)
    font = ttLib.TTFont(DEJAVU / "DejaVuSans-Bold.ttf")
    subsetter = ft_subset.Subsetter(ft_subset.Options())
    subsetter.populate(unicodes=range(0x20, 0x7F))
    subsetter.subset(font)
    font.save(tmp_path / "DejaVuSans-Bold.ttf")
    settings.DOCUMENT_FONT_DIR = tmp_path

    assert fonts_problem() == (
        f"The font {tmp_path / 'DejaVuSans-Bold.ttf'} has no glyphs for the Kazakh letters "
        "ӘҒҚҢӨҰҮҺІәғқңөұүһі."
    )


def test_rendering_follows_the_font_directory_setting(settings: Any, tmp_path: Path) -> None:
    settings.DOCUMENT_FONT_DIR = tmp_path

    with pytest.raises(FileNotFoundError):
        render_pdf(make_spec(), "en")
