"""Incident merging and alerting: a pure function of the analyses fed in."""

from __future__ import annotations

import random

from apps.notifier.incidents import IncidentRules, IncidentTracker
from apps.notifier.keywords import keyword_forms, keywords
from fogverse.contracts import MAX_SAMPLE_CHARS, Analysis, Report

T0 = 1_700_000_000.0


def analysis(text: str, at: float = T0, category: str | None = "fire", emergency: bool = True,
             report_id: str | None = None, score: float = 0.9, source: str = "crawler") -> Analysis:
    report = Report(text=text, source=source, created_at=at, **({"id": report_id} if report_id else {}))
    return Analysis(report=report, emergency=emergency, emergency_score=score,
                    category=category if emergency else None, category_score=0.8 if emergency else None,
                    model_version="test")


def riverside_fire_reports(n: int, seed: int = 7) -> list[str]:
    """n different texts about one fire, as a crowd would write them."""
    rng = random.Random(seed)
    openings = ["Huge fire at the Riverside warehouse", "Riverside warehouse is on fire",
                "Smoke pouring out of the Riverside warehouse", "The warehouse by Riverside bridge is burning",
                "Flames at Riverside warehouse right now", "Firefighters at the Riverside warehouse fire"]
    endings = ["", " stay away", " smoke everywhere", " so scary", " roads closed", " pray for the workers",
               " can see it from downtown", " sirens everywhere"]
    return [rng.choice(openings) + rng.choice(endings) + ("!" * rng.randint(0, 2)) for _ in range(n)]


def test_keywords_fold_plurals_and_drop_noise():
    text = "FIRES near the @mayor's house!! https://t.co/x 2024 &amp; smoke, fire"
    assert keywords(text) == ("fire", "hous", "smok")
    assert keyword_forms(text) == {"fire": "fires", "hous": "house", "smok": "smoke"}, "shown as first written"
    assert keywords("collapsed collapses collapse trapped trap") == ("collaps", "trap")
    assert keywords("!!! ?? ..") == ()
    assert keywords("asapnya asap rumahnya hanya") == ("asap", "rumah", "hanya"), "Indonesian -nya, not in short words"


def test_burst_about_one_fire_is_one_incident_with_one_alert_and_few_updates():
    tracker = IncidentTracker(IncidentRules(alert_counts=(5, 20, 100)))
    changes = [tracker.observe(analysis(text, at=T0 + i * 0.5)) for i, text in enumerate(riverside_fire_reports(200))]

    assert len(tracker) == 1
    (incident,) = tracker.incidents()
    assert incident.count == 200
    alerts = [c for c in changes if c.alert]
    assert [c.incident.count for c in alerts] == [1, 5, 20, 100]
    assert [c.created for c in alerts] == [True, False, False, False]
    assert incident.alerted_count == 100
    assert incident.first_seen == T0 and incident.last_seen == T0 + 199 * 0.5
    assert incident.keywords[0] == "Riverside warehouse", "the place leads"
    assert "fire" in incident.keywords


def test_an_incident_is_titled_by_its_kind_and_place_else_its_city_and_summed_up_by_its_likest_report():
    tracker = IncidentTracker(IncidentRules())
    fire = ["Riverside warehouse: police closed the roads", "Riverside warehouse on fire, black smoke",
            "Riverside warehouse on fire, black smoke everywhere"]
    for i, text in enumerate(fire):
        tracker.observe(analysis(text, at=T0 + i, source=("crawler", "line", "discord")[i]))
    tracker.observe(analysis("Banjir setinggi lutut, warga Samarinda mengungsi ke masjid", at=T0 + 5,
                             category="natural_hazard"))
    tracker.observe(analysis("#samarinda banjir lagi, air masuk rumah", at=T0 + 6, category="natural_hazard"))
    tracker.observe(analysis("Man stabbed, he is bleeding badly", at=T0 + 7, category="violence"))
    by_kind = {i.category: i for i in tracker.incidents()}
    assert by_kind["fire"].title == "Fire at Riverside warehouse"
    assert by_kind["fire"].summary in fire[1:], "one of the two alike, not the one about the roads"
    assert by_kind["fire"].sources == {"crawler": 1, "line": 1, "discord": 1}
    assert by_kind["natural_hazard"].title == "Natural hazard in Samarinda", "no place named: the city"
    assert by_kind["violence"].title == "Violence" and by_kind["violence"].summary == "Man stabbed, he is bleeding badly"
    tracker.observe(analysis("kebakaran di jl dhoho deket stasiun", at=T0 + 8))
    assert tracker.incidents()[0].title == "Fire at Jl Dhoho", "a road typed in lower case is written as a name"
    tracker.observe(analysis("A crocodile grabbed a fisherman at the river mouth", at=T0 + 9, category="other"))
    assert tracker.incidents()[0].title == "Emergency at river mouth", "not a name: as written"


