"""Whether two reports are about one event: a pure function of the two reports and the rules.

Incidents are the connected groups of this relation (see :mod:`apps.notifier.incidents`), so
the grouping does not depend on the order in which reports arrive.

Two reports are linked when they are close in time, name no two different places, share a place
or a specific word, and their words are similar enough, words weighted by how specific they are
(:mod:`specificity`) and place names counting double; a place one names and the other mentions
only by name ("Cipularang km 92 pileup") is shared, and two specific words in common weigh as a
shared place does. A confident report whose category is a guess
is compared as one of the other's kind when both name one place. Across categories (one of them misclassified, or an explosion
reported as fire and as a chemical leak) the bar is higher and the shared words must include
more than the place; a low-confidence emergency ("my plants are flooding the balcony") never
joins another category, and within its own meets the bars a confident one does: most of the
analyzer's real reports in colloquial Indonesian score under the confidence bar, and its look-alikes
that share a report's place and words are better counted in that incident than alerted as one of
their own (:mod:`apps.notifier.incidents` never lets one merge two incidents).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

from apps.notifier.keywords import asserted, keyword_forms, tells_another, tells_two
from apps.notifier.lexicon import is_word
from apps.notifier.places import (LEADING, NAME_PARTS, ROADS, TRAILING, VILLAGES, Place, name_words, named_as_one_word,
                                  places, same_place, with_short_names)

PLACE_WEIGHT = 2.0  # a place name counts this many times a word of the same specificity
PLACE_MIN_SPECIFICITY = 0.6  # "at Home", "in Town": capitalised but not a place name
CONTENT_MIN_SPECIFICITY = 0.4  # a shared word that says what happened, across categories ("flood")
_PLACE_TYPES = LEADING | TRAILING
EVIDENCE_MIN_SPECIFICITY = 0.75  # linked reports share a place or a word at least this specific


@dataclass(frozen=True)
class GroupingRules:
    window_s: float = 600.0  # linked reports are at most this far apart
    place_window_s: float = 3600.0  # ... or this far, when they name one place (an event's reports trickle in for an hour)
    similarity: float = 0.25  # weighted cosine two confident reports of one category need
    place_similarity: float = 0.1  # ... when both name one place (as a name, or one as the other's name)
    strong_similarity: float = 0.5  # across categories
    confident_score: float = 0.7  # emergency score from which a report is a confident emergency
    # category score below which a confident report may be of the other's kind: on the analyzer's blind
    # written set (held_out_7) 80-91 % of wrong categories score under 0.55, 85 % of right ones over it
    unsure_category: float = 0.55


@dataclass(frozen=True)
class ReportTrace:
    """What grouping needs of one report (kept per incident member, and in the store)."""

    report_id: str
    at: float
    category: str
    category_score: float
    emergency_score: float
    text: str
    words: tuple[str, ...]  # keywords (stems)
    places: tuple[tuple[str, ...], ...]  # place keys
    place_names: tuple[str, ...]
    conversation: str = ""  # the chat it was written in ("discord:<channel id>"), "" when none
    _weights: dict[str, float] = field(default_factory=dict, compare=False, repr=False)
    _norm: float = field(default=0.0, compare=False, repr=False)
    _evidence: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    _place_sets: tuple[frozenset[str], ...] = field(default=(), compare=False, repr=False)
    _proper_places: tuple[frozenset[str], ...] = field(default=(), compare=False, repr=False)  # written as names
    _named_places: tuple[frozenset[str], ...] = field(default=(), compare=False, repr=False)  # ... or by a name
    _word_set: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    _another: bool = field(default=False, compare=False, repr=False)  # it says it tells of another event
    _two: bool = field(default=False, compare=False, repr=False)  # ... or of two
    _names: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    _mentions: frozenset[str] = field(default=frozenset(), compare=False, repr=False)  # place words and names

    @classmethod
    def of(cls, report_id: str, at: float, category: str, category_score: float, emergency_score: float,
           text: str, specificity: Callable[[str], float], forms: dict[str, str] | None = None,
           conversation: str = "") -> "ReportTrace":
        """``forms``: :func:`keyword_forms` of :func:`asserted` ``text``, when the caller has it already."""
        told = asserted(text)
        found = [p for p in places(told) if _specific(p, specificity)]
        return cls(report_id, at, category, category_score, emergency_score, text,
                   tuple(forms if forms is not None else keyword_forms(told)), tuple(tuple(sorted(p.key)) for p in found),
                   tuple(p.name for p in found), conversation).weighed(specificity)

    def weighed(self, specificity: Callable[[str], float]) -> "ReportTrace":
        place_words = {w for key in self.places for w in key}
        weights = {w: specificity(w) * (PLACE_WEIGHT if w in place_words else 1.0) for w in self.words}
        for w in place_words - weights.keys():  # a place key word that is not a keyword ("5th")
            weights[w] = PLACE_WEIGHT
        object.__setattr__(self, "_weights", weights)
        object.__setattr__(self, "_norm", math.sqrt(sum(v * v for v in weights.values())))
        object.__setattr__(self, "_place_sets", tuple(frozenset(key) for key in self.places))
        object.__setattr__(self, "_proper_places", tuple(
            frozenset(key) for key, name in zip(self.places, self.place_names) if _written_as_name(name)))
        object.__setattr__(self, "_named_places", tuple(
            frozenset(key) for key, name in zip(self.places, self.place_names)
            if _written_as_name(name) or _holds_a_name(name)))
        object.__setattr__(self, "_word_set", frozenset(self.words))
        told = asserted(self.text)
        two = tells_two(told) or _names_two_villages(self.place_names)
        object.__setattr__(self, "_two", two)
        object.__setattr__(self, "_another", two or tells_another(told))
        # names as typed too: "di belawan", "tol belmera" name Belawan and Belmera as much as capitals do
        object.__setattr__(self, "_names", with_short_names(name_words(told) | self._word_set))
        object.__setattr__(self, "_mentions", frozenset(place_words) | self._names)
        object.__setattr__(self, "_evidence", frozenset(
            place_words | {w for w in self.words if specificity(w) >= EVIDENCE_MIN_SPECIFICITY}))
        return self

    @property
    def another(self) -> bool:
        """It says it tells of another event ("jg ada kebakaran di juata"): it joins only by a place."""
        return self._another

    @property
    def tells_two(self) -> bool:
        """It says two events are going on ("menangani 2 kebakaran sekaligus"): it merges no two incidents."""
        return self._two

    @property
    def evidence(self) -> frozenset[str]:
        """Its specific words and place words: a linked report shares at least one of them."""
        return self._evidence

    @property
    def weights(self) -> dict[str, float]:
        return self._weights

    def state(self) -> list:
        return [self.report_id, self.at, self.category, self.category_score, self.emergency_score, self.text,
                list(self.words), [list(k) for k in self.places], list(self.place_names), self.conversation]

    @classmethod
    def from_state(cls, state: list, specificity: Callable[[str], float]) -> "ReportTrace":
        report_id, at, category, category_score, emergency_score, text, words, keys, names, *rest = state
        conversation = rest[0] if rest else ""  # kept since 2026.12.07; older stores have none
        return cls(report_id, at, category, category_score, emergency_score, text, tuple(words),
                   tuple(tuple(k) for k in keys), tuple(names), conversation).weighed(specificity)

    def names_places_of(self, others: list["ReportTrace"]) -> bool:
        """Every place it names by a name is named by one of ``others`` (true when it names none):
        "rumah terbakar di cappa galung" names a place, "dibawa ke rs pake becak" (by bike) does not."""
        return all(any(_named_by(p, o._place_sets, o._names) for o in others) for p in self._named_places)


def _leading_word(name: str) -> str:
    """The first word of a place's name, as its type is written ("Jl." ▸ "jl", "Kelurahan" ▸ "kelurahan")."""
    return name.split()[0].lower().rstrip(".")


