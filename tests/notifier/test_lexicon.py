"""Everyday Indonesian words and their chat spellings, told from the names of places."""

import pytest

from apps.notifier.lexicon import is_passive_verb, is_word


@pytest.mark.parametrize("word", [
    "kota", "katanya", "kebakar", "pelabuhan",  # root words under their affixes
    "jgn", "tebel", "skrg", "anak2",  # chat spellings (Kamus Alay), reduplication as "2"
    "ngungsi", "nyengat", "nabrak", "dihentiin", "ketangkep", "dateng",  # spoken affixes and vowels
    "damkar", "bpbd", "polresta",  # agencies: in every city's reports
])
def test_everyday_words_are_words(word):
    assert is_word(word)


@pytest.mark.parametrize("word", ["sudirman", "margonda", "tuparev", "haryono", "soebrantas", "jatiasih", "cipinang",
                                  "kaligawe", "antapani", "x9", ""])
def test_street_and_district_names_are_not(word):
    assert not is_word(word)


@pytest.mark.parametrize("word, passive", [
    ("kebakar", True), ("kejebak", True), ("ketabrak", True), ("terbakar", True),
    ("kelapa", False), ("kebon", False), ("kedaton", False), ("kemayoran", False), ("terminal", False),
    ("ternate", False), ("kelayan", False),
])
def test_passive_verbs(word, passive):
    assert is_passive_verb(word) is passive


def test_the_memo_of_words_from_the_wire_is_bounded():
    for n in range(3):
        is_word(f"zzq{n}kata")
    assert is_word.cache_info().maxsize == is_passive_verb.cache_info().maxsize == 100_000
