"""Is a word an everyday Indonesian word, in its standard or its chat spelling ("kebakar", "jgn")?

The reference corpora (:mod:`specificity`) are small for Indonesian, so a common word they never
saw ("katanya", "ngungsi") would pass for a name the place finder missed. Two lexicons from PyPI
tell words from names:
- PySastrawi (MIT): its stemmer and its 29,931 root words ("kebakar" ▸ "bakar", "katanya" ▸ "kata");
- indoNLP (MIT): its 4,331 chat spellings (Kamus Alay, the Colloquial Indonesian Lexicon:
  "jgn" ▸ "jangan", "tebel" ▸ "tebal").
Street and district names are in neither ("sudirman", "margonda", "tuparev").
"""

from __future__ import annotations

from functools import cache, lru_cache

from indoNLP.preprocessing.slang_data import SLANG_DATA
from Sastrawi.Dictionary.ArrayDictionary import ArrayDictionary
from Sastrawi.Stemmer.Stemmer import Stemmer
from Sastrawi.Stemmer.StemmerFactory import StemmerFactory


@cache
def _roots() -> frozenset[str]:
    return frozenset(w for w in StemmerFactory().get_words() if w)


@cache
def _stemmer() -> Stemmer:
    return Stemmer(ArrayDictionary(list(_roots())))


# Agencies and their words, in every city's reports: names, but of no place or event.
AGENCIES = frozenset("""
damkar bpbd bnpb bmkg basarnas sar polri polda polres polresta polrestabes polsek satlantas laka lantas
brimob tni kodim koramil dinkes rsud puskesmas pmi tagana jasa marga pln pdam kai kemensos
""".split())


WORDS_CACHED = 100_000  # words from the wire are untrusted: the memo of each answer is bounded


@lru_cache(maxsize=WORDS_CACHED)
def is_word(word: str) -> bool:
    """``word`` (lower case) is an Indonesian word or a chat spelling of one, not a name."""
    word = word.rstrip("2")  # "anak2", "muntah2": reduplication in chat
    if not word.isalpha():
        return False
    if word in AGENCIES:
        return True
    standard = SLANG_DATA.get(word, word)
    if " " in standard:  # "kyknya" ▸ "kayak nya"
        standard = standard.split()[0]
    roots, stemmer = _roots(), _stemmer()
    return any(form in roots or stemmer.stem(form) in roots for form in _chat_roots(standard))


def _chat_roots(word: str) -> list[str]:
    """``word`` and what it may be under the affixes of spoken Indonesian: "dihentiin" (-in for
    -kan), "ngungsi" (ng- for meng-), "ketangkep" (ke- for ter-, and e for a: "tangkap")."""
    forms = [word]
    for suffix in ("in", "an"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            forms.append(word[: -len(suffix)])
    for prefix in ("di", "ke", "nge", "ng", "ny"):
        for form in list(forms):
            if form.startswith(prefix) and len(form) - len(prefix) >= 3:
                forms.append(form[len(prefix):])
    for nasal, initial in (("ny", "s"), ("ng", "k"), ("n", "t"), ("m", "p")):  # "nyengat" ▸ "sengat", "nabrak" ▸ "tabrak"
        for form in list(forms):
            if form.startswith(nasal) and len(form) - len(nasal) >= 3:
                forms.append(initial + form[len(nasal):])
    for form in list(forms):
        tail = form.rfind("e")
        if tail > 0 and tail >= len(form) - 3:
            forms.append(form[:tail] + "a" + form[tail + 1:])  # "tangkep", "dateng", "sesek" ▸ "sesak"
    return forms


@lru_cache(maxsize=WORDS_CACHED)
def is_passive_verb(word: str) -> bool:
    """"kebakar", "kejebak", "ketabrak", "terbakar": ke- (spoken) or ter- and a root word, the word
    itself no root ("kelapa", "kebun" are)."""
    roots = _roots()
    if word in roots:
        return False
    for prefix in ("ter", "ke"):
        if word.startswith(prefix) and len(word) - len(prefix) >= 4:
            root = word[len(prefix):]
            if root in roots or SLANG_DATA.get(root, "") in roots:
                return True
    return False
