"""The feeds.yaml catalog: models and a loader that reports every problem with its line."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

from bot.config.problems import Report, read_capped
from bot.config.rulecheck import check_rules
from bot.config.yamlnodes import YamlSyntaxError, compose_text, dump_plain
from bot.errors import BlockedURLError, ConfigError
from bot.ingest.urlguard import check_url
from bot.ingest.urlnorm import normalize_link

DEFAULT_MAX_BYTES = 1_048_576
MIN_INTERVAL, MAX_INTERVAL = 60, 7 * 24 * 3600
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}[a-z0-9]")
DURATION = re.compile(r"(?:(\d{1,6})d)?\s*(?:(\d{1,6})h)?\s*(?:(\d{1,6})m)?\s*(?:(\d{1,6})s)?")
UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
# ISO 639-1: a country code such as "by" or "ua" is a common slip and must be caught.
ISO_639_1 = (
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy "
    "da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu "
    "hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb "
    "lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om "
    "or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw "
    "ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu"
)
LANGUAGES = frozenset(ISO_639_1.split())


def parse_duration(text: str) -> int:
    """Seconds in a duration such as `90s`, `15m`, `1h30m` or `1d`; ValueError otherwise."""
    compact = text.strip()
    match = DURATION.fullmatch(compact)
    if not compact or match is None:
        raise ValueError(f"{text!r} is not a duration; write e.g. 90s, 15m, 1h or 1h30m")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def format_duration(seconds: int) -> str:
    """The shortest duration text for `seconds` (5400 -> `1h30m`), readable by parse_duration."""
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    parts = []
    for unit, size in UNITS:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def _slug(value: str) -> str:
    if not SLUG.fullmatch(value):
        raise ValueError("must be 2-64 of a-z, 0-9 and '-', not starting or ending with '-'")
    return value


Slug = Annotated[str, AfterValidator(_slug)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Rule = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Strict = ConfigDict(extra="forbid", frozen=True)


class FeedSpec(BaseModel):
    """One polled source as written in feeds.yaml."""

    model_config = Strict

    id: Slug
    url: Annotated[str, Field(max_length=2048)]
    title: Title
    publisher: Literal["government", "state-media", "independent-media", "ngo", "international"]
    language: str
    scope: Literal["belarus", "global"]
    interval: timedelta
    enabled: StrictBool = True
    notes: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None

    @property
    def interval_seconds(self) -> int:
        """The polling interval in whole seconds."""
        return int(self.interval.total_seconds())

    @field_validator("url")
    @classmethod
    def _fetchable(cls, value: str, info: ValidationInfo) -> str:
        allow_private = bool((info.context or {}).get("allow_private", False))
        try:
            url = check_url(value, allow_private=allow_private, allow_any_port=False)
        except BlockedURLError as exc:
            raise ValueError(exc.detail or exc.reason) from None
        if normalize_link(url) is None:
            raise ValueError("not a valid http(s) link")
        return url

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, value: object) -> object:
        if isinstance(value, bool):
            # YAML 1.1 reads a bare `no` (Norwegian) as false.
            raise ValueError("write the language code in quotes, e.g. 'no'")
        if isinstance(value, str) and value.strip().lower() in LANGUAGES:
            return value.strip().lower()
        raise ValueError(f"must be a two-letter ISO 639-1 code such as en, be, ru, not {value!r}")

    @field_validator("interval", mode="before")
    @classmethod
    def _interval(cls, value: object) -> timedelta:
        if isinstance(value, timedelta) and value.total_seconds() == int(value.total_seconds()):
            seconds = int(value.total_seconds())
        elif isinstance(value, str):
            seconds = parse_duration(value)
        else:
            raise ValueError(f"write a duration such as 15m, 1h or 1h30m, not {value!r}")
        if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
            raise ValueError(f"must be between 1m and 7d, not {format_duration(seconds)}")
        return timedelta(seconds=seconds)

    @field_serializer("interval")
    def _interval_text(self, value: timedelta) -> str:
        return format_duration(int(value.total_seconds()))


class TopicTitles(BaseModel):
    """A topic's name in each interface language."""

    model_config = Strict

    en: Title
    be: Title
    ru: Title


Statement = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=400)]


class TopicStatement(BaseModel):
    """A recommendation's one-line statement in each interface language (digest sections)."""

    model_config = Strict

    en: Statement
    be: Statement
    ru: Statement


