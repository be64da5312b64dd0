"""OPML export and import: round trips, defaults, hostile documents, and safe writes."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.config.catalog import Catalog, FeedSpec, load_catalog, parse_catalog
from bot.config.feedsfile import insert_feeds, replace_text
from bot.config.opml import OPML_MAX_BYTES, parse_opml, read_opml, slug_from, write_opml
from bot.errors import ConfigError

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[1]
FEEDS_YAML = """\
# Our catalog; this comment must survive an import.
version: 1
feeds:
  # Belarusian media.
  - id: svaboda-be
    url: https://www.svaboda.org/api/epiqq
    title: Radio Svaboda
    publisher: independent-media
    language: be
    scope: belarus
    interval: 15m
    notes: >-
      A folded note
      over two lines.

# Topics follow the feeds.
topics:
  - id: sanctions
    titles: {en: Sanctions, be: Санкцыі, ru: Санкции}
    rules:
      - "sanction*"
"""


def opml(*outlines: str) -> bytes:
    """An OPML 2.0 document around the given outline elements."""
    body = "\n".join(outlines)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n'
        f"<head><title>t</title></head>\n<body>\n{body}\n</body>\n</opml>\n"
    ).encode()


def test_round_trip_of_the_shipped_catalog_gives_the_same_feeds() -> None:
    catalog = load_catalog(REPO / "feeds.yaml")
    result = parse_opml(write_opml(catalog.feeds, now=NOW).encode())
    assert result.problems == []
    assert result.notes == []
    assert result.feeds == list(catalog.feeds)


def test_round_trip_keeps_every_field() -> None:
    feeds = [
        FeedSpec.model_validate(
            {
                "id": "nrk",
                "url": "https://www.nrk.no/toppsaker.rss",
                "title": 'NRK <"Toppsaker"> & more',
                "publisher": "state-media",
                "language": "no",
                "scope": "global",
                "interval": "1h30m",
                "enabled": False,
                "notes": "line one\nline two\twith a tab",
            }
        )
    ]
    assert parse_opml(write_opml(feeds, now=NOW).encode()).feeds == feeds


def test_plain_opml_gets_the_documented_defaults_and_folders_are_flattened() -> None:
    result = parse_opml(
        opml(
            '<outline text="News"><outline text="Deeper">',
            '<outline type="rss" text="Радыё Свабода" xmlUrl="https://www.svaboda.org/rss"/>',
            "</outline></outline>",
            '<outline title="State Dept" xmlUrl="https://www.state.gov/rss" '
            'category="/Sources,/government" language="en-US"/>',
            '<outline text="" xmlUrl="https://feeds.example.org/all.xml" language="xx"/>',
            '<outline text="Radio Svaboda" xmlUrl="https://svaboda.example/feed"/>',
        ),
        source="in.opml",
    )
    assert result.problems == []
    first, state, untitled, same_title = result.feeds
    assert (first.id, first.title, first.language, first.publisher) == (
        "radyje-svaboda",
        "Радыё Свабода",
        "en",
        "independent-media",
    )
    assert (first.scope, first.interval_seconds, first.enabled) == ("global", 3600, True)
    assert (state.id, state.publisher, state.language) == ("state-dept", "government", "en")
    assert (untitled.id, untitled.title) == ("feeds-example-org", "feeds.example.org")
    assert same_title.id == "radio-svaboda"
    assert result.notes == [
        "in.opml:9: outline 5 ('https://feeds.example.org/all.xml'): language 'xx' unknown; "
        "using en"
    ]


def test_ids_never_collide_with_the_catalog_or_each_other() -> None:
    catalog = parse_catalog(FEEDS_YAML)
    result = parse_opml(
        opml(
            '<outline text="Svaboda BE" xmlUrl="https://a.example/rss"/>',
            '<outline text="Svaboda BE" xmlUrl="https://b.example/rss"/>',
            '<outline text="x" xmlns:b="urn:briefbot:opml:1" b:id="svaboda-be" '
            'xmlUrl="https://c.example/rss"/>',
        ),
        source="in.opml",
        existing=catalog.feeds,
    )
    assert [f.id for f in result.feeds] == ["svaboda-be-2", "svaboda-be-3", "svaboda-be-4"]
    assert result.notes == [
        "in.opml:7: outline 3 ('x'): id svaboda-be is taken; using svaboda-be-4"
    ]


def test_slugs_from_titles_in_any_script_or_from_the_host() -> None:
    assert slug_from("Наша Ніва: навіны", "https://nashaniva.com/rss") == "nasha-niva-naviny"
    assert slug_from("Łukašenka watch", "https://x.example/") == "lukashenka-watch"
    assert slug_from("???", "https://www.zerkalo.io/rss") == "zerkalo-io"
    assert len(slug_from("word " * 40, "https://x.example/")) <= 48


def test_duplicates_are_skipped_with_a_note() -> None:
    catalog = parse_catalog(FEEDS_YAML)
    result = parse_opml(
        opml(
            '<outline text="One" xmlUrl="https://one.example/rss"/>',
            '<outline text="One again" xmlUrl="HTTPS://ONE.example:443/rss?utm_source=x#top"/>',
            '<outline text="Ours" xmlUrl="https://www.svaboda.org/api/epiqq"/>',
        ),
        source="in.opml",
        existing=catalog.feeds,
    )
    assert [f.id for f in result.feeds] == ["one"]
    assert result.notes == [
        "in.opml:6: outline 2 ('One again'): skipped, same URL as outline 1 (line 5)",
        "in.opml:7: outline 3 ('Ours'): skipped, same URL as feed svaboda-be in the catalog",
    ]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("javascript:alert(1)", "only http and https are fetched (javascript:)"),
        ("file:///etc/passwd", "only http and https are fetched (file:)"),
        ("http://127.0.0.1:5432/", "port 5432 needs an explicit allow flag"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is not a public address"),
        ("https://user:pw@x.example/rss", "user names and passwords are not allowed in URLs"),
    ],
)
def test_unsafe_urls_are_refused_with_the_outline_named(url: str, reason: str) -> None:
    result = parse_opml(
        opml(
            '<outline text="fine" xmlUrl="https://ok.example/rss"/>',
            f'<outline text="evil" xmlUrl="{url}"/>',
        ),
        source="in.opml",
    )
    assert [f.id for f in result.feeds] == ["fine"]
    assert result.problems == [f"in.opml:6: outline 2 ('evil'): url: {reason}"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
            b'"&lol;&lol;&lol;">]><opml><body><outline text="&lol2;"/></body></opml>',
            "in.opml: the document declares XML entities",
        ),
        (
            b'<!DOCTYPE opml SYSTEM "http://127.0.0.1:9/x.dtd"><opml><body/></opml>',
            "in.opml:1: DOCTYPE declarations are not allowed",
        ),
        (
            b"<!DOCTYPE opml [<!ELEMENT opml ANY>]><opml><body/></opml>",
            "in.opml: the DOCTYPE has an internal subset",
        ),
        (
            b'<opml><body><outline text="&xxe;" xmlUrl="https://x.example/"/></body></opml>',
            "in.opml:1: not well-formed XML (undefined entity)",
        ),
        (b"<rss><channel/></rss>", "in.opml:1: not an OPML document (the root element is <rss>)"),
        (b"<html><body>login</body></html>", "in.opml: the file is an HTML page"),
        (b"", "in.opml: the file is not XML"),
        (
            b"<opml><body>\n<outline></body></opml>",
            "in.opml:2: not well-formed XML (mismatched tag)",
        ),
        (
            b"<opml><body>" + b"<outline>" * 40 + b"</outline>" * 40 + b"</body></opml>",
            "in.opml:1: outlines nested deeper than 32 levels",
        ),
    ],
)
def test_hostile_or_broken_documents_are_refused(document: bytes, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_opml(document, source="in.opml")
    assert refused.value.problems == [message]


def test_too_many_outlines_are_refused() -> None:
    many = "".join(f'<outline text="f{n}" xmlUrl="https://x.example/{n}"/>' for n in range(5001))
    with pytest.raises(ConfigError, match="more than 5000 outlines"):
        parse_opml(opml(many))


def test_a_50_mb_file_is_refused_by_the_cap_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.opml"
    with big.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    with pytest.raises(
        ConfigError, match=f"52428800 bytes is over the {OPML_MAX_BYTES}-byte limit"
    ):
        read_opml(big)
    endless = io.BytesIO(b"<opml>" + b" " * (OPML_MAX_BYTES + 10))
    with pytest.raises(ConfigError, match="<stdin>: over the"):
        read_opml(None, stdin=endless)


def test_utf16_and_legacy_encodings_are_read() -> None:
    text = '<?xml version="1.0" encoding="{}"?><opml><body><outline text="Радыё" xmlUrl="https://a.example/"/></body></opml>'
    assert parse_opml(text.format("UTF-16").encode("utf-16")).feeds[0].title == "Радыё"
    assert parse_opml(text.format("windows-1251").encode("cp1251")).feeds[0].title == "Радыё"


def test_insert_keeps_the_existing_text_and_comments() -> None:
    new = parse_opml(
        opml('<outline text="Meduza" xmlUrl="https://meduza.io/rss/all" language="ru"/>')
    ).feeds
    merged, block = insert_feeds(FEEDS_YAML, new, comment="Imported from in.opml")
    assert merged.replace(block, "", 1) == FEEDS_YAML
    assert block.startswith("\n  # Imported from in.opml\n  - id: meduza\n")
    catalog = parse_catalog(merged)
    assert [f.id for f in catalog.feeds] == ["svaboda-be", "meduza"]
    assert catalog.feeds[0].notes == "A folded note over two lines."
    assert [t.id for t in catalog.topics] == ["sanctions"]


def test_insert_refuses_when_the_merged_catalog_does_not_validate() -> None:
    flow = (
        "version: 1\nfeeds: [{id: a1, url: 'https://a.example/', title: A, publisher: ngo,"
        " language: en, scope: global, interval: 1h}]\n"
    )
    new = parse_opml(opml('<outline text="B" xmlUrl="https://b.example/"/>')).feeds
    with pytest.raises(ConfigError, match="not a block list"):
        insert_feeds(flow, new)
    with pytest.raises(ConfigError, match="same id as feeds"):
        insert_feeds(FEEDS_YAML, parse_catalog(FEEDS_YAML).feeds)


def test_replace_refuses_a_file_changed_meanwhile(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text(FEEDS_YAML, encoding="utf-8")
    with pytest.raises(ConfigError, match="changed while importing"):
        replace_text(path, "version: 1\n", expected=FEEDS_YAML + "# edited\n")
    assert path.read_text(encoding="utf-8") == FEEDS_YAML
    assert [p.name for p in tmp_path.iterdir()] == ["feeds.yaml"]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A working directory with our feeds.yaml as FEEDS_FILE; the root logger restored after."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "feeds.yaml").write_text(FEEDS_YAML, encoding="utf-8")
    monkeypatch.setenv("FEEDS_FILE", str(tmp_path / "feeds.yaml"))
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield tmp_path
    # The commands log to the runner's stderr, which is closed once they return.
    root.handlers[:] = handlers
    root.setLevel(level)


def test_cli_export_then_import_into_another_catalog(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    monkeypatch.setenv("FEEDS_FILE", str(REPO / "feeds.yaml"))
    exported = runner.invoke(app, ["feeds-opml", "export", "all.opml"])
    assert exported.exit_code == 0, exported.output
    monkeypatch.setenv("FEEDS_FILE", str(workdir / "feeds.yaml"))
    dry = runner.invoke(app, ["feeds-opml", "import", "all.opml"])
    assert dry.exit_code == 0, dry.output
    assert "run again with --write" in dry.stderr
    assert (workdir / "feeds.yaml").read_text(encoding="utf-8") == FEEDS_YAML
    written = runner.invoke(app, ["feeds-opml", "import", "all.opml", "--write"])
    assert written.exit_code == 0, written.output
    assert dry.stdout == written.stdout
    shipped = load_catalog(REPO / "feeds.yaml").feeds
    imported = load_catalog(workdir / "feeds.yaml").feeds
    # svaboda-be has the same URL in both files, so it is the one skipped.
    assert imported[1:] == [f for f in shipped if f.id != "svaboda-be"]
    assert "skipped, same URL as feed svaboda-be in the catalog" in written.stderr


def test_cli_write_keeps_the_file_intact_and_valid(workdir: Path) -> None:
    (workdir / "in.opml").write_bytes(
        opml('<outline text="Meduza" xmlUrl="https://meduza.io/rss/all"/>')
    )
    result = CliRunner().invoke(app, ["feeds-opml", "import", "in.opml", "--write"])
    assert result.exit_code == 0, result.output
    text = (workdir / "feeds.yaml").read_text(encoding="utf-8")
    assert text.replace(result.stdout, "").replace("\n\n\n", "\n\n") == FEEDS_YAML
    assert isinstance(load_catalog(workdir / "feeds.yaml"), Catalog)
    assert sorted(p.name for p in workdir.iterdir()) == ["feeds.yaml", "in.opml"]


def test_cli_write_refused_when_an_outline_is_refused(workdir: Path) -> None:
    (workdir / "in.opml").write_bytes(
        opml(
            '<outline text="Good" xmlUrl="https://good.example/rss"/>',
            '<outline text="Evil" xmlUrl="javascript:alert(1)"/>',
        )
    )
    result = CliRunner().invoke(app, ["feeds-opml", "import", "in.opml", "--write"])
    assert result.exit_code == 2
    assert "error: in.opml:6: outline 2 ('Evil'): url: only http and https" in result.stderr
    assert (workdir / "feeds.yaml").read_text(encoding="utf-8") == FEEDS_YAML


def test_cli_import_refused_when_feeds_yaml_is_broken(workdir: Path) -> None:
    broken = FEEDS_YAML.replace("scope: belarus", "scope: everywhere")
    (workdir / "feeds.yaml").write_text(broken, encoding="utf-8")
    (workdir / "in.opml").write_bytes(
        opml('<outline text="Good" xmlUrl="https://good.example/rss"/>')
    )
    result = CliRunner().invoke(app, ["feeds-opml", "import", "in.opml", "--write"])
    assert result.exit_code == 2
    assert "feeds[0] (id svaboda-be): scope" in result.stderr
    assert (workdir / "feeds.yaml").read_text(encoding="utf-8") == broken


def test_cli_hostile_opml_exits_2_without_touching_feeds_yaml(workdir: Path) -> None:
    (workdir / "in.opml").write_bytes(
        b'<!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]><opml/>'
    )
    result = CliRunner().invoke(app, ["feeds-opml", "import", "in.opml", "--write"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "in.opml: the document declares XML entities"
    assert (workdir / "feeds.yaml").read_text(encoding="utf-8") == FEEDS_YAML
