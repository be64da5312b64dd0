"""The matcher: topics, context, aliases, fields, proximity, urgency and the "why" of a verdict."""

from __future__ import annotations

import pytest

from bot.config.catalog import TopicSpec, TopicTitles
from bot.errors import ConfigError
from bot.matching.matcher import Matcher, MatchInput

TITLES = TopicTitles(en="t", be="t", ru="t")


def topic(
    topic_id: str, *rules: str, recommendation: str | None = None, urgent: bool = False
) -> TopicSpec:
    return TopicSpec(
        id=topic_id, titles=TITLES, recommendation=recommendation, urgent=urgent, rules=list(rules)
    )


ALIASES = {
    "lukashenka": ["Lukashenka", "Lukashenko", "Łukašenka", "Лукашенко", "Лукашэнка"],
    "belarus": [
        "Belarus",
        "Belarusian",
        "Беларусь",
        "Белоруссия",
        "белорусск*",
        "беларус*",
        "Biełaruś",
    ],
}
CONTEXT = ["@belarus", "@lukashenka", "Minsk NEAR/3 regime"]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(
        [
            topic("sanctions", "sanction*", "санкц*", "sankc*", '"restrictive measures"'),
            topic(
                "r3-transnational-repression",
                "extradit* OR экстрадиц* OR экстрадыц*",
                recommendation="R3",
                urgent=True,
            ),
            topic(
                "political-prisoners",
                "title:(political NEAR/2 prisoner*)",
                "палітвязн*",
                "политзаключ*",
            ),
            topic(
                "r2-recognition",
                "@lukashenka NEAR/6 (illegitimate OR нелегитимн*)",
                recommendation="R2",
            ),
            topic("war", "(troops OR войск*) -exercise*"),
        ],
        CONTEXT,
        ALIASES,
    )


def item(title: str, summary: str = "", scope: str = "global", language: str = "en") -> MatchInput:
    return MatchInput(id="x", title=title, summary=summary, language=language, scope=scope)


@pytest.mark.parametrize(
    ("title", "language"),
    [
        ("EU extends sanctions against Belarus", "en"),
        ("ЕС продлил санкции против Беларуси", "ru"),
        ("Новыя санкцыі супраць Беларусі", "be"),
        ("Novyja sankcyi suprać Biełarusi", "be"),
    ],
)
def test_inflected_forms_in_every_script_match_the_same_topic(
    matcher: Matcher, title: str, language: str
) -> None:
    verdict = matcher.match(item(title, language=language))
    assert verdict.relevant
    assert verdict.themes == ("sanctions",)


def test_a_global_item_about_another_country_is_not_relevant(matcher: Matcher) -> None:
    verdict = matcher.match(item("US imposes new sanctions on Iran's oil sector"))
    assert not verdict.relevant
    assert verdict.recommendations == verdict.themes == ()
    assert verdict.without_context == ("sanctions",)


def test_belarus_scope_feeds_need_no_context(matcher: Matcher) -> None:
    verdict = matcher.match(item("New sanctions package announced", scope="belarus"))
    assert verdict.relevant
    assert verdict.themes == ("sanctions",)


def test_name_spellings_meet_through_an_alias(matcher: Matcher) -> None:
    for name in ("Lukashenka", "Lukashenko", "Лукашэнку", "Łukašenku"):
        verdict = matcher.match(item(f"Parliament calls {name} illegitimate"))
        assert verdict.recommendations == ("R2",), name


def test_recommendation_topics_fill_recommendations_not_themes(matcher: Matcher) -> None:
    verdict = matcher.match(item("Poland halts extradition of Belarusian activist"))
    assert verdict.recommendations == ("R3",)
    assert verdict.themes == ()
    assert verdict.topics == ("r3-transnational-repression",)


def test_field_scope_and_proximity(matcher: Matcher) -> None:
    in_title = matcher.match(item("Belarus frees political prisoners"))
    only_summary = matcher.match(item("Belarus news", "Belarus frees political prisoners"))
    too_far = matcher.match(item("Political parties in Belarus demand news about prisoners"))
    assert in_title.themes == ("political-prisoners",)
    assert not only_summary.relevant
    assert not too_far.relevant


def test_not_excludes_a_known_false_positive(matcher: Matcher) -> None:
    assert matcher.match(item("Russian troops arrive in Belarus")).themes == ("war",)
    assert not matcher.match(item("Russian troops arrive in Belarus for joint exercises")).relevant


def test_urgent_only_when_an_urgent_topic_matches_in_the_title(matcher: Matcher) -> None:
    assert matcher.match(item("Extradition to Belarus halted")).urgent
    late_mention = matcher.match(
        item("Belarus weekly review", "Also: an extradition case in Poland.")
    )
    assert late_mention.relevant
    assert not late_mention.urgent


def test_why_names_the_rule_word_the_item_word_the_field_and_a_snippet(matcher: Matcher) -> None:
    summary = "Brussels said on Monday that restrictive measures against Minsk would stay in force."
    verdict = matcher.match(item("Belarus: EU keeps pressure", summary))
    assert verdict.relevant
    hits = {(h.topic, h.field) for h in verdict.why}
    assert ("sanctions", "summary") in hits
    hit = next(h for h in verdict.why if h.topic == "sanctions")
    assert hit.word in {"restrictive", "measures"}
    assert "restrictive measures" in hit.snippet


def test_more_evidence_scores_higher(matcher: Matcher) -> None:
    weak = matcher.match(item("Belarus news", "A note on sanctions."))
    strong = matcher.match(
        item("Belarus sanctions: EU adds 20 names", "Sanctions also hit potash.")
    )
    assert 0 < weak.score < strong.score <= 1


def test_no_topic_means_not_relevant(matcher: Matcher) -> None:
    verdict = matcher.match(item("Sabalenka wins in Melbourne as Belarus celebrates"))
    assert not verdict.relevant
    assert verdict.score == 0.0


def test_every_rule_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        Matcher(
            [topic("aa", "sanction AND", "(unclosed"), topic("bb", "@nobody")],
            ["NOT belarus"],
            {"ok": ["fine"], "bad": ["a OR b"]},
        )
    text = "\n".join(caught.value.problems)
    assert "topics.aa.rules[0]" in text
    assert "topics.aa.rules[1]" in text
    assert "topics.bb.rules[0]" in text
    assert "context[0]" in text
    assert "aliases.bad[0]" in text


def test_ad_hoc_queries_compile_against_the_same_aliases(matcher: Matcher) -> None:
    evaluate = matcher.compile_query("@lukashenka AND санкц*")
    tokens, _ = matcher.scan("Лукашенко ответил на санкции", "")
    assert evaluate(tokens)[0]
    tokens, _ = matcher.scan("Лукашенко открыл завод", "")
    assert not evaluate(tokens)[0]