class TopicSpec(BaseModel):
    """A topic subscribers can follow; the matching rules are filled in by staff."""

    model_config = Strict

    id: Slug
    titles: TopicTitles
    statement: TopicStatement | None = None
    recommendation: Literal["R1", "R2", "R3"] | None = None
    urgent: StrictBool = False
    rules: list[Rule] = Field(default_factory=list)


class Catalog(BaseModel):
    """Everything feeds.yaml declares: feeds, topics, keyword aliases and context rules."""

    model_config = Strict

    version: int
    feeds: list[FeedSpec] = Field(min_length=1)
    topics: list[TopicSpec] = Field(default_factory=list)
    aliases: dict[Annotated[str, StringConstraints(min_length=1)], list[Rule]] = Field(
        default_factory=dict
    )
    context: list[Rule] = Field(default_factory=list)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: object) -> object:
        if type(value) is not int or value != 1:
            raise ValueError(f"this briefbot reads catalog version 1, not {value!r}")
        return value

    @model_validator(mode="after")
    def _unique(self) -> Catalog:
        # The loader reports duplicates with lines; this guards catalogs built in code.
        groups: tuple[tuple[str, list[Any]], ...] = (
            ("feed id", [feed.id for feed in self.feeds]),
            ("feed URL", [normalize_link(feed.url) for feed in self.feeds]),
            ("topic id", [topic.id for topic in self.topics]),
        )
        for label, keys in groups:
            counts = Counter(keys)  # not keys.count() per key: quadratic in a 500-feed catalog
            repeated = sorted({str(key) for key, n in counts.items() if n > 1})
            if repeated:
                raise ValueError(f"duplicate {label}: {', '.join(repeated)}")
        return self


Spec = TypeVar("Spec", FeedSpec, TopicSpec)
Canonical = Callable[[str], str | None]
UNIQUE_FIELDS: dict[str, dict[str, Canonical]] = {
    "feeds": {"id": str, "url": normalize_link},
    "topics": {"id": str},
}
KNOWN_KEYS = frozenset().union(
    *(model.model_fields for model in (Catalog, FeedSpec, TopicSpec, TopicTitles))
)


def _entries(
    report: Report, key: str, model: type[Spec], context: dict[str, Any]
) -> list[Spec] | None:
    """The valid, non-duplicate entries of a top-level list, reporting the others."""
    raw = report.tree.value.get(key)
    if not isinstance(raw, list):
        return None  # the Catalog model reports what is wrong with it
    repeated = report.duplicates(key, raw, UNIQUE_FIELDS[key])
    valid = []
    for index, entry in enumerate(raw):
        try:
            spec = model.model_validate(entry, context=context)
        except ValidationError as exc:
            report.validation(exc.errors(), (key, index))
            continue
        if index not in repeated and not report.flagged((key, index)):
            valid.append(spec)
    return valid


def _assemble(
    report: Report, feeds: list[FeedSpec] | None, topics: list[TopicSpec] | None, context: Any
) -> Catalog | None:
    """The catalog of the valid parts; top-level keys that fail are dropped if they can be."""
    candidate = dict(report.tree.value)
    if feeds is not None:
        candidate["feeds"] = feeds
    if topics is not None:
        candidate["topics"] = topics
    if feeds == [] and report.tree.value["feeds"]:
        report.add(("feeds",), "no feed is valid, so there is nothing to poll")
    try:
        return Catalog.model_validate(candidate, context=context)
    except ValidationError as exc:
        errors = exc.errors()
    # Every entry already failed and was reported; pydantic's "too short" would repeat it.
    shown = [e for e in errors if not (e["loc"] == ("feeds",) and e["type"] == "too_short")]
    report.validation(shown if report.flagged(("feeds",)) else errors)
    failed = {str(error["loc"][0]) for error in errors if error["loc"]}
    if not failed or failed & {"version", "feeds"}:
        return None
    try:
        return Catalog.model_validate(
            {k: v for k, v in candidate.items() if k not in failed}, context=context
        )
    except ValidationError:
        return None


@dataclass(frozen=True, slots=True)
class LenientLoad:
    """A lenient load: the catalog of the valid parts, every problem, and the feeds refused."""

    catalog: Catalog | None
    problems: list[str]
    # Ids written on feed entries that did not load (the service may keep their last state).
    refused_feeds: tuple[str, ...] = ()


