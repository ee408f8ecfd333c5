"""The loader registry: the contract every loader keeps, detection order, and one registry
from which every list of supported extensions comes (a new loader shows up everywhere)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.documents import UPLOAD_FILE_DESCRIPTION, safe_file_name
from assistant.errors import DocumentError, InvalidFileNameError
from assistant.ingest.fetch import FetchError, check_content
from assistant.ingest.loaders import (
    SUPPORTED_EXTENSIONS,
    Draft,
    DraftLoader,
    Loader,
    LoaderRegistry,
    Precedence,
    Sample,
    builtin_loaders,
    decode_text,
    default_registry,
    detect_kind,
    load_bytes,
    supported_extensions,
)
from assistant.schemas import Block
from assistant.services import build_services
from tests.conftest import fake_settings
from tests.ingest.test_loaders import make_docx, sample_pdf

# One readable file per built-in format.
SAMPLES: dict[str, bytes] = {
    "markdown": b"# Discharge\n\nPatients go home with a named contact for the first week.\n",
    "text": b"Discharge\n\nPatients go home with a named contact for the first week.\n",
    "html": b"<html><body><h1>Discharge</h1><p>Patients go home with a contact.</p></body></html>",
    "pdf": sample_pdf(),
    "docx": make_docx(),
}


class CsvLoader(DraftLoader):
    """A format the assistant does not read: each row of a CSV file as a table line."""

    kind = "csv"
    extensions: tuple[str, ...] = (".csv", ".tsv")

    def parse(self, data: bytes, file_name: str) -> Draft:
        rows = [" | ".join(line.split(",")) for line in decode_text(data).splitlines() if line]
        return Draft(blocks=[Block(kind="table", text="\n".join(rows))], title="From CSV")


class StampLoader(DraftLoader):
    """A binary format with a signature ("STAMP1"): read even behind another extension."""

    kind = "stamp"
    extensions = (".stamp",)
    precedence = Precedence.BINARY

    def sniff(self, sample: Sample) -> bool:
        return sample.data.startswith(b"STAMP1")

    def parse(self, data: bytes, file_name: str) -> Draft:
        return Draft(blocks=[Block(kind="paragraph", text=data[6:].decode().strip())])


@pytest.fixture
def csv_registered() -> Iterator[CsvLoader]:
    """CsvLoader in the default registry for one test."""
    loader = default_registry.register(CsvLoader())
    try:
        yield loader
    finally:
        default_registry.unregister("csv")


# --------------------------------------------------------------------------------------------
# The contract every built-in loader keeps


@pytest.mark.parametrize("loader", builtin_loaders(), ids=lambda loader: loader.kind)
class TestLoaderContract:
    def test_implements_the_protocol_with_dotted_lower_case_extensions(self, loader) -> None:
        assert isinstance(loader, Loader)
        assert loader.extensions and all(
            e.startswith(".") and e == e.lower() for e in loader.extensions
        )

    def test_a_file_named_with_each_extension_is_detected_and_loaded(self, loader) -> None:
        for ext in loader.extensions:
            name = f"sample{ext.upper() if ext == '.md' else ext}"  # case does not matter
            assert detect_kind(SAMPLES[loader.kind], name) == loader.kind
            doc = loader.load(SAMPLES[loader.kind], name, "sample", {"licence": "OGL"})
            assert doc.meta.file_name == name and doc.meta.licence == "OGL"
            assert any(b.kind != "heading" and b.text for b in doc.blocks)

    def test_sniff_never_claims_the_plain_text_sample(self, loader) -> None:
        assert not loader.sniff(Sample(SAMPLES["text"], ".txt"))


# --------------------------------------------------------------------------------------------
# The registry itself


def test_the_built_in_lists_are_the_documented_ones() -> None:
    assert supported_extensions() == SUPPORTED_EXTENSIONS
    assert supported_extensions() == (".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx")
    assert default_registry.describe() == ".md .txt .html .pdf .docx"
    assert default_registry.describe(last=" or ") == ".md .txt .html .pdf or .docx"
    assert default_registry.text_extensions() == (".md", ".markdown", ".txt", ".html", ".htm")
    assert default_registry.parser_modules() == ["pypdf", "docx", "bs4"]


def test_detection_asks_binary_formats_first_then_markup_then_plain_text() -> None:
    order = [loader.kind for loader in default_registry.detection_order()]
    assert order == ["pdf", "docx", "html", "markdown", "text"]


@pytest.mark.parametrize(
    ("kind", "extensions", "message"),
    [
        ("csv", (".csv", ".md"), "already read by the markdown loader"),
        ("csv", ("csv",), "start with a dot"),
        ("csv", (".CSV",), "lower-case"),
        ("csv", (), "names no extension"),
        ("markdown", (".csv",), "unique kind"),
    ],
)
def test_register_refuses_a_taken_kind_or_extension_and_malformed_extensions(
    kind: str, extensions: tuple[str, ...], message: str
) -> None:
    loader = CsvLoader()
    loader.kind, loader.extensions = kind, extensions
    registry = LoaderRegistry(builtin_loaders())
    with pytest.raises(ValueError, match=message):
        registry.register(loader)
    assert registry.extensions() == supported_extensions()  # nothing half-registered


def test_register_refuses_what_is_not_a_loader() -> None:
    with pytest.raises(TypeError, match="Loader protocol"):
        LoaderRegistry().register(object())  # type: ignore[type-var]


def test_a_binary_format_is_read_behind_a_text_extension_and_refuses_nothing_else() -> None:
    registry = LoaderRegistry([*builtin_loaders(), StampLoader()])
    assert registry.detect(b"STAMP1 beds", "ward.txt").kind == "stamp"
    assert registry.load_bytes(b"STAMP1 beds", "ward.txt", "w").blocks[0].text == "beds"
    assert registry.detect(b"%PDF-1.7", "odd.stamp").kind == "pdf"  # PDF registered first
    assert registry.detect(b"Ward beds", "ward.txt").kind == "text"


# --------------------------------------------------------------------------------------------
# A new loader, registered, appears in every list and is used for its files


def test_a_registered_loader_is_in_every_extension_list(csv_registered: CsvLoader) -> None:
    assert supported_extensions()[-2:] == (".csv", ".tsv")
    assert default_registry.describe() == ".md .txt .html .pdf .docx .csv"
    assert ".tsv" in default_registry.text_extensions()  # the download check decodes it
    with pytest.raises(DocumentError, match=r"use one of .*\.docx, \.csv, \.tsv$"):
        detect_kind(b"data", "beds.xlsx")
    with pytest.raises(InvalidFileNameError) as refused:
        safe_file_name("no-extension")
    assert str(refused.value).endswith("(.md .txt .html .pdf .docx .csv)")


def test_a_registered_loader_reads_its_files(csv_registered: CsvLoader, tmp_path: Path) -> None:
    assert detect_kind(b"ward,beds\nA,12\n", "beds.CSV") == "csv"
    doc = load_bytes(b"ward,beds\nA,12\n", "beds.tsv", "beds")
    assert doc.meta.title == "From CSV"
    assert [(b.kind, b.text) for b in doc.blocks] == [("table", "ward | beds\nA | 12")]

    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"ward,beds\n\xe9,12\n")
    with pytest.raises(FetchError, match="not text: not UTF-8"):
        check_content(bad, bad.name)


def test_the_pipeline_indexes_files_of_a_registered_format(
    csv_registered: CsvLoader, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "beds.csv").write_text("ward,beds\nRiverside,12\nHillcrest,30\n", encoding="utf-8")
    (corpus / "beds.xlsx").write_bytes(b"not read")
    services = build_services(fake_settings(tmp_path / "data", chroma__backend="memory"))
    # A loader registered at run time lives in this process: parse here, not in a child.
    services.ingestor.isolate_parsing = False
    report = services.ingest([corpus])
    outcomes = {Path(f.path).name: f for f in report.files}
    assert outcomes["beds.csv"].status == "indexed" and outcomes["beds.csv"].chunks >= 1
    assert outcomes["beds.xlsx"].status == "failed"
    assert outcomes["beds.xlsx"].reason is not None and ".csv, " in outcomes["beds.xlsx"].reason


# --------------------------------------------------------------------------------------------
# Help texts and API documentation come from the registry


def test_the_cli_ingest_help_lists_the_registered_formats() -> None:
    from assistant.cli import app

    result = CliRunner().invoke(app, ["ingest", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert f"Index documents ({default_registry.describe()})" in result.output


def test_the_api_upload_documentation_lists_the_registered_formats(tmp_path: Path) -> None:
    from assistant.api import create_app
    from tests.api.conftest import api_settings

    services = build_services(api_settings(tmp_path / "data", chroma__backend="memory"))
    schema = create_app(services).openapi()
    assert UPLOAD_FILE_DESCRIPTION == "A .md .txt .html .pdf or .docx file."
    assert UPLOAD_FILE_DESCRIPTION in str(schema)
