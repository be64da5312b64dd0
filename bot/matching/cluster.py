"""Story clustering: items about one story from several outlets share one story id.

An item's signature is the set of keys of its headline's words, names also as a consonant
skeleton that survives Russian/Belarusian/English spelling differences. An item joins the
open story with the highest Dice similarity, names and figures weighing ANCHOR_WEIGHT words.
Pure code: the poller hook loads the open stories and stores the result. Every number here
was chosen by measurement on tests/data/matching/stories.jsonl: bench/match/CLUSTERING.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from bot.matching.normalize import term_key, tokenize

STORY_WINDOW = timedelta(hours=72)
# Headlines of one story agree far better than summaries, which add the words that
# different stories on one topic share: summary keys only lowered F1 (CLUSTERING.md).
SUMMARY_KEYS = 0
UNTITLED_KEYS = 12
SIGNATURE_LIMIT = 64
DEFAULT_THRESHOLD = 0.225
# A feed often runs distinct items from one template (a rights group's daily verdicts), so a
# story seen only in this feed takes another item of that feed only if it is a near-repost.
SAME_FEED_THRESHOLD = 0.8
# Names and figures outweigh words: outlets in different languages share little else, and
# different stories on one topic share the words but not the names (measured: CLUSTERING.md).
ANCHOR_WEIGHT = 4
# A lone shared word (weight 1) never joins two short items, however high their Dice.
MIN_SHARED = 2

# Function words and newsroom boilerplate (en, ru, be), keyed through term_key once so they
# follow normalize's folding and stemming; Łacinka folds to the same keys as Cyrillic.
_STOPWORDS = (
    """a about after against also amid an and are as at be been before but by can could did
    do does during for from had has have he her his how if in into is it its more new no not
    of on one or over said says she than that the their them there they this to two under up
    was we were what when which who will with would you report reports according news""",
    """а без более бы был была были было быть в вас во вот все всё где да даже для до его ее
    её если есть еще ещё же за и из или им их к как ко когда которые который ли либо мы на
    над не него нет ни но о об однако он она они оно от по под после при про с со так также
    там то того тоже только том у уже чем что чтобы эти это этот я заявил заявила сообщил
    сообщила сообщает сообщили словам время год года""",
    """а але без бы быў была былі было быць ва ўсе гэта гэты гэтыя да для дзе ён яна яны яго
    яе іх з за і ці калі каб як які якія ля на над не ні няма па пад пасля пры пра са так
    таксама там толькі ў ужо што чым яшчэ паведаміў паведаміла паведамілі заявіў заявіла
    паводле словамі году""",
)

# Keys (folded and stemmed, every inflection normalize produces) of the words nearly every
# item of a Belarus feed carries: Belarus, Belarusian, Minsk, Lukashenko. On the dev set they
# were the keys most shared by items of different stories.
_DOMAIN_KEYS = frozenset((
    "belarus", "belarusjan", "belaruss", "belarusk", "belorus", "beloruss", "belorussk",
    "belorusk", "bielarus", "bielarusk", "beljarus", "beljarusk", "minsk", "mensk", "miensk",
    "lukashenk", "ljukashenk",
))  # fmt: skip

# normalize folds scripts together (Ціханоўская = Cichanoŭskaja = Tsikhanouskaya) but not
# languages: Russian spells the same name differently (Тихановская, Вильнюс, Грибко).
# A consonant skeleton of the folded word bridges the usual differences: ц/т, дз/д, ў/в,
# vowels, and the g of Russian-style English spellings (Gomel) against h (Homiel).
_DIGRAPHS = (("shch", "s"), ("sh", "s"), ("zh", "z"), ("ch", "h"), ("dz", "d"))
_SKELETON_MAP = str.maketrans({"g": "h", "c": "t"})
_SKELETON_DROP = str.maketrans(dict.fromkeys("aeiouyjwv"))
_HEAD_DROP = str.maketrans(dict.fromkeys("aeiouyj"))
SKELETON_LENGTH = 3
NAME_PREFIX = "~"


@cache
def _stop_keys() -> frozenset[str]:
    """Keys of every stopword, built on first use so importing stays cheap."""
    words = " ".join(_STOPWORDS).split()
    return frozenset(term_key(word) for word in words) | _DOMAIN_KEYS


def name_skeleton(folded: str) -> str:
    """Consonant skeleton of a folded name, equal across its usual transliterations."""
    for digraph, letter in _DIGRAPHS:
        folded = folded.replace(digraph, letter)
    folded = folded.translate(_SKELETON_MAP)
    # The first letter stays unless it is a vowel (Vilnius/Вільні keep their v, but
    # Jekaterina/Katsiaryna lose the je), as in Soundex.
    head = folded[:1].translate(_HEAD_DROP)
    return (head + folded[1:].translate(_SKELETON_DROP))[:SKELETON_LENGTH]


def _keys(text: str, *, names: bool) -> list[str]:
    """Characteristic keys of a text in reading order, without repeats."""
    stop = _stop_keys()
    keys: dict[str, None] = {}
    for token in tokenize(text):
        key = token.key
        if not key or key in stop:
            continue
        # One-digit numbers ("3 people", "2 days") recur in unrelated stories; sums,
        # years and sentences in years ("15", "2025") help tell stories apart.
        if len(key) < 2:
            continue
        keys.setdefault(key)
        # A capitalised word is most often a name, the one thing outlets writing in
        # different languages share; its skeleton also makes a name count twice.
        if names and text[token.start].isupper() and not key.isdigit():
            skeleton = name_skeleton(token.folded)
            if len(skeleton) >= 3:
                keys.setdefault(NAME_PREFIX + skeleton)
    return list(keys)


def story_signature(
    title: str, summary: str, *, summary_keys: int = SUMMARY_KEYS, names: bool = True
) -> frozenset[str]:
    """Keys that characterise an item's story: the title's, then the summary's first few."""
    title_keys = _keys(title, names=names)
    seen = set(title_keys)
    extra = [key for key in _keys(summary, names=names) if key not in seen]
    # An item without a usable headline (it happens in feeds) is known by its summary.
    wanted = summary_keys if title_keys else max(summary_keys, UNTITLED_KEYS)
    return frozenset(title_keys + extra[:wanted])


