"""Malware scanners: the setting, the fake scanner, and clamd's INSTREAM over real sockets."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from shanyraq.core import scanning
from shanyraq.core.scanning import (
    CHUNK,
    EICAR,
    ClamdScanner,
    FakeScanner,
    ScannerUnavailable,
    Verdict,
    scanner_from,
)
from shanyraq.testing.clamd import FakeClamd


def a_file(tmp_path: Path, content: bytes, name: str = "file.bin") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_the_setting_names_the_scanner() -> None:
    assert scanner_from("") is None and scanner_from("  ") is None
    assert isinstance(scanner_from("fake"), FakeScanner)
    tcp = scanner_from("clamd://127.0.0.1:3310")
    assert isinstance(tcp, ClamdScanner) and tcp.address == ("127.0.0.1", 3310)
    default_port = scanner_from("clamd://clamav.internal")
    assert isinstance(default_port, ClamdScanner) and default_port.address == (
        "clamav.internal",
        3310,
    )
    unix = scanner_from("clamd:///run/clamav/clamd.ctl")
    assert isinstance(unix, ClamdScanner) and unix.address == "/run/clamav/clamd.ctl"
    for wrong in ("clamav://x", "yes", "clamd://"):
        with pytest.raises(ImproperlyConfigured):
            scanner_from(wrong)


def test_the_settings_scanner(settings) -> None:
    settings.ATTACHMENT_SCANNER = "fake"
    assert isinstance(scanning.attachment_scanner(), FakeScanner)
    settings.ATTACHMENT_SCANNER = ""
    assert scanning.attachment_scanner() is None


def test_the_fake_scanner_finds_the_test_file_anywhere(tmp_path: Path) -> None:
    fake = FakeScanner()
    assert fake.scan(a_file(tmp_path, b"%PDF-1.4 harmless")) == Verdict(clean=True)
    assert not fake.scan(a_file(tmp_path, EICAR)).clean
    # Split between two chunks of the read.
    split = b"%PDF-1.4" + b"x" * (CHUNK - 8 - 10) + EICAR + b"tail"
    assert fake.scan(a_file(tmp_path, split)) == Verdict(False, "Eicar-Test-Signature")


def test_clamd_gets_the_whole_file_and_its_answer_is_read(tmp_path: Path) -> None:
    content = bytes(range(256)) * (3 * CHUNK // 256 + 7)  # several chunks and a part
    with FakeClamd() as clamd:
        scanner = scanner_from(clamd.setting)
        assert scanner is not None
        assert scanner.scan(a_file(tmp_path, content)) == Verdict(clean=True)
        infected = scanner.scan(a_file(tmp_path, b"%PDF-1.4\n" + EICAR, "bad.pdf"))
    assert infected == Verdict(clean=False, threat="Eicar-Signature")
    assert clamd.commands == [b"zINSTREAM\0", b"zINSTREAM\0"]
    assert clamd.received[0] == content


def test_clamd_over_a_unix_socket(tmp_path: Path) -> None:
    with FakeClamd(unix_path=tmp_path / "clamd.ctl") as clamd:
        scanner = scanner_from(clamd.setting)
        assert scanner is not None
        assert not scanner.scan(a_file(tmp_path, EICAR)).clean


@pytest.mark.parametrize(
    "answer", ["INSTREAM size limit exceeded. ERROR", "stream: Can't allocate memory ERROR"]
)
def test_a_clamd_error_is_no_answer(tmp_path: Path, answer: str) -> None:
    with FakeClamd(answer=answer) as clamd:
        scanner = scanner_from(clamd.setting)
        assert scanner is not None
        with pytest.raises(ScannerUnavailable, match="ERROR"):
            scanner.scan(a_file(tmp_path, b"data"))


def test_a_clamd_that_does_not_answer_in_time_is_no_answer(tmp_path: Path) -> None:
    with FakeClamd(answer="") as clamd:
        address = ClamdScanner(("127.0.0.1", int(clamd.setting.rsplit(":", 1)[1])), timeout=0.5)
        with pytest.raises(ScannerUnavailable):
            address.scan(a_file(tmp_path, b"data"))


def test_no_clamd_is_no_answer(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ScannerUnavailable):
        ClamdScanner(("127.0.0.1", port), timeout=2).scan(a_file(tmp_path, b"data"))
    with pytest.raises(ScannerUnavailable):
        ClamdScanner(str(tmp_path / "missing.ctl")).scan(a_file(tmp_path, b"data"))
