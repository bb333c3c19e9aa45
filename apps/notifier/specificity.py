"""How specific a word is: inverse document frequency over a reference corpus, between 0 and 1.

"fire", "smoke", "banjir" and "people" appear in many reports of many events, so sharing them
says little; "Sudirman", "chlorine" or "scaffolding" appear in few, so sharing them says a lot.
The weight of a word is its IDF in each reference corpus divided by the IDF of a word that
corpus never saw (so 1.0 means "never seen"), the lowest over the corpora: a word common in
English *or* in Indonesian is generic.

The corpora (``reference/idf.json``, shipped) are document frequencies of the keywords of:
- the disaster-tweets training rows (English; not the evaluation rows), words in 3+ tweets;
- ``reference/indonesian.txt``, everyday Indonesian reports and chatter written for Siaga.

Indonesia's city and province names (``reference/cities.txt``) weigh ``CITY_SPECIFICITY`` at most,
as generic as "fire": every report from a city may name it, whichever event it is about.

Rebuild with ``python -m apps.notifier.specificity [--data DIR]`` (DIR: the disaster-tweets
directory, default as for the analyzer).
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from apps.notifier.keywords import keywords

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
IDF_FILE = REFERENCE_DIR / "idf.json"
INDONESIAN_FILE = REFERENCE_DIR / "indonesian.txt"
CITIES_FILE = REFERENCE_DIR / "cities.txt"
CITY_SPECIFICITY = 0.3  # under CONTENT_MIN_SPECIFICITY and PLACE_MIN_SPECIFICITY: no evidence, no place
MIN_DOCUMENTS = 3  # an English word in fewer tweets is not listed (it counts as never seen)
UNSEEN = 1.0  # the weight of a word no corpus has seen


@dataclass(frozen=True)
class Corpus:
    documents: int
    frequencies: dict[str, int]  # keyword ▸ documents it appears in

    def weight(self, word: str) -> float:
        unseen = math.log(self.documents + 1) + 1
        return (math.log((self.documents + 1) / (self.frequencies.get(word, 0) + 1)) + 1) / unseen

    @classmethod
    def of(cls, texts: list[str], min_documents: int = 1) -> "Corpus":
        frequencies: dict[str, int] = {}
        for text in texts:
            for word in keywords(text):
                frequencies[word] = frequencies.get(word, 0) + 1
        return cls(len(texts), {w: n for w, n in sorted(frequencies.items()) if n >= min_documents})


class WordSpecificity:
    def __init__(self, corpora: list[Corpus], cities: frozenset[str] = frozenset()):
        self.corpora = corpora
        self.cities = cities  # keywords of city names
        self._cache: dict[str, float] = {}

    def __call__(self, word: str) -> float:
        weight = self._cache.get(word)
        if weight is None:
            weight = min((c.weight(word) for c in self.corpora), default=UNSEEN)
            if word in self.cities:
                weight = min(weight, CITY_SPECIFICITY)
            if len(self._cache) < 200_000:
                self._cache[word] = weight
        return weight

    @classmethod
    def load(cls, path: Path = IDF_FILE, cities: Path = CITIES_FILE) -> "WordSpecificity":
        data = json.loads(path.read_text())
        return cls([Corpus(c["documents"], c["frequencies"]) for c in data["corpora"].values()], city_words(cities))


def city_words(path: Path = CITIES_FILE) -> frozenset[str]:
    """The keywords of ``reference/cities.txt``."""
    return frozenset(w for line in _lines(path) for w in keywords(line))


@cache
def city_names(path: Path = CITIES_FILE) -> dict[str, str]:
    """City keyword ▸ the city's name as ``reference/cities.txt`` writes it ("samarinda" ▸ "Samarinda"),
    for the cities named by one word (an incident's title names the city its reports name most)."""
    names: dict[str, str] = {}
    for line in _lines(path):
        words = keywords(line)
        if len(words) == 1:
            names.setdefault(words[0], line.strip())
    return names


@cache
def shipped() -> WordSpecificity:
    """The specificity of the shipped reference corpora (read once)."""
    return WordSpecificity.load()


def _lines(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def indonesian_texts() -> list[str]:
    return _lines(INDONESIAN_FILE)


def build(data_dir: Path | None) -> dict:
    from apps.analyzer.dataset import data_hash, load_split, resolve_data_dir

    directory = resolve_data_dir(data_dir)
    tweets = [t.text for split in ("fit", "validation") for t in load_split(directory, split)]
    english, indonesian = Corpus.of(tweets, MIN_DOCUMENTS), Corpus.of(indonesian_texts())
    return {
        "command": "python -m apps.notifier.specificity",
        "sources": {"en": f"disaster tweets fit+validation rows, {data_hash(directory)}",
                    "id": "apps/notifier/reference/indonesian.txt"},
        "corpora": {"en": {"documents": english.documents, "frequencies": english.frequencies},
                    "id": {"documents": indonesian.documents, "frequencies": indonesian.frequencies}},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Rebuild the notifier's word specificity table.")
    parser.add_argument("--data", type=Path, default=None, help="the disaster-tweets directory")
    parser.add_argument("--out", type=Path, default=IDF_FILE)
    args = parser.parse_args()
    table = build(args.data)
    args.out.write_text(json.dumps(table, ensure_ascii=False, separators=(",", ":")) + "\n")
    corpora = table["corpora"]
    print(f"wrote {args.out}: {corpora['en']['documents']} English and {corpora['id']['documents']} "
          f"Indonesian documents, {len(corpora['en']['frequencies'])} + {len(corpora['id']['frequencies'])} words")


if __name__ == "__main__":
    main()