def _names_two_villages(names: tuple[str, ...]) -> bool:
    """It names two villages as such ("dua unit ke Kelurahan Mogolaing ..., dan satu unit ke Kelurahan
    Kotobangon"): a post about two places, read as one saying two events are going on. A village is
    where a fire, a crash or a fight happens; one flood may cover two ("Kelurahan Wosi dan Kelurahan
    Sanggeng"), and then the post still joins the likest incident, merging none."""
    return sum(_leading_word(name) in VILLAGES for name in names if name.split()) >= 2


def _specific(place: Place, specificity: Callable[[str], float]) -> bool:
    return any(specificity(w) >= PLACE_MIN_SPECIFICITY or w[:1].isdigit() for w in place.key - NAME_PARTS)


def _written_as_name(name: str) -> bool:
    """"Jalan Sudirman", "5th Street", "kampus UMI", "jl mawar", not "pabrik mana" or "rumah mertua": a
    place typed in lower case after any word but a road's may be a place ("pasar turi") or not ("which
    factory", "my in-laws' house"), so it is shared when both name it but never tells two events apart."""
    words = name.split()
    return _leading_word(name) in ROADS or any(
        w[:1].isupper() or w[:1].isdigit() for w in words if w.lower().rstrip(".") not in _PLACE_TYPES)


