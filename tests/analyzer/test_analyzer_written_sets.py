"""The written message sets: labelled as the category table says, and the held-out set kept apart."""

import csv
import re

import pytest

from apps.analyzer.data import write_training_set
from apps.analyzer.dataset import WRITTEN_DIR, load_written
from fogverse.contracts import CATEGORIES

NEAR_DUPLICATE_JACCARD = 0.6  # word-set overlap above which two messages count as one reworded


def _words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z0-9]+", text.lower()))


@pytest.fixture(scope="module")
def written():
    return {name: load_written(name) for name in ("training", "held_out", "held_out_2")}


HELD_OUT_SETS = ("held_out", "held_out_2")


def _normalized(tweets) -> set[str]:
    return {" ".join(t.text.lower().split()) for t in tweets}


@pytest.mark.parametrize("held_out", HELD_OUT_SETS)
def test_held_out_set_shares_no_message_with_the_training_set(written, held_out):
    assert not _normalized(written["training"]) & _normalized(written[held_out])


def test_the_two_held_out_sets_share_no_message(written):
    assert not _normalized(written["held_out"]) & _normalized(written["held_out_2"])


@pytest.mark.parametrize("held_out", HELD_OUT_SETS)
def test_held_out_set_has_no_near_duplicate_of_a_training_message(written, held_out):
    training = [_words(t.text) for t in written["training"]]
    for tweet in written[held_out]:
        words = _words(tweet.text)
        closest = max(len(words & other) / len(words | other) for other in training)
        assert closest < NEAR_DUPLICATE_JACCARD, tweet.text


@pytest.mark.parametrize("held_out", HELD_OUT_SETS)
def test_held_out_set_names_none_of_the_training_places(written, held_out):
    for tweet in written[held_out]:
        for place in write_training_set.PLACES:
            assert not re.search(rf"\b{re.escape(place)}\b", tweet.text), (place, tweet.text)


def test_held_out_set_has_several_hundred_of_each_kind(written):
    held_out = written["held_out"]
    emergencies = [t for t in held_out if t.emergency]
    assert len(emergencies) >= 250 and len(held_out) - len(emergencies) >= 250
    for category in CATEGORIES:
        assert sum(t.category == category for t in emergencies) >= 40, category


def test_second_held_out_set_covers_every_category_and_both_kinds(written):
    held_out = written["held_out_2"]
    emergencies = [t for t in held_out if t.emergency]
    assert len(emergencies) >= 140 and len(held_out) - len(emergencies) >= 140
    for category in CATEGORIES:
        assert sum(t.category == category for t in emergencies) >= 20, category


def test_training_file_is_what_its_script_writes(tmp_path, monkeypatch):
    monkeypatch.setattr(write_training_set, "OUT", tmp_path / "training.csv")
    write_training_set.main()
    assert (tmp_path / "training.csv").read_text() == (WRITTEN_DIR / "training.csv").read_text()


def test_a_label_outside_the_table_is_refused(tmp_path):
    with (tmp_path / "held_out.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([("text", "emergency", "category"), ("Smoke everywhere", "yes", "smoke")])
    with pytest.raises(ValueError, match="line 2"):
        load_written("held_out", tmp_path)