def _refused_feed_ids(report: Report, catalog: Catalog | None) -> tuple[str, ...]:
    """Well-formed ids of feed entries in the file that are not in `catalog`."""
    raw = report.tree.value.get("feeds") if isinstance(report.tree.value, dict) else None
    if not isinstance(raw, list):
        return ()
    loaded = {feed.id for feed in catalog.feeds} if catalog is not None else set()
    written = (entry.get("id") for entry in raw if isinstance(entry, dict))
    ids = (i for i in written if isinstance(i, str) and SLUG.fullmatch(i) and i not in loaded)
    return tuple(dict.fromkeys(ids))


def read_catalog_lenient(
    text: str, *, source: str = "feeds.yaml", allow_private: bool = False
) -> LenientLoad:
    """The catalog of the valid entries, every problem, and the ids of the refused feeds."""
    try:
        tree = compose_text(text)
    except YamlSyntaxError as exc:
        return LenientLoad(None, [f"{source}:{exc.line or 1}: {exc.message}"])
    report = Report(source, tree, KNOWN_KEYS)
    if not isinstance(tree.value, dict):
        report.add((), "the top level must be a mapping with version, feeds, topics, ...")
        return LenientLoad(None, report.render())
    context = {"allow_private": allow_private}
    feeds = _entries(report, "feeds", FeedSpec, context)
    topics = _entries(report, "topics", TopicSpec, context)
    bad = check_rules(report)
    catalog = _assemble(report, feeds, topics, context)
    if catalog is not None and any(bad.values()):
        # Lenient loading keeps every rule that parses and drops the others.
        catalog = catalog.model_copy(
            update={
                "topics": [
                    t.model_copy(
                        update={"rules": [r for r in t.rules if r not in bad.get(t.id, ())]}
                    )
                    for t in catalog.topics
                ],
                "context": [r for r in catalog.context if r not in bad[""]],
            }
        )
    return LenientLoad(catalog, report.render(), _refused_feed_ids(report, catalog))


def parse_catalog_lenient(
    text: str, *, source: str = "feeds.yaml", allow_private: bool = False
) -> tuple[Catalog | None, list[str]]:
    """The catalog of the valid entries plus every problem; None if the text is unusable."""
    loaded = read_catalog_lenient(text, source=source, allow_private=allow_private)
    return loaded.catalog, loaded.problems


def parse_catalog(text: str, *, source: str = "feeds.yaml", allow_private: bool = False) -> Catalog:
    """The catalog in `text`, or ConfigError listing every problem, one line each."""
    catalog, problems = parse_catalog_lenient(text, source=source, allow_private=allow_private)
    if catalog is None or problems:
        raise ConfigError(problems)
    return catalog


def load_catalog_for_service(
    path: Path, *, allow_private: bool = False, max_bytes: int = DEFAULT_MAX_BYTES
) -> LenientLoad:
    """feeds.yaml read leniently (size-capped), for a service that runs on what is valid."""
    try:
        text = read_capped(path, max_bytes=max_bytes)
    except ConfigError as exc:
        return LenientLoad(None, exc.problems)
    return read_catalog_lenient(text, source=str(path), allow_private=allow_private)


def load_catalog_lenient(
    path: Path, *, allow_private: bool = False, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[Catalog | None, list[str]]:
    """Like load_catalog, but keep the valid entries (for reloads while running)."""
    loaded = load_catalog_for_service(path, allow_private=allow_private, max_bytes=max_bytes)
    return loaded.catalog, loaded.problems


def load_catalog(
    path: Path, *, allow_private: bool = False, max_bytes: int = DEFAULT_MAX_BYTES
) -> Catalog:
    """Read and validate feeds.yaml (size-capped); ConfigError lists every problem."""
    catalog, problems = load_catalog_lenient(path, allow_private=allow_private, max_bytes=max_bytes)
    if catalog is None or problems:
        raise ConfigError(problems)
    return catalog


def catalog_to_yaml(catalog: Catalog) -> str:
    """The catalog as feeds.yaml text that parse_catalog reads back to an equal catalog."""
    data = catalog.model_dump(mode="json", exclude_none=True)
    data["topics"] = [topic.model_dump(mode="json") for topic in catalog.topics]
    return dump_plain(data, header="briefbot catalog; the shipped feeds.yaml explains the format")