def _holds_a_name(name: str) -> bool:
    """A place typed in lower case whose words are not all everyday ones ("cappa galung", not "rs pake")."""
    return any(not is_word(w) for w in name.lower().replace(".", " ").split()
               if w not in _PLACE_TYPES and w not in NAME_PARTS and not w.isdigit())


def _named_by(place: frozenset[str], places: tuple[frozenset[str], ...], names: frozenset[str]) -> bool:
    """Does a report with these places and names name ``place``: as one of its places, or by name
    where no pattern made it a place ("Cipularang km 92 pileup")?"""
    return (place <= names or named_as_one_word(place, names) or any(same_place(place, other) for other in places)
            or len(place & names) >= 2 and len(place - names) == 1)  # "Jalan Urip Sumoharjo Makassar", "urip sumoharjo"


def places_conflict(a: tuple[frozenset[str], ...], b: tuple[frozenset[str], ...],
                    a_names: frozenset[str] = frozenset(), b_names: frozenset[str] = frozenset()) -> bool:
    """Each names a place the other does not: two events ("5th Street" vs "Elm Road"). Naming
    fewer places is no conflict ("in Jakarta" vs "on Jalan Sudirman in Jakarta"), nor is a place
    the other mentions by name where no pattern made it one (``*_names``: "Cipularang km 92 pileup")."""
    if not a or not b:
        return False
    return (any(not _named_by(p, b, b_names) for p in a)
            and any(not _named_by(p, a, a_names) for p in b))


def _same_place(a: ReportTrace, b: ReportTrace) -> bool:
    """They name one place, or one names a place the other mentions by name."""
    if not a._place_sets and not b._place_sets or not a._mentions & b._mentions:
        return False  # (a quick test first: one place needs a word both name)
    return (any(_named_by(p, b._place_sets, b._names) for p in a._place_sets)
            or any(p <= a._names for p in b._place_sets))


def _same_named_place(a: ReportTrace, b: ReportTrace) -> bool:
    """One of them names by a name ("juata", not "gudang kayu") a place the other names or mentions."""
    return (any(_named_by(p, b._place_sets, b._names) for p in a._named_places)
            or any(_named_by(p, a._place_sets, a._names) for p in b._named_places))


def _same_proper_place(a: ReportTrace, b: ReportTrace) -> bool:
    """Both name one place, or one names as a name a place the other mentions ("Tawuran pecah di
    Belawan", "jangan lewat belawan"); not a place typed in lower case that the other only mentions
    ("dibawa ke rs pelabuhan belawan", "jalur arah belawan udah dibuka")."""
    return (any(_named_by(p, b._place_sets, b._names) for p in a._proper_places)
            or any(_named_by(p, a._place_sets, a._names) for p in b._proper_places)
            or any(same_place(p, q) for p in a._place_sets for q in b._place_sets))


