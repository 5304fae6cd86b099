"""The written rules annotators and reviewers work by (ParaDiffusion paper §3.2.2, §7.5).

Rule ids are stable: checklists, rejection comments and the dashboard's rejection
rate per rule refer to them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Guideline:
    id: str
    title: str
    text: str


# §7.5 Aesthetic Image Selection Rule, shown beside the image as a checklist.
SELECTION_RULES: tuple[Guideline, ...] = (
    Guideline(
        "S1",
        "Enough to describe",
        "The image holds enough information (number and attributes of objects, style) to "
        "support a 128-512 word, 4-10 sentence description.",
    ),
    Guideline(
        "S2",
        "No trademarks, added text or mosaic",
        "No trademarks, no text added in post-production, no mosaic effects.",
    ),
    Guideline(
        "S3",
        "Spatial relationships",
        "Multiple objects have a clear spatial hierarchy or left-right relationships.",
    ),
    Guideline(
        "S4",
        "Interaction",
        "Multiple objects interact (dialogue, animals engaging, other associations).",
    ),
    Guideline(
        "S5",
        "Main subject attributes",
        "Key details of the main subject are clearly visible, with at least three distinct "
        "attributes such as colour, shape and size.",
    ),
    Guideline(
        "S6",
        "Diverse colours, shapes, sizes",
        "Objects show diversity in colours, shapes and sizes.",
    ),
    Guideline("S7", "Clear story", "The image clearly conveys a story or emotion."),
    Guideline(
        "S8",
        "Variety of categories",
        "The image contains various object categories (people, vehicles, buildings...).",
    ),
)

# What each score means, beside the 1-5 buttons. The paper (§7.5) gives the rules and
# says only 5s are kept; these anchors restate the rules per score so that annotators
# and inspectors read the scale alike (the calibration its §7.6 "rule bias" asks for).
SCORE_ANCHORS: tuple[Guideline, ...] = (
    Guideline(
        "5",
        "Select",
        "S1 and S2 hold, and most of S3-S8: a 128-512 word, 4-10 sentence description "
        "comes easily.",
    ),
    Guideline(
        "4",
        "Good, not enough",
        "S1 and S2 hold but only a few of S3-S8 (one clear subject, little interaction or story).",
    ),
    Guideline("3", "Plain", "Describable in well under 128 words: few objects or attributes."),
    Guideline("2", "Weak", "Little to describe, or blurred, dark or cluttered."),
    Guideline(
        "1", "Reject", "Breaks S2 (trademark, added text, mosaic) or shows nothing to describe."
    ),
)

# §3.2.2 Description Annotation Rule. D1, D2, D3, D4 and D7 are also checked by
# validators/description.py; D5 and D6 need a human reader.
DESCRIPTION_RULES: tuple[Guideline, ...] = (
    Guideline("D1", "Length", "128 to 512 words."),
    Guideline("D2", "Sentences", "4 to 10 sentences."),
    Guideline(
        "D3",
        "Main subject first",
        "The first sentence portrays the main subject, e.g. 'A close-up photo of a beautiful "
        "woman.'",
    ),
    Guideline(
        "D4",
        "Objective",
        "Objective: no subjective emotions or speculation ('it might rain in the future').",
    ),
    Guideline(
        "D5",
        "Details",
        "Covers the objects' number, colour, appearance and location.",
    ),
    Guideline(
        "D6",
        "Logical order",
        "Follows a logical order, e.g. left to right or from the centre outward.",
    ),
    Guideline(
        "D7",
        "No openers",
        "Does not start with 'In the picture is', 'This image depicts' or 'Here is'.",
    ),
)

DESCRIPTION_RULE_IDS = frozenset(rule.id for rule in DESCRIPTION_RULES)
SELECTION_RULE_IDS = frozenset(rule.id for rule in SELECTION_RULES)

# Table 11 of the paper: the three aspects assessors rate, 1-5.
STUDY_ASPECTS: tuple[Guideline, ...] = (
    Guideline(
        "completeness",
        "Description completeness",
        "5: every salient object and attribute is described; 1: most of the image is left out.",
    ),
    Guideline(
        "relevance",
        "Relevance",
        "5: everything said is about this image; 1: mostly unrelated text.",
    ),
    Guideline(
        "fantasy",
        "Fantasy (hallucination)",
        "5: nothing is invented; 1: much of the "
        "caption describes things that are not in the image.",
    ),
)
