"""Each stage's part of a state, within its byte budget (see `functions.shared.payload_bounds` for the budgets).

The state after "Analyze Alert" holds the alert, three context sections, the analysis and possibly a caught
failure; the budgets add up below `MAX_STATE_OUTPUT_BYTES`, so no input can push a state over it. Where a part
must lose something, it loses the least useful end (the last facts, the last recommendations) and says so.
"""

from __future__ import annotations

from functions.shared.models import Analysis, ContextSection, EvidenceClaim, Fact, ResourceRef
from functions.shared.payload_bounds import MAX_ANALYSIS_BYTES, MAX_SECTION_BYTES, fits, shorten, shorten_to_bytes

_MAX_FACT_TEXT_CHARS = 400
_MAX_LINK_CHARS = 1_800
_MAX_NOTE_CHARS = 300
_MAX_CAUSE_CHARS = 1_000


def _bounded_resource(resource: ResourceRef | None) -> ResourceRef | None:
    """A fact's resource with its strings bounded (they come from AWS, about a resource the alert names)."""
    if resource is None:
        return None
    return ResourceRef(
        type=shorten(resource.type, 80),
        name=shorten(resource.name, 200),
        arn=resource.arn if resource.arn is None or len(resource.arn) <= 300 else None,
        region=shorten(resource.region, 40) if resource.region else None,
    )


def bound_section(section: ContextSection, max_bytes: int = MAX_SECTION_BYTES) -> ContextSection:
    """`section` within `max_bytes`: long texts shortened, then facts dropped from the end, with a note."""
    facts = [
        Fact(
            key=shorten(fact.key, 80),
            text=shorten(fact.text, _MAX_FACT_TEXT_CHARS),
            value=shorten(fact.value, 200) if isinstance(fact.value, str) else fact.value,
            # A cut URL would link somewhere else: a link that does not fit is dropped, the fact stays.
            link=fact.link if fact.link is not None and len(fact.link) <= _MAX_LINK_CHARS else None,
            subject=shorten(fact.subject, 200) if fact.subject else None,
            numbers=fact.numbers,  # a handful of numbers and two short words: bounded by its model
            via=shorten(fact.via, 200) if fact.via else None,  # the graph walk's edge to a neighbour
            resource=_bounded_resource(fact.resource),
        )
        for fact in section.facts[:40]
    ]
    bounded = section.model_copy(
        update={
            "facts": facts,
            "looked_at": [shorten(item, 200) for item in section.looked_at[:12]],
            "notes": [shorten(note, _MAX_NOTE_CHARS) for note in section.notes[:8]],
            "error": shorten(section.error, 200) if section.error else section.error,
            "cause": shorten(section.cause, _MAX_CAUSE_CHARS) if section.cause else section.cause,
        }
    )
    dropped = len(section.facts) - len(facts)
    while not fits(bounded.model_dump(mode="json"), max_bytes) and bounded.facts:
        bounded = bounded.model_copy(update={"facts": bounded.facts[:-1]})
        dropped += 1
    if dropped:
        note = f"{dropped} more fact(s) left out to keep the state small"
        bounded = bounded.model_copy(update={"notes": [*bounded.notes[:7], note]})
    if not fits(bounded.model_dump(mode="json"), max_bytes):  # text of astral or non-Latin characters
        share = max_bytes // 8
        bounded = bounded.model_copy(
            update={
                "looked_at": [shorten_to_bytes(item, share // 2) for item in bounded.looked_at[:2]],
                "notes": [shorten_to_bytes(note, share // 2) for note in bounded.notes[-2:]],
                "error": shorten_to_bytes(bounded.error, share // 2) if bounded.error else bounded.error,
                "cause": shorten_to_bytes(bounded.cause, share) if bounded.cause else bounded.cause,
            }
        )
    return bounded


def bound_analysis(analysis: Analysis, max_bytes: int = MAX_ANALYSIS_BYTES) -> Analysis:
    """`analysis` within `max_bytes`: each list bounded in length and item size, then trimmed from the end."""
    bounded = analysis.model_copy(
        update={
            "root_cause": shorten(analysis.root_cause, 1_500),
            "evidence": [
                EvidenceClaim(
                    claim=shorten(claim.claim, 400),
                    section=claim.section,
                    link=claim.link if claim.link is not None and len(claim.link) <= _MAX_LINK_CHARS else None,
                )
                for claim in analysis.evidence[:10]
            ],
            "diagnostics": [shorten(command, 500) for command in analysis.diagnostics[:6]],
            "recommendations": [shorten(step, 400) for step in analysis.recommendations[:8]],
            "unknowns": [shorten(unknown, 300) for unknown in analysis.unknowns[:8]],
            "fallback_reason": shorten(analysis.fallback_reason, 500) if analysis.fallback_reason else None,
            "dropped_commands": [shorten(command, 200) for command in analysis.dropped_commands[:5]],
            "model_id": shorten(analysis.model_id, 200) if analysis.model_id else None,
        }
    )
    for field in ("evidence", "unknowns", "recommendations", "dropped_commands", "diagnostics"):
        while not fits(bounded.model_dump(mode="json"), max_bytes) and len(getattr(bounded, field)) > 1:
            bounded = bounded.model_copy(update={field: getattr(bounded, field)[:-1]})
    if not fits(bounded.model_dump(mode="json"), max_bytes):  # text of astral or non-Latin characters
        share = max_bytes // 8
        bounded = bounded.model_copy(
            update={
                "root_cause": shorten_to_bytes(bounded.root_cause, share * 2),
                "evidence": [
                    claim.model_copy(update={"claim": shorten_to_bytes(claim.claim, share // 2)})
                    for claim in bounded.evidence[:1]
                ],
                "diagnostics": [shorten_to_bytes(command, share // 2) for command in bounded.diagnostics[:1]],
                "recommendations": [shorten_to_bytes(step, share // 2) for step in bounded.recommendations[:1]],
                "unknowns": [shorten_to_bytes(unknown, share // 2) for unknown in bounded.unknowns[:1]],
                "dropped_commands": [shorten_to_bytes(command, share // 4) for command in bounded.dropped_commands[:1]],
                "fallback_reason": shorten_to_bytes(bounded.fallback_reason, share // 2)
                if bounded.fallback_reason
                else None,
            }
        )
    return bounded