def similarity(a: ReportTrace, b: ReportTrace) -> float:
    """Cosine of the two reports' weighted words (0 when either has none)."""
    if not a._norm or not b._norm:
        return 0.0
    small, large = (a, b) if len(a.weights) <= len(b.weights) else (b, a)
    dot, norm_a, norm_b = 0.0, a._norm ** 2, b._norm ** 2
    for w, v in small.weights.items():
        u = large.weights.get(w)
        if u is None:
            continue
        if u != v:  # a place in one, a plain word in the other ("di belawan", "tawuran pecah di Belawan"): a place in both
            top = max(u, v)
            norm_a, norm_b = norm_a - a.weights[w] ** 2 + top * top, norm_b - b.weights[w] ** 2 + top * top
            u = v = top
        dot += u * v
    return dot / math.sqrt(norm_a * norm_b)


def linked(a: ReportTrace, b: ReportTrace, rules: GroupingRules,
           specificity: Callable[[str], float]) -> bool:
    """Are ``a`` and ``b`` reports of one event?"""
    gap = abs(a.at - b.at)
    if gap > rules.place_window_s:
        return False
    proper_place = _same_proper_place(a, b)
    # later than the window: both must name one place; as a name, or at least typed ("guys ada yg
    # tau kebakaran di antapani?" half an hour after "jalan purwakarta arah antapani ditutup"),
    # and then their words must be as similar as two reports' within the window
    late = gap > rules.window_s and not proper_place
    if late and not _same_place(a, b):
        return False
    confident = min(a.emergency_score, b.emergency_score) >= rules.confident_score
    # one report's category is a guess ("Boat capsized during the Kampung Pulo evacuation" as an
    # accident, 0.55) and both name one place: compared as one kind, so the event is not split
    same_kind = a.category == b.category or (
        confident and min(a.category_score, b.category_score) < rules.unsure_category and _same_place(a, b))
    if not same_kind and not confident:
        return False  # a low-confidence emergency never joins an incident of another kind
    shared = a._word_set & b._word_set
    if not (a._evidence & b._evidence & shared) and not _same_place(a, b):
        return False  # "fire", "smoke", "banjir" alone: any two fires share them
    if (a._another or b._another) and not _same_named_place(a, b):
        return False  # telling of another fire, it shares the first's words ("jg ada kebakaran di juata, gudang kayu")
    if places_conflict(a._proper_places, b._proper_places, a._names, b._names):
        return False
    score = similarity(a, b)
    if late and not _shared_content(a, b, shared, specificity):
        return False  # a place typed in passing ("dilarikan ke rs pelabuhan belawan", "jalur arah belawan")
    if same_kind:
        # two specific words in common say one event as a shared place does ("Banjir Jatiasih ...
        # warga PGP" and "jatiasih kebanjiran lagi, rumah mertua di pgp kerendem")
        names_alike = proper_place or _specific_in_common(shared, specificity) >= 2
        return score >= (rules.place_similarity if names_alike else rules.similarity)
    if late or score < rules.strong_similarity:
        return False
    return _shared_content(a, b, shared, specificity)


def _specific_in_common(shared: frozenset[str], specificity: Callable[[str], float]) -> int:
    return sum(1 for w in shared - _PLACE_TYPES if specificity(w) >= EVIDENCE_MIN_SPECIFICITY)


def _shared_content(a: ReportTrace, b: ReportTrace, shared: frozenset[str],
                    specificity: Callable[[str], float]) -> bool:
    """They share a word saying what happened, not only a place ("flood", "busur", "gas")."""
    place_words = {w for key in a.places + b.places for w in key} | _PLACE_TYPES
    return any(specificity(w) >= CONTENT_MIN_SPECIFICITY for w in shared - place_words)