@dataclass(frozen=True, slots=True)
class StoryCandidate:
    """An open story as the clusterer sees it."""

    story_id: int
    signature: frozenset[str]
    last_seen_at: datetime
    feed_ids: frozenset[str]


def is_anchor(key: str) -> bool:
    """A name skeleton or a number other than a year: the keys that pin a story down."""
    if key.startswith(NAME_PREFIX):
        return True
    # Every item of a year names the year; 17 judges or 1,200 lorries are specific.
    return key.isdigit() and not (len(key) == 4 and key[:2] in ("19", "20"))


def _weight(keys: frozenset[str]) -> int:
    """What keys count for in similarity(): ANCHOR_WEIGHT per anchor, 1 per other key."""
    return len(keys) + (ANCHOR_WEIGHT - 1) * sum(1 for key in keys if is_anchor(key))


def _score(shared: int, weight_a: int, weight_b: int) -> float:
    """Weighted Dice from weight sums, shared by similarity() and StoryIndex."""
    if shared < MIN_SHARED:
        return 0.0
    return 2 * shared / (weight_a + weight_b)


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Dice coefficient of the key sets, anchors weighted; 0.0 below MIN_SHARED shared."""
    return _score(_weight(a & b), _weight(a), _weight(b))


def _pick(
    scored: Iterable[tuple[StoryCandidate, int, int]],
    *,
    own: int,
    feed_id: str,
    seen_at: datetime,
    threshold: float,
) -> int | None:
    """Best story among (candidate, shared weight, its weight); find_story and StoryIndex."""
    alone = frozenset((feed_id,))
    best: tuple[float, datetime, int] | None = None
    for candidate, shared, weight in scored:
        # abs(): feeds deliver late and back-dated items, so "before" counts like "after".
        if abs(seen_at - candidate.last_seen_at) > STORY_WINDOW:
            continue
        score = _score(shared, own, weight)
        need = max(threshold, SAME_FEED_THRESHOLD) if candidate.feed_ids == alone else threshold
        if score <= 0.0 or score < need:
            continue
        # Preference: score, then the fresher story, then the older id (deterministic).
        rank = (score, candidate.last_seen_at, -candidate.story_id)
        if best is None or rank > best:
            best = rank
    return None if best is None else -best[2]


def find_story(
    signature: frozenset[str],
    *,
    feed_id: str,
    seen_at: datetime,
    candidates: Sequence[StoryCandidate],
    threshold: float = DEFAULT_THRESHOLD,
) -> int | None:
    """Id of the best open story this item belongs to, or None for a new story."""
    scored = (
        (candidate, _weight(signature & candidate.signature), _weight(candidate.signature))
        for candidate in candidates
        if not signature.isdisjoint(candidate.signature)  # most stories: skip the weighing
    )
    own = _weight(signature)
    return _pick(scored, own=own, feed_id=feed_id, seen_at=seen_at, threshold=threshold)


def merge_signature(
    old: frozenset[str], new: frozenset[str], limit: int = SIGNATURE_LIMIT
) -> frozenset[str]:
    """A story's signature after an item joins: union, capped at limit keys."""
    merged = old | new
    if len(merged) <= limit:
        return merged
    # Keys both sides share are the story's core; the rest is filled from the story's own
    # keys and the newcomer's in turn, so an item in another language still leaves keys for
    # the next item in its language, while the story's first keys are not all pushed out.
    core = _by_value(old & new)
    if len(core) >= limit:
        return frozenset(core[:limit])
    mine, theirs = _by_value(old - new), _by_value(new - old)
    take_new = min(len(theirs), max((limit - len(core)) // 2, limit - len(core) - len(mine)))
    take_old = limit - len(core) - take_new
    return frozenset(core + mine[:take_old] + theirs[:take_new])


def _by_value(keys: frozenset[str]) -> list[str]:
    """Names and numbers first: they tell stories apart; then the rest, in a fixed order."""
    return sorted(keys, key=lambda key: (not is_anchor(key), key))


def joined(
    candidate: StoryCandidate, signature: frozenset[str], *, feed_id: str, seen_at: datetime
) -> StoryCandidate:
    """The candidate updated after an item of feed_id seen at seen_at joins it."""
    return StoryCandidate(
        story_id=candidate.story_id,
        signature=merge_signature(candidate.signature, signature),
        last_seen_at=max(candidate.last_seen_at, seen_at),
        feed_ids=candidate.feed_ids | {feed_id},
    )


class StoryIndex:
    """Inverted index over open stories: find_story's answer without scanning every story."""

    def __init__(
        self, candidates: Iterable[StoryCandidate] = (), *, threshold: float = DEFAULT_THRESHOLD
    ) -> None:
        self.threshold = threshold
        self._stories: dict[int, StoryCandidate] = {}
        self._weights: dict[int, int] = {}
        self._postings: dict[str, set[int]] = {}
        for candidate in candidates:
            self.add(candidate)

    def __len__(self) -> int:
        return len(self._stories)

    def get(self, story_id: int) -> StoryCandidate | None:
        """The stored candidate with story_id, if any."""
        return self._stories.get(story_id)

    def add(self, candidate: StoryCandidate) -> None:
        """Insert a story, or replace the stored one with the same id."""
        self.remove(candidate.story_id)
        self._stories[candidate.story_id] = candidate
        self._weights[candidate.story_id] = _weight(candidate.signature)
        for key in candidate.signature:
            self._postings.setdefault(key, set()).add(candidate.story_id)

    def remove(self, story_id: int) -> None:
        """Drop a story; unknown ids are ignored."""
        candidate = self._stories.pop(story_id, None)
        if candidate is None:
            return
        del self._weights[story_id]
        for key in candidate.signature:
            posting = self._postings[key]
            posting.discard(story_id)
            if not posting:
                del self._postings[key]

    def update(
        self, story_id: int, signature: frozenset[str], *, feed_id: str, seen_at: datetime
    ) -> StoryCandidate:
        """Record that an item joined story_id and return the story as it is now."""
        candidate = joined(self._stories[story_id], signature, feed_id=feed_id, seen_at=seen_at)
        self.add(candidate)
        return candidate

    def expire(self, now: datetime) -> list[int]:
        """Drop the stories whose last item is older than STORY_WINDOW before now."""
        old = [sid for sid, c in self._stories.items() if now - c.last_seen_at > STORY_WINDOW]
        for story_id in old:
            self.remove(story_id)
        return old

    def find(self, signature: frozenset[str], *, feed_id: str, seen_at: datetime) -> int | None:
        """Same answer as find_story over the stored stories, via the postings."""
        shared: dict[int, int] = {}
        for key in signature:
            weight = ANCHOR_WEIGHT if is_anchor(key) else 1
            for story_id in self._postings.get(key, ()):
                shared[story_id] = shared.get(story_id, 0) + weight
        scored = (
            (self._stories[sid], weight, self._weights[sid]) for sid, weight in shared.items()
        )
        own = _weight(signature)
        return _pick(scored, own=own, feed_id=feed_id, seen_at=seen_at, threshold=self.threshold)
