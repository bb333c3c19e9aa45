"""The words of a report that say what it is about: what incident merging compares."""

from __future__ import annotations

import os
import re
from functools import lru_cache

from apps.notifier.lexicon import is_passive_verb

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_ENTITY = re.compile(r"&\w+;")
_WORD = re.compile(r"[^\W_]+")

# Function words in English and Indonesian (Siaga's home language), plus tweet noise.
STOPWORDS = frozenset("""
a about above after again against all also am an and any are around as at be been before being
below between both but by can could did do does doing down during each even every few for from
further get gets got had has have having he her here hers him his how i if in into is it its just
like made make many may me more most much must my near no nor not now of off on once only or other
our out over own really right same see seen she should so some still such than that the their them
then there these they this those through to too under until up us very via was we were what when
where which while who whom whose why will with would you your yours im ive dont cant its thats theres
whoever whatever though although because since yet
amp rt http https www com just today tonight now new news people one two lol omg pls please
yang dan di ke dari ini itu ada untuk dengan tidak akan sudah juga atau karena pada saya kami kita
mereka dia ya aja nih sih lagi bisa banyak sangat oleh telah masih jadi kalau
sebuah seorang sejumlah beberapa semua tadi banget
yg gw gue gua lu lo elu aku km kamu udh udah dah lg dr td tdi sm jg ga gak nggak enggak tp kalo klo
pd utk dgn krn blm belum kok dong deh kyk kayak kyknya kayaknya smua org bgt bnyk skrg sekarang
wkwk wkwkwk anjir woi woy guys abis habis
dekat deket dkt dpn depan belakang samping sebelah seberang akibat usai saat ketika setelah sejak
""".split())
# "yg", "udh", "bgt": chat spellings of the words above (the reference corpora lack them, so they
# would weigh as specific as a street's name)


# "beda sm yg di sekip", "bukan dr pasar", "selain di lakessi", "not the one on Elm Road": what follows
# names another event, up to the end of its clause
_CONTRAST = re.compile(
    r"\b(?:bukan\s+(?:yg|yang|di|dr|dari|ke)|beda(?:\s+(?:lokasi|tempat|kejadian|lg|lagi))?\s+(?:sm|sama|ama|dgn|dengan|dari|dr)"
    r"|selain|not\s+the\s+one|different\s+from|not\s+(?:at|in|on)\s+the)\b[^,.!?;:\n]*", re.IGNORECASE)


_EVENT_NOUNS = (r"(?:kebakaran|kebakar|terbakar|api|asap|asep|kecelakaan|tabrakan|laka|banjir|longsor|tawuran|ledakan"
                r"|fire|blaze|smoke|crash|accident|flood)(?!\s+(?:truck|engine|fighter|station|brigade|alarm|department))")
# "jg ada kebakaran", "ada asap lagi", "kebakaran lain", "another fire"
_ANOTHER = re.compile(
    rf"\b(?:(?:jg|juga)\s+ada\s+{_EVENT_NOUNS}|ada\s+{_EVENT_NOUNS}\s+(?:jg|juga|lagi|lg|lain)\b|{_EVENT_NOUNS}\s+(?:lain|kedua)\b"
    rf"|(?:another|a\s+second|second)\s+{_EVENT_NOUNS})", re.IGNORECASE)
# "dua kebakaran sekaligus", "2 lokasi kebakaran", "two fires", "both crashes"
_TWO = re.compile(r"\b(?:dua|2|two|both|kedua)\s+(?:lokasi\s+|titik\s+)?(?:kebakaran|kecelakaan|tabrakan|laka|banjir|longsor"
                  r"|tawuran|ledakan|kejadian|fires|crashes|accidents|floods|landslides|explosions)\b", re.IGNORECASE)


_ANOTHER_CUES = ("jg", "juga", "lagi", "lg", "lain", "kedua", "another", "second")  # one is in every match (a quick test)
_TWO_CUES = ("dua", "2", "two", "both", "kedua")


def tells_another(text: str) -> bool:
    """``text`` says it is about another event than the one people are talking about ("eh mlonggo jg
    ada kebakaran lho", "ada asap lagi tuh di arah selatan", "a second fire near the port"), or
    about two (:func:`tells_two`)."""
    lowered = text.lower()
    return (any(cue in lowered for cue in _ANOTHER_CUES) and _ANOTHER.search(text) is not None) or tells_two(text)