def test_reports_worded_differently_about_one_flood_merge():
    tracker = IncidentTracker(IncidentRules())
    for i, text in enumerate(["Flood water up to our knees on Jalan Sudirman, cars stuck",
                              "Jalan Sudirman completely flooded now, the water keeps rising",
                              "Flooding on Sudirman getting worse, people moving to the mosque upstairs"]):
        tracker.observe(analysis(text, at=T0 + i, category="natural_hazard"))
    assert [i.count for i in tracker.incidents()] == [3]
    assert keywords("flooded flooding floods") == ("flood",)


def test_different_fires_at_the_same_time_stay_apart():
    tracker = IncidentTracker(IncidentRules())
    tracker.observe(analysis("Huge fire at the Riverside warehouse, smoke everywhere"))
    tracker.observe(analysis("Kitchen fire in my neighbour's apartment on Elm street", at=T0 + 5))
    tracker.observe(analysis("Riverside warehouse still burning", at=T0 + 10))
    counts = sorted(i.count for i in tracker.incidents())
    assert counts == [1, 2]


def test_one_event_reported_in_two_categories_is_one_incident_whose_reports_decide_its_category():
    tracker = IncidentTracker(IncidentRules())
    tracker.observe(analysis("Explosion and fire at the chemical plant on Harbor road", category="fire"))
    tracker.observe(analysis("Fire at the Harbor road chemical plant, explosions heard", at=T0 + 2, category="fire"))
    change = tracker.observe(analysis("Chemical leak at the plant on Harbor road after the explosion", at=T0 + 5,
                                      category="hazmat"))
    assert not change.created
    (incident,) = tracker.incidents()
    assert incident.category == "fire" and incident.count == 3
    assert tracker.incidents(category="hazmat") == []


def test_the_category_follows_the_majority_of_an_incidents_reports():
    tracker = IncidentTracker(IncidentRules())
    tracker.observe(analysis("Chlorine leak at the Cawang water treatment plant", category="fire"))
    for i in range(2):
        tracker.observe(analysis(f"Chlorine gas leaking at the Cawang treatment plant {i}", at=T0 + 1 + i,
                                 category="hazmat"))
    assert [i.category for i in tracker.incidents()] == ["hazmat"]


def test_a_fire_and_a_flood_in_one_street_at_once_stay_apart():
    tracker = IncidentTracker(IncidentRules())
    tracker.observe(analysis("Fire on Jalan Sudirman, a shop is burning", category="fire"))
    tracker.observe(analysis("Jalan Sudirman flooded, water up to the knees", at=T0 + 5, category="natural_hazard"))
    assert sorted(i.category for i in tracker.incidents()) == ["fire", "natural_hazard"]


def test_a_report_linked_to_two_incidents_merges_them_into_the_older():
    tracker = IncidentTracker(IncidentRules())
    first = tracker.observe(analysis("Gudang terbakar di Jalan Gatot Subroto", category="fire"))
    second = tracker.observe(analysis("Warehouse blaze, black smoke over the toll road", at=T0 + 1, category="fire"))
    assert second.created, "nothing links these two yet"
    bridge = tracker.observe(analysis("Warehouse blaze on Gatot Subroto, smoke over the toll road", at=T0 + 2,
                                      category="fire"))
    assert bridge.incident_id == first.incident_id and bridge.absorbed == (second.incident_id,)
    assert [i.count for i in tracker.incidents()] == [3]


def test_an_alert_names_the_place_and_the_most_representative_report():
    tracker = IncidentTracker(IncidentRules(alert_counts=(3,)))
    texts = ["Building collapsed in Tanah Abang, people trapped under the rubble",
             "Tanah Abang building collapse, rescuers digging for people trapped",
             "Collapsed building Tanah Abang"]
    changes = [tracker.observe(analysis(t, at=T0 + i, category="accident")) for i, t in enumerate(texts)]
    assert changes[0].incident.title == "Accident at Tanah Abang" and changes[0].incident.summary == texts[0]
    assert changes[2].alert and changes[2].level == 3 and changes[2].incident.title == "Accident at Tanah Abang"
    keywords = tracker.incidents()[0].keywords
    assert keywords[0] == "Tanah Abang" and "collapsed" in keywords and "collaps" not in keywords


def test_a_restored_tracker_goes_on_where_the_stored_one_stopped():
    tracker = IncidentTracker(IncidentRules(alert_counts=(3,)))
    first = tracker.observe(analysis("Flood in Kampung Melayu, water up to the chest", category="natural_hazard",
                                     report_id="r1"))
    tracker.observe(analysis("Kampung Melayu flooded again", at=T0 + 1, category="natural_hazard", report_id="r2"))
    restored = IncidentTracker(IncidentRules(alert_counts=(3,)))
    restored.restore([tracker.state(first.incident_id)], ["r1", "r2"])

    assert restored.incidents() == tracker.incidents()
    assert restored.observe(analysis("Kampung Melayu flooded again", category="natural_hazard",
                                     report_id="r2")) is None, "a re-delivered report counts once"
    third = restored.observe(analysis("Banjir Kampung Melayu makin tinggi", at=T0 + 2, category="natural_hazard"))
    assert third.incident_id == first.incident_id and third.alert and third.level == 3


