"""Reports of one event become one incident; growth alerts sparingly.

An incident is a connected group of reports under :func:`apps.notifier.grouping.linked`: a
report joins every open incident holding a report it is linked to, and when it links two, they
merge into the older one. So shuffled arrivals give the same incidents. One exception depends on
what is open: a confident report naming nothing and linked to nothing ("asapnya tebal, semoga
selamat") follows the single open confident incident of its category that names a place (of
several, the one whose reports alone share a word with it), and starts its own when none does;
a follower is counted but never linked to, so it bridges no two events. In a chat, what is open
is known better: a reply (``Report.reply_to``) follows the incident of the report it answers,
before anything its words link it to, when it is of that kind or its own kind is a guess; and a
report linked to nothing and naming no other place follows the latest incident of its kind that its
channel's emergency reports went to within the window ("masih ada yg kejebak?" in the group that was
just talking about the fire on Jalan Ahmad Yani, even after one message filed as another kind),
before any sole open incident is looked for; a report telling of another event ("jg ada kebakaran
di juata") follows nothing and links by a named place only, and one saying two are going on
("petugas menangani 2 kebakaran sekaligus, yaitu ... dan ...", or naming two villages as such)
joins the likest of those it links to, merges none and is no member later reports link to (unless it
opens its incident). A low-confidence emergency (emergency score under ``confident_score``) linked to
several incidents joins the likest too and merges none: it may be a look-alike sharing their words. The bots publish a channel's messages under its key, so they reach the
notifier in the order they were written. Each incident keeps its latest ``MEMBERS_KEPT`` reports
to link new ones against.

Its category is the one its reports vote for (weighted by their category scores), so one report
classified differently does not split an event. An incident alerts when it opens and again only
when its count reaches one of ``alert_counts`` (5, 20, 100 ... by default), so a burst of 200
reports about one fire sends 1 alert and 3 updates, not 200.

Time is the reports' own ``created_at``, never the clock, so replays of old data merge the way
the live stream did and the tracker is a pure function of its input (and of the order in which
it came only through the alerts it sent on the way).
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field
from typing import Callable

from apps.notifier.grouping import (CONTENT_MIN_SPECIFICITY, EVIDENCE_MIN_SPECIFICITY, GroupingRules, ReportTrace,
                                    linked, similarity)
from apps.notifier.keywords import asserted, keyword_forms
from apps.notifier.lexicon import is_word
from apps.notifier.places import ROADS
from apps.notifier.specificity import UNSEEN, city_names, shipped
from fogverse.contracts import CATEGORIES, MAX_SAMPLE_CHARS, Analysis, Incident, IncidentSample

MEMBERS_KEPT = 16  # latest reports per incident that new reports are compared with (cost: each is compared)
KEYWORDS_SHOWN = 6
SEEN_REPORTS_MAX = 100_000  # report ids remembered to ignore re-deliveries (the sink is at least once)
CONVERSATIONS_MAX = 10_000  # chats whose latest incidents are remembered
CHAT_INCIDENTS_KEPT = 4  # per chat, the incidents its latest emergency reports went to
CHAT_SOURCES = ("discord", "line")  # sources whose channel is a conversation
DEFAULT_CATEGORY_SCORE = 0.5  # the vote of a report whose category came without a score
# What an incident's title calls its kind (the push alerts and the receiver say the same).
CATEGORY_TITLES = {
    "fire": "Fire", "accident": "Accident", "natural_hazard": "Natural hazard",
    "violence": "Violence", "hazmat": "Hazardous materials", "other": "Emergency",
}


def incident_title(category: str, place: str | None = None, city: str | None = None) -> str:
    """"Fire at Jalan Sudirman", else "Flood in Samarinda" (the city its reports name), else "Fire".
    A road typed in lower case is written as a name ("jl dhoho" ▸ "Jl Dhoho"; "river mouth" stays)."""
    kind = CATEGORY_TITLES.get(category, "Emergency")
    if place and place.islower() and place.split()[0].rstrip(".") in ROADS:
        place = " ".join(word[:1].upper() + word[1:] for word in place.split())
    return f"{kind} at {place}" if place else f"{kind} in {city}" if city else kind


@dataclass(frozen=True)
class IncidentRules:
    window_s: float = 600.0
    place_window_s: float = 3600.0  # INCIDENT_PLACE_WINDOW's default
    similarity: float = 0.25  # INCIDENT_SIMILARITY's default
    alert_counts: tuple[int, ...] = (5, 20, 100, 500, 1000, 5000)
    max_incidents: int = 1000
    retention_s: float = 86400.0
    samples: int = 5

    @property
    def grouping(self) -> GroupingRules:
        return GroupingRules(window_s=self.window_s, place_window_s=max(self.place_window_s, self.window_s),
                             similarity=self.similarity,
                             place_similarity=min(GroupingRules.place_similarity, self.similarity))


@dataclass(frozen=True)
class IncidentChange:
    """What one report did: ``incident`` (its title and summary the alert's words) only when it is an alert."""

    incident_id: str
    created: bool
    alert: bool
    incident: Incident | None = None
    level: int = 0  # the alert's level: 1 when the incident opens, else the alert count reached
    absorbed: tuple[str, ...] = ()  # incidents this report showed to be the same event, merged into this one


@dataclass
class _OpenIncident:
    id: str
    first_seen: float
    last_seen: float
    count: int = 0
    members: list[ReportTrace] = field(default_factory=list)  # the latest MEMBERS_KEPT, by time
    words: Counter = field(default_factory=Counter)
    forms: dict[str, str] = field(default_factory=dict)  # stem ▸ the word as written
    places: Counter = field(default_factory=Counter)  # place name ▸ mentions
    votes: Counter = field(default_factory=Counter)  # category ▸ summed category scores
    samples: deque = field(default_factory=deque)  # the latest distinct texts; shown newest first
    max_score: float = 0.0
    sources: Counter = field(default_factory=Counter)
    alerted_count: int = 0
    _summary: str | None = field(default=None, repr=False, compare=False)  # summary(), until the members change

    @property
    def category(self) -> str:
        if len(self.votes) == 1:
            return next(iter(self.votes))
        return max(CATEGORIES, key=lambda c: (self.votes.get(c, 0.0), -CATEGORIES.index(c)))

    def absorb(self, analysis: Analysis, trace: ReportTrace, forms: dict[str, str], member: bool = True) -> None:
        report = analysis.report
        self.count += 1
        self.first_seen = min(self.first_seen, report.created_at)
        self.last_seen = max(self.last_seen, report.created_at)
        if member:
            self._keep_member(trace)
        self.words.update(trace.words)
        for stem, form in forms.items():
            self.forms.setdefault(stem, form)
        self.places.update(trace.place_names)
        self.votes[trace.category] += trace.category_score
        self._add_sample(IncidentSample(report_id=report.id, text=_shorten(report.text), source=report.source,
                                        created_at=report.created_at, emergency_score=analysis.emergency_score))
        self.max_score = max(self.max_score, analysis.emergency_score)
        self.sources[report.source] += 1

    def merge(self, other: "_OpenIncident") -> None:
        """Take in ``other``: the same event, found to be so by a report linked to both."""
        self.count += other.count
        self.first_seen = min(self.first_seen, other.first_seen)
        self.last_seen = max(self.last_seen, other.last_seen)
        for member in other.members:
            self._keep_member(member)
        self.words.update(other.words)
        for stem, form in other.forms.items():
            self.forms.setdefault(stem, form)
        self.places.update(other.places)
        self.votes.update(other.votes)
        for sample in sorted(other.samples, key=lambda s: s.created_at):
            self._add_sample(sample)
        self.max_score = max(self.max_score, other.max_score)
        self.sources.update(other.sources)
        self.alerted_count = max(self.alerted_count, other.alerted_count)

    def _keep_member(self, trace: ReportTrace) -> None:
        self._summary = None
        self.members.append(trace)
        if len(self.members) > MEMBERS_KEPT:
            self.members.sort(key=lambda m: (m.at, m.report_id))
            del self.members[:len(self.members) - MEMBERS_KEPT]

    def _add_sample(self, sample: IncidentSample) -> None:
        for same in [s for s in self.samples if s.text == sample.text]:
            self.samples.remove(same)  # a repost shows once, as its latest copy
        self.samples.append(sample)
        ordered = sorted(self.samples, key=lambda s: s.created_at)
        self.samples = deque(ordered[-self.samples.maxlen:] if self.samples.maxlen else ordered,
                             maxlen=self.samples.maxlen)

    def place(self) -> str | None:
        """The place its reports name most (the longest spelling of it, as "Jalan Sudirman")."""
        if not self.places:
            return None
        name, _ = max(self.places.items(), key=lambda item: (item[1], len(item[0]), item[0]))
        return name

    def city(self) -> str | None:
        """The city its reports name most ("Pangkalpinang" from "#pangkalpinang" and "Damkar Kota
        Pangkalpinang"), for a title when they name no place; the earliest in the alphabet on a tie."""
        names = city_names()
        named = [(n, names[w]) for w, n in self.words.items() if w in names]
        return min(named, key=lambda item: (-item[0], item[1]))[1] if named else None

    def title(self, place: str | None) -> str:
        """``place``: :meth:`place` (the snapshot finds it once, for the keywords too)."""
        return incident_title(self.category, place, None if place else self.city())

    def summary(self) -> str:
        """Its most representative report: the one most similar to the others (the earliest on a tie)."""
        if self._summary is None:
            members = sorted(self.members, key=lambda m: (m.at, m.report_id))
            best = max(members, key=lambda m: (sum(similarity(m, o) for o in members if o is not m), -m.at))
            self._summary = _shorten(best.text)
        return self._summary

    def shown_keywords(self, specificity: Callable[[str], float], place: str | None) -> list[str]:
        """``place``: :meth:`place`, shown first."""
        place_words = {w.lower() for name in self.places for w in name.split()}
        ranked = sorted(self.words, key=lambda w: (-self.words[w] * specificity(w), w))
        words = [self.forms.get(w, w) for w in ranked if w not in place_words and self.forms.get(w, w) not in place_words]
        return ([place] if place else []) + words[:KEYWORDS_SHOWN - (1 if place else 0)]

    def state(self) -> dict:
        """Everything about it, as JSON-ready data (what the store keeps)."""
        return {"id": self.id, "first_seen": self.first_seen, "last_seen": self.last_seen, "count": self.count,
                "members": [m.state() for m in self.members], "words": dict(self.words), "forms": self.forms,
                "places": dict(self.places), "votes": dict(self.votes),
                "samples": [s.model_dump(mode="json") for s in self.samples], "max_score": self.max_score,
                "sources": dict(self.sources), "alerted_count": self.alerted_count}

    @classmethod
    def from_state(cls, state: dict, samples: int, specificity: Callable[[str], float]) -> "_OpenIncident":
        return cls(id=state["id"], first_seen=state["first_seen"], last_seen=state["last_seen"], count=state["count"],
                   members=[ReportTrace.from_state(m, specificity) for m in state["members"]],
                   words=Counter(state["words"]), forms=dict(state["forms"]), places=Counter(state["places"]),
                   votes=Counter(state["votes"]),
                   samples=deque((IncidentSample.model_validate(s) for s in state["samples"]), maxlen=samples),
                   max_score=state["max_score"], sources=Counter(state["sources"]),
                   alerted_count=state["alerted_count"])

    def snapshot(self, specificity: Callable[[str], float]) -> Incident:
        place = self.place()
        return Incident(
            id=self.id, category=self.category, count=self.count, first_seen=self.first_seen,
            last_seen=self.last_seen, title=self.title(place), summary=self.summary(),
            keywords=self.shown_keywords(specificity, place),
            samples=sorted(self.samples, key=lambda s: s.created_at, reverse=True), max_score=self.max_score,
            sources=dict(self.sources), alerted_count=self.alerted_count,
        )


class IncidentTracker:
    """Thread-safe: the pipeline's worker thread observes, the web server's loop reads."""

    def __init__(self, rules: IncidentRules, specificity: Callable[[str], float] | None = None):
        self.rules = rules
        self.grouping = rules.grouping
        self.specificity = specificity or shipped()
        self._lock = threading.Lock()
        self._incidents: OrderedDict[str, _OpenIncident] = OrderedDict()  # least recently touched first
        self._by_word: dict[str, set[str]] = {}  # specific or place word ▸ incidents whose members use it
        # report id ▸ the incident it went to (None: seen before a restart, its incident unknown): re-deliveries
        # are ignored, replies find the incident of what they answer
        self._seen_reports: OrderedDict[str, str | None] = OrderedDict()
        self._merged_into: OrderedDict[str, str] = OrderedDict()  # incident id ▸ the incident that absorbed it
        # chat ▸ (time, incident) of the latest report it sent to each of its latest incidents, oldest first
        self._conversations: OrderedDict[str, list[tuple[float, str]]] = OrderedDict()
        self._newest = float("-inf")
        self.ignored = 0  # analyses that were not emergencies
        self.duplicates = 0  # re-delivered reports
        self._forgotten: list[str] = []  # incidents dropped since the last take_forgotten()

    def restore(self, states: list[dict], report_ids: list[str]) -> None:
        """Load what the store kept (incidents least recently seen first) before observing anything."""
        with self._lock:
            for state in states:
                incident = _OpenIncident.from_state(state, self.rules.samples, self.specificity)
                self._incidents[incident.id] = incident
                self._index(incident, incident.members)
                self._newest = max(self._newest, incident.last_seen)
            for report_id in report_ids:
                self._remember(report_id)
            for incident in self._incidents.values():
                for member in incident.members:
                    self._place(member, incident.id)

    def observe(self, analysis: Analysis) -> IncidentChange | None:
        """Fold one analysis in; None when it changes nothing (not an emergency, or seen before)."""
        if not analysis.emergency:
            with self._lock:
                self.ignored += 1
            return None
        report = analysis.report
        trace, forms = report_trace(analysis, self.specificity)
        with self._lock:
            if report.id in self._seen_reports:
                self.duplicates += 1
                return None
            self._remember(report.id)
            # a reply is about what it answers before anything its words link it to ("2 orang luka parah,
            # dibawa ke rs" under the toll-road crash links as well to the truck crash across the province)
            answered = self._open(self._seen_reports.get(report.reply_to)) if report.reply_to else None
            # a report telling of another event ("eh jg ada kebakaran lho") follows nothing: not what it
            # answers, nor its chat's incident, nor the sole open one
            matches = [] if trace.another else self._replied_incident(trace, answered)
            follower = bool(matches)
            if not follower:
                matches = self._linked_incidents(trace)
                # a post about both fires, or a low-confidence emergency (a look-alike may share any
                # incident's words): it joins the likest, merges none
                if len(matches) > 1 and (trace.tells_two or trace.emergency_score < self.grouping.confident_score):
                    matches = [max(matches, key=lambda i: (max(similarity(trace, m) for m in i.members), -i.first_seen))]
                # a reply that is not about what it answers is no vague follow-up of anything else
                follower = not matches and answered is None and not trace.another
                if follower:
                    matches = self._conversation_incident(trace) or self._sole_open_incident(trace)
                    follower = bool(matches)
            created = not matches
            if created:
                incident = _OpenIncident(id=uuid.uuid4().hex[:12], first_seen=report.created_at,
                                         last_seen=report.created_at, samples=deque(maxlen=self.rules.samples))
                self._incidents[incident.id] = incident
                absorbed: tuple[str, ...] = ()
            else:
                incident, *others = sorted(matches, key=lambda i: (i.first_seen, i.id))
                for other in others:
                    incident.merge(other)
                    self._merged_into[other.id] = incident.id
                    if len(self._merged_into) > SEEN_REPORTS_MAX:
                        self._merged_into.popitem(last=False)
                    del self._incidents[other.id]
                    self._unindex(other)
                    self._index(incident, other.members)
                absorbed = tuple(o.id for o in others)
            # a follower joined on its category alone, a post about two events joining one names the other
            # too: later reports link to what named this event
            member = not follower and (created or not trace.tells_two)
            incident.absorb(analysis, trace, forms, member=member)
            if member:
                self._index(incident, [trace])
            self._incidents.move_to_end(incident.id)
            self._place(trace, incident.id)
            alert = created or self._reached_alert_count(incident)
            if alert:
                incident.alerted_count = incident.count
            change = IncidentChange(
                incident.id, created, alert, incident.snapshot(self.specificity) if alert else None,
                incident.count if alert else 0, absorbed)
            self._newest = max(self._newest, report.created_at)
            self._forget_old()
            return change

    def incidents(self, category: str | None = None) -> list[Incident]:
        """Incidents, most recently seen first."""
        with self._lock:
            chosen = [i for i in self._incidents.values() if category is None or i.category == category]
            return [i.snapshot(self.specificity) for i in sorted(chosen, key=lambda i: i.last_seen, reverse=True)]

    def groups(self) -> list[set[str]]:
        """The report ids of each incident's kept members (for evaluating the grouping)."""
        with self._lock:
            return [{m.report_id for m in i.members} for i in self._incidents.values()]

    def get(self, incident_id: str) -> Incident | None:
        with self._lock:
            incident = self._incidents.get(incident_id)
            return incident.snapshot(self.specificity) if incident else None

    def state(self, incident_id: str) -> dict | None:
        with self._lock:
            incident = self._incidents.get(incident_id)
            return incident.state() if incident else None

    def take_forgotten(self) -> list[str]:
        """Incidents dropped (retention, memory bound) since the last call."""
        with self._lock:
            forgotten, self._forgotten = self._forgotten, []
            return forgotten

    def __len__(self) -> int:
        return len(self._incidents)

    def _linked_incidents(self, trace: ReportTrace) -> list[_OpenIncident]:
        candidates = {i for w in trace.evidence for i in self._by_word.get(w, ())}
        found = []
        for incident_id in candidates:
            incident = self._incidents.get(incident_id)
            if incident is None:
                continue
            if any(linked(trace, member, self.grouping, self.specificity) for member in incident.members):
                found.append(incident)
        return found

    def _sole_open_incident(self, trace: ReportTrace) -> list[_OpenIncident]:
        """A confident report that names no place and links to nothing ("asapnya tebal, semoga selamat")
        joins the one confident incident of its category open in the last hour, if that one names a
        place, began before it and was seen within the window; when several compete, the one whose
        reports alone share a specific word with it ("such a massive fire" and the massive fire on
        5th Street, not the house fire on Elm Road), else none, since nothing in it says which. Its
        own category must not be a guess."""
        rules = self.grouping
        if (trace.places or trace.emergency_score < rules.confident_score or trace.category_score < rules.unsure_category
                or _names_something(trace, self.specificity)):
            return []
        # an hour, as long as an event's reports trickle in: a fire whose last report was 20 minutes
        # ago is still burning, and a follow-up may be about it as much as about the one seen now
        competing = [i for i in self._incidents.values()
                     if i.category == trace.category and i.max_score >= rules.confident_score
                     and i.first_seen - rules.window_s <= trace.at <= i.last_seen + rules.place_window_s]
        if len(competing) > 1:
            competing = _sharing_words(trace, competing, self.specificity)
        if len(competing) != 1:
            return []
        (incident,) = competing
        followed = bool(incident.places) and incident.first_seen <= trace.at <= incident.last_seen + rules.window_s
        return [incident] if followed else []

    def _replied_incident(self, trace: ReportTrace, incident: _OpenIncident | None) -> list[_OpenIncident]:
        """A reply follows ``incident``, the open incident of the report it answers, when it is of that incident's
        kind or its own kind is a guess ("ada yg luka2 dibawa ke rs" under the fire report, an accident
        at 0.52, is about the fire), unless it names a place that incident does not: a new event told
        in a reply ("bukan, itu rumah terbakar di cappa galung"; "yg ini truk masuk jurang", surely an
        accident, under a question about a landslide)."""
        rules = self.grouping
        if incident is None or not trace.names_places_of(incident.members):
            return []
        if incident.category != trace.category and trace.category_score >= rules.unsure_category:
            return []
        return [incident] if incident.first_seen - rules.window_s <= trace.at <= (
            incident.last_seen + rules.place_window_s) else []

    def _conversation_incident(self, trace: ReportTrace) -> list[_OpenIncident]:
        """A chat message naming no place the incident does not follows the latest incident of its kind
        (or any, for a confident report whose kind is a guess) that its chat's emergency reports went
        to within the window: in a chat people write about what the chat is talking about, and one
        message of another kind in between ("ada yg luka2 dibawa ke rs", filed as violence under the
        fire) is no change of subject."""
        rules = self.grouping
        latest = self._conversations.get(trace.conversation, []) if trace.conversation else []
        any_kind = trace.emergency_score >= rules.confident_score and trace.category_score < rules.unsure_category
        for at, incident_id in reversed(latest):
            incident = self._open(incident_id)
            if abs(trace.at - at) > rules.window_s or incident is None:
                continue
            if incident.category == trace.category or any_kind:
                return [incident] if trace.names_places_of(incident.members) else []
        return []

    def _open(self, incident_id: str | None) -> _OpenIncident | None:
        """The open incident ``incident_id`` is now (merges move reports into older incidents)."""
        for _ in range(64):  # a chain of merges is short; a bound all the same
            if incident_id is None or incident_id in self._incidents:
                break
            incident_id = self._merged_into.get(incident_id)
        return self._incidents.get(incident_id) if incident_id is not None else None

    def _place(self, trace: ReportTrace, incident_id: str) -> None:
        """Remember where ``trace`` went: for replies to it, and as its chat's latest incident."""
        self._remember(trace.report_id, incident_id)
        if trace.conversation:
            latest = self._conversations.get(trace.conversation, [])
            if any(known == incident_id and at >= trace.at for at, known in latest):
                return  # (a restore places members in no particular order)
            latest = sorted([(at, known) for at, known in latest if known != incident_id] + [(trace.at, incident_id)])
            self._conversations[trace.conversation] = latest[-CHAT_INCIDENTS_KEPT:]
            self._conversations.move_to_end(trace.conversation)
            if len(self._conversations) > CONVERSATIONS_MAX:
                self._conversations.popitem(last=False)

    def _index(self, incident: _OpenIncident, members: list[ReportTrace]) -> None:
        for member in members:
            for word in member.evidence:
                self._by_word.setdefault(word, set()).add(incident.id)

    def _reached_alert_count(self, incident: _OpenIncident) -> bool:
        return any(incident.alerted_count < n <= incident.count for n in self.rules.alert_counts)

    def _remember(self, report_id: str, incident_id: str | None = None) -> None:
        if incident_id is None:
            self._seen_reports.setdefault(report_id, None)
        else:
            self._seen_reports[report_id] = incident_id
        if len(self._seen_reports) > SEEN_REPORTS_MAX:
            self._seen_reports.popitem(last=False)

    def _forget_old(self) -> None:
        horizon = self._newest - self.rules.retention_s
        while self._incidents:
            oldest = next(iter(self._incidents.values()))
            if len(self._incidents) > self.rules.max_incidents or oldest.last_seen < horizon:
                forgotten, incident = self._incidents.popitem(last=False)
                self._forgotten.append(forgotten)
                self._unindex(incident)
            else:
                break

    def _unindex(self, incident: _OpenIncident) -> None:
        for word in {w for m in incident.members for w in m.evidence} | set(incident.words):
            ids = self._by_word.get(word)
            if ids is not None:
                ids.discard(incident.id)
                if not ids:
                    del self._by_word[word]


def report_trace(analysis: Analysis, specificity: Callable[[str], float]) -> tuple[ReportTrace, dict[str, str]]:
    """What grouping reads of one emergency (its text shortened as its sample is), and its keywords as written."""
    report = analysis.report
    text = _shorten(report.text)
    forms = keyword_forms(asserted(text))
    trace = ReportTrace.of(report.id, report.created_at, analysis.category or "other",
                           analysis.category_score if analysis.category_score is not None else DEFAULT_CATEGORY_SCORE,
                           analysis.emergency_score, text, specificity, forms, conversation(analysis))
    return trace, forms


def conversation(analysis: Analysis) -> str:
    """The chat a report was written in, "" when it came from no chat (the crawler's posts)."""
    report = analysis.report
    return f"{report.source}:{report.channel_id}" if report.source in CHAT_SOURCES and report.channel_id else ""


def _sharing_words(trace: ReportTrace, competing: list[_OpenIncident],
                   specificity: Callable[[str], float]) -> list[_OpenIncident]:
    """Those of ``competing`` whose kept reports share a specific word with ``trace`` that no other
    one's do ("house" or "padam", put out, tell no two fires apart)."""
    words = {stem for stem, word in keyword_forms(trace.text).items()
             if specificity(stem) >= EVIDENCE_MIN_SPECIFICITY and not _everyday_word(stem, word, specificity)}
    used = [{w for m in incident.members for w in m.words} & words for incident in competing]
    return [incident for k, incident in enumerate(competing)
            if used[k] - set().union(*(u for j, u in enumerate(used) if j != k))]


def _names_something(trace: ReportTrace, specificity: Callable[[str], float]) -> bool:
    """A capitalised word, likely a name the place finder missed ("Flood in Cipinang", "Garut earthquake");
    a first word counts only when it is specific ("Scaffolding collapsed", not "Praying for"). A word
    neither reference corpus has ever seen counts too, unless it is an everyday word: most are names
    written in lower case ("the family from the margonda fire is safe")."""
    first, *rest = trace.text.split() or [""]
    if any(w[:1].isupper() for w in rest) or any(
            specificity(stem) >= UNSEEN and not _everyday_word(stem, word, specificity)
            for stem, word in keyword_forms(trace.text).items()):
        return True
    return first[:1].isupper() and any(specificity(w) >= EVIDENCE_MIN_SPECIFICITY for w in keyword_forms(first))


def _everyday_word(stem: str, word: str, specificity: Callable[[str], float]) -> bool:
    """A word no reference corpus has seen that is an everyday Indonesian word all the same, or a chat
    spelling of one ("katanya", "ngungsi", "jgn"): as specific as the corpora make it, not a name."""
    return specificity(stem) >= UNSEEN and is_word(word)


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_SAMPLE_CHARS else text[:MAX_SAMPLE_CHARS - 1] + "…"