def tells_two(text: str) -> bool:
    """``text`` says two events are going on ("petugas menangani 2 kebakaran sekaligus, yaitu ... dan
    ...", "ada dua kebakaran skrg"): naming both, it is still no sign that they are one."""
    lowered = text.lower()
    return any(cue in lowered for cue in _TWO_CUES) and _TWO.search(text) is not None


@lru_cache(maxsize=256)  # read three times per report (its words, its places, its names)
def asserted(text: str) -> str:
    """``text`` without what it says it is not about ("rumah terbakar di cappa galung, beda lokasi sm
    lakessi" is about Cappa Galung only): the words and places grouping reads."""
    return _CONTRAST.sub(" ", text)


def keywords(text: str) -> tuple[str, ...]:
    """Lower-cased content words of three letters or more, crudely stemmed, numbers dropped.

    Each word once, in the order the text uses them (so equally frequent words show in reading order).
    """
    return tuple(keyword_forms(text))


def keyword_forms(text: str) -> dict[str, str]:
    """:func:`keywords` ▸ the word as first written (lower-cased), for display: "collaps" ▸ "collapsed"."""
    text = _ENTITY.sub(" ", _MENTION.sub(" ", _URL.sub(" ", text.lower())))
    words: dict[str, str] = {}
    for word in _WORD.findall(text):
        if len(word) < 3 or word in STOPWORDS or word.isdigit():
            continue
        words.setdefault(stem(word), word)
    return words


def stem(word: str) -> str:
    # "flooded", "flooding" and "floods" must match "flood", "collapsed" "collapse", "trapped"
    # "trap"; a full stemmer is overkill here. Indonesian "-nya" (its, the) goes: "asapnya" is
    # "asap", "rumahnya" "rumah" (not in short words: "hanya", "punya"), and the commonest Indonesian
    # affixes too: "kebakaran", "terbakar" and "dibakar" are "bakar", "penjambretan" "jambret".
    word = CHAT_FORMS.get(word) or _modern_spelling(word)
    if len(word) >= 6 and word.endswith("nya"):
        word = word[:-3]
    indonesian = _indonesian_root(word)
    if indonesian is not None:
        return indonesian
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[:-len(suffix)]
            if word[-1] == word[-2] and word[-1] not in "aeiousl":
                word = word[:-1]  # trapp ▸ trap, but not "fall" or "pass"
            return word
    if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    if len(word) >= 5 and word.endswith("e") and not word.endswith("ee"):
        word = word[:-1]
    return word


# Indonesian spelling before 1972, still in names: "Soebrantas" is "Subrantas", "Djuanda" "Juanda".
_OLD_SPELLING = (("oe", "u"), ("dj", "j"), ("tj", "c"))
# Chat spellings of the words every fire report uses: "asep item" is "asap hitam", black smoke. Unread
# by the reference corpora, they weighed as specific as a street's name and joined two fires in one city.
CHAT_FORMS = {"asep": "asap", "item": "hitam"}
_MIN_ROOT = 4


def _modern_spelling(word: str) -> str:
    for old, new in _OLD_SPELLING:
        if old in word:
            word = word.replace(old, new)
    return word


def _indonesian_root(word: str) -> str | None:
    """The root under the commonest Indonesian affixes, or None: ke-…-an ("kecelakaan"), pe-…-an
    ("penjambretan", "pembakaran"), di-…(-kan/-in) ("dijambret", "dipadamkan", "diungsiin") and
    ter- ("terbakar"). English words rarely take these shapes ("district" ▸ "strict" is harmless:
    both reports are stemmed alike)."""
    if word.endswith("an") and word.startswith("ke") and len(word) - 4 >= _MIN_ROOT:
        return word[2:-2]
    if word.endswith("an") and word.startswith("pe"):
        for prefix in ("peng", "pem", "pen", "per", "pe"):
            if word.startswith(prefix) and len(word) - len(prefix) - 2 >= _MIN_ROOT:
                return word[len(prefix):-2]
    if word.startswith("di") and len(word) >= 7:
        root = word[2:]
        for suffix in ("kan", "in"):
            if root.endswith(suffix) and len(root) - len(suffix) >= _MIN_ROOT:
                return root[: -len(suffix)]
        return root
    if word.startswith("ter") and len(word) >= 7:
        return word[3:]
    if word.startswith("ke") and is_passive_verb(word):  # "kebakar", "kejebak": spoken for ter-
        return word[2:]
    return None
