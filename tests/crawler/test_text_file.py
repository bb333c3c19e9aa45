"""Reading a CSV column for replay: blank, over-long and badly encoded texts."""

from __future__ import annotations

import pytest

from apps.crawler.texts import EXAMPLES, TextFile
from fogverse.contracts import MAX_TEXT_CHARS


def test_bad_bytes_become_replacement_characters_instead_of_stopping_the_replay(tmp_path):
    data = tmp_path / "mixed.csv"
    data.write_bytes(b"\xef\xbb\xbftext\nBanjir di \xff\xfe Kemang\n\"multi\nline flood\"\n" + b"y" * 200_000 + b"\n \n")
    texts = TextFile(data)
    assert [text for _, text in texts.rows()] == ["Banjir di \ufffd\ufffd Kemang", "multi\nline flood"]
    assert (texts.skipped_blank, texts.skipped_too_long) == (1, 1)
    assert 200_000 > MAX_TEXT_CHARS


def test_the_shipped_examples_hold_emergencies_of_every_category_and_look_alikes():
    import csv

    rows = list(csv.DictReader(EXAMPLES.open()))
    assert len(rows) >= 60
    assert {r["category"] for r in rows if r["emergency"] == "yes"} == {
        "fire", "accident", "natural_hazard", "violence", "hazmat", "other"}
    look_alikes = [r["text"] for r in rows if r["emergency"] == "no"]
    assert "This new song is fire, on repeat all day" in look_alikes
    assert "That exam was a disaster, I give up" in look_alikes


def test_an_empty_file_has_no_column(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="has no column 'text'"):
        TextFile(tmp_path / "empty.csv")