def test_reports_further_apart_than_the_window_open_a_new_incident():
    tracker = IncidentTracker(IncidentRules(window_s=600, place_window_s=600))
    tracker.observe(analysis("Flooding on Sudirman road, cars stuck", category="natural_hazard"))
    inside = tracker.observe(analysis("Sudirman road flooding getting worse", at=T0 + 599, category="natural_hazard"))
    later = tracker.observe(analysis("Sudirman road flooding again", at=T0 + 599 + 601, category="natural_hazard"))
    assert not inside.created
    assert later.created
    assert sorted(i.count for i in tracker.incidents()) == [1, 2]


def test_reports_naming_one_place_merge_within_the_place_window():
    tracker = IncidentTracker(IncidentRules(window_s=600, place_window_s=3600))
    first = tracker.observe(analysis("Flooding on Sudirman road, cars stuck", category="natural_hazard"))
    later = tracker.observe(analysis("Sudirman road flooding again", at=T0 + 1800, category="natural_hazard"))
    vague = tracker.observe(analysis("flooding again, cars stuck", at=T0 + 1800 + 601, category="natural_hazard"))
    assert later.incident_id == first.incident_id
    assert vague.created  # no place: only the 10-minute window


def test_non_emergencies_are_ignored_and_counted():
    tracker = IncidentTracker(IncidentRules())
    assert tracker.observe(analysis("this song is fire", emergency=False)) is None
    assert len(tracker) == 0 and tracker.ignored == 1


def test_a_redelivered_report_counts_once():
    tracker = IncidentTracker(IncidentRules())
    first = tracker.observe(analysis("Bus crashed into a tree on Jalan Merdeka", category="accident", report_id="r1"))
    again = tracker.observe(analysis("Bus crashed into a tree on Jalan Merdeka", category="accident", report_id="r1"))
    assert first.created and again is None
    assert tracker.incidents()[0].count == 1 and tracker.duplicates == 1


def test_memory_is_bounded_by_dropping_the_least_recently_seen():
    tracker = IncidentTracker(IncidentRules(max_incidents=3))
    texts = ["Building collapsed downtown", "Train derailed near Bogor", "Ferry capsized off Bali",
             "Crane toppled onto a school", "Bridge gave way under a truck"]
    for i, text in enumerate(texts):
        tracker.observe(analysis(text, at=T0 + i, category="accident"))
    assert len(tracker) == 3
    assert [i.samples[0].text for i in tracker.incidents()] == texts[:1:-1]


def test_incidents_not_seen_for_the_retention_are_forgotten():
    tracker = IncidentTracker(IncidentRules(retention_s=3600))
    tracker.observe(analysis("Landslide blocks the mountain pass road", category="natural_hazard"))
    tracker.observe(analysis("Armed robbery at the central market", at=T0 + 3601, category="violence"))
    assert [i.category for i in tracker.incidents()] == ["violence"]


def test_samples_are_the_newest_few_and_long_texts_are_shortened():
    tracker = IncidentTracker(IncidentRules(samples=3))
    long_text = "Gas leak at Riverside factory " + "evacuate now " * 100
    for i in range(5):
        tracker.observe(analysis(f"Gas leak at Riverside factory report {i}", at=T0 + i, category="hazmat",
                                 score=0.5 + i / 10))
    tracker.observe(analysis(long_text, at=T0 + 10, category="hazmat", score=0.6, source="line"))
    (incident,) = tracker.incidents()
    assert len(incident.samples) == 3
    assert incident.samples[0].text.endswith("…") and len(incident.samples[0].text) == MAX_SAMPLE_CHARS
    assert [s.text for s in incident.samples[1:]] == ["Gas leak at Riverside factory report 4",
                                                      "Gas leak at Riverside factory report 3"]
    assert incident.max_score == 0.9
    assert incident.sources == {"crawler": 5, "line": 1}


def test_reposts_of_one_text_show_once_among_the_samples():
    tracker = IncidentTracker(IncidentRules(samples=3))
    for i, text in enumerate(["Ferry sinking off Merak", "Ferry sinking off Merak harbour now",
                              "Ferry sinking off Merak", "Ferry sinking off Merak"]):
        tracker.observe(analysis(text, at=T0 + i, category="accident"))
    (incident,) = tracker.incidents()
    assert incident.count == 4
    assert [s.text for s in incident.samples] == ["Ferry sinking off Merak", "Ferry sinking off Merak harbour now"]
    assert incident.samples[0].created_at == T0 + 3


def test_an_emergency_without_a_category_counts_as_other():
    tracker = IncidentTracker(IncidentRules())
    tracker.observe(analysis("Help! Something terrible happened at the stadium", category=None))
    assert tracker.incidents()[0].category == "other"
