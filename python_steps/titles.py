"""Canonical employment titles: free text clustered with rapidfuzz.

"RN", "registered nurse" and "Registered Nurse " become one title. Two passes:

1. A normal form per title (lower case, punctuation out, common abbreviations spelled out),
   so spellings that differ only in case, spacing, punctuation or abbreviation share a key.
2. Rare keys (typos such as "property manger") join the most similar frequent key when
   rapidfuzz's ratio reaches ``min_score`` and their level tokens ("ii", "3") agree, so
   "Engineer I" and "Engineer II" stay apart.
"""

from __future__ import annotations

import re
import string
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

# Whole-token abbreviations spelled out; kept small and unsurprising on purpose.
ABBREVIATIONS: Mapping[str, str] = {
    "rn": "registered nurse",
    "lpn": "licensed practical nurse",
    "cna": "certified nursing assistant",
    "sr": "senior",
    "jr": "junior",
    "mgr": "manager",
    "asst": "assistant",
    "supv": "supervisor",
    "supvr": "supervisor",
    "rep": "representative",
    "dir": "director",
    "vp": "vice president",
    "ceo": "chief executive officer",
    "acct": "account",
    "tech": "technician",
}
# Tokens shown in capitals in a canonical title.
ACRONYMS = frozenset({"it", "hr", "cfo", "coo", "cto", "ii", "iii", "iv", "us", "usa", "ups", "llc", "qa"})
LEVEL_TOKENS = frozenset({"i", "ii", "iii", "iv", "v", "1", "2", "3", "4", "5"})
UNKNOWN_KEY = ""
_PUNCTUATION = re.compile(r"[^\w\s]+")


@dataclass(frozen=True)
class TitleMapping:
    raw_title: str
    canonical_title: str
    cluster_key: str


def trim_title(raw: str) -> str:
    """Trim as SQL's trim() does (spaces only), so the map joins on the same text."""
    return raw.strip(" ")


def normalise_title(raw: str) -> str:
    """The clustering key of a title: lower case, no punctuation, abbreviations spelled out."""
    tokens = _PUNCTUATION.sub(" ", raw.lower()).split()
    expanded = " ".join(ABBREVIATIONS.get(token, token) for token in tokens)
    return expanded


def display_title(key: str) -> str:
    """How a canonical title is shown: words capitalised, acronyms in capitals."""
    return " ".join(word.upper() if word in ACRONYMS else string.capwords(word) for word in key.split())


def _levels(key: str) -> frozenset[str]:
    return frozenset(token for token in key.split() if token in LEVEL_TOKENS)


def merge_rare_keys(
    key_counts: Mapping[str, int],
    min_count: int = 3,
    min_score: float = 92.0,
    only: Collection[str] | None = None,
) -> dict[str, str]:
    """Map every key (or the keys in ``only``) to its cluster key: frequent keys to
    themselves, rare ones to the most similar frequent key when close enough (else to
    themselves). A key's cluster depends on the frequent keys alone, so mapping a few keys
    gives what mapping them all would.

    Candidates share the first or the last word with the rare key (a typo rarely hits both),
    which keeps a million-row sample to seconds instead of comparing every pair.
    """
    # Most frequent first, then alphabetical: extractOne keeps the first best, so ties are stable.
    frequent = sorted((k for k, n in key_counts.items() if n >= min_count and k), key=lambda k: (-key_counts[k], k))
    order = {key: position for position, key in enumerate(frequent)}
    # (first or last word, level tokens) -> frequent keys, most frequent first
    by_word: dict[tuple[int, str, frozenset[str]], list[str]] = defaultdict(list)
    for key in frequent:
        words, levels = key.split(), _levels(key)
        by_word[(0, words[0], levels)].append(key)
        by_word[(1, words[-1], levels)].append(key)
    wanted = key_counts.keys() if only is None else [key for key in key_counts if key in only]
    mapping = {key: key for key in wanted}
    for key in wanted:
        if key_counts[key] >= min_count or not key:
            continue
        words, levels = key.split(), _levels(key)
        found = [
            match
            for pool in (by_word.get((0, words[0], levels)), by_word.get((1, words[-1], levels)))
            if pool and (match := process.extractOne(key, pool, scorer=fuzz.ratio, score_cutoff=min_score))
        ]
        if found:
            mapping[key] = min(found, key=lambda match: (-match[1], order[match[0]]))[0]
    return mapping


@dataclass
class TitleTally:
    """Loans per trimmed title and per clustering key, and the titles already mapped: what
    mapping new titles needs, grown a batch at a time so that a few new titles do not cost a
    normalisation of every title seen so far."""

    counts: Counter[str] = field(default_factory=Counter)  # trimmed title -> loans
    key_counts: Counter[str] = field(default_factory=Counter)  # clustering key -> loans
    key_of: dict[str, str] = field(default_factory=dict)  # trimmed title -> its clustering key
    mapped: set[str] = field(default_factory=set)  # trimmed titles the stored map already has

    @classmethod
    def of(cls, title_counts: Mapping[str, int], mapped: Collection[str] = frozenset()) -> TitleTally:
        tally = cls(mapped=set(mapped))
        tally.add(title_counts)
        return tally

    def add(self, title_counts: Mapping[str, int]) -> None:
        """Count more loans per raw title (as it arrived); blank titles are left out (missing
        titles are imputed by the SQL policy, not here)."""
        for raw, count in title_counts.items():
            title = trim_title(raw)
            if not title:
                continue
            key = self.key_of.get(title)
            if key is None:
                key = self.key_of[title] = normalise_title(title)
            self.counts[title] += count
            self.key_counts[key] += count

    def new_mappings(self, min_count: int = 3, min_score: float = 92.0) -> list[TitleMapping]:
        """The titles not mapped yet, each mapped as it would be among all titles counted
        (every title counts towards which keys are frequent)."""
        wanted = sorted(title for title in self.counts if title not in self.mapped)
        cluster_of = merge_rare_keys(
            self.key_counts, min_count=min_count, min_score=min_score, only={self.key_of[title] for title in wanted}
        )
        mappings = []
        for title in wanted:
            cluster = cluster_of[self.key_of[title]]
            canonical = display_title(cluster) if cluster else title
            mappings.append(TitleMapping(title, canonical, cluster))
        return mappings

    def mark_mapped(self, mappings: Iterable[TitleMapping]) -> None:
        self.mapped.update(mapping.raw_title for mapping in mappings)


def canonical_titles(
    title_counts: Mapping[str, int],
    min_count: int = 3,
    min_score: float = 92.0,
    skip: Collection[str] = frozenset(),
) -> list[TitleMapping]:
    """The title map: each distinct trimmed raw title -> its canonical title.

    ``title_counts`` counts loans per raw title (as it arrived); blank titles are left out.
    Titles in ``skip`` (trimmed: those already mapped) are left out too; the others map as
    they would among all titles, since every title still counts towards which keys are frequent.
    """
    return TitleTally.of(title_counts, mapped=skip).new_mappings(min_count, min_score)


def count_titles(titles: Iterable[str | None]) -> Counter[str]:
    """Loans per raw title, missing ones left out."""
    return Counter(title for title in titles if title is not None)
