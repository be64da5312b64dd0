"""Story ids for a batch of items read together (the `briefbot match` command)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.matching.cluster import StoryCandidate, find_story, merge_signature, story_signature
from bot.matching.matcher import MatchInput, Verdict

# A batch has no timestamps: every item counts as seen at the same moment.
BATCH_TIME = datetime(2000, 1, 1, tzinfo=UTC)


def assign_batch_stories(items: Sequence[MatchInput], verdicts: Sequence[Verdict]) -> list[str]:
    """Each relevant item's story, named by the id of its first item; others are their own story."""
    stories: list[StoryCandidate] = []
    names: dict[int, str] = {}
    result: list[str] = []
    for item, verdict in zip(items, verdicts, strict=True):
        if not verdict.relevant:
            result.append(item.id)
            continue
        signature = story_signature(item.title, item.summary)
        found = find_story(signature, feed_id=item.id, seen_at=BATCH_TIME, candidates=stories)
        if found is None:
            story_id = len(stories)
            names[story_id] = item.id
            stories.append(StoryCandidate(story_id, signature, BATCH_TIME, frozenset({item.id})))
        else:
            story_id = found
            old = stories[story_id]
            stories[story_id] = StoryCandidate(
                story_id,
                merge_signature(old.signature, signature),
                BATCH_TIME,
                old.feed_ids | {item.id},
            )
        result.append(names[story_id])
    return result
