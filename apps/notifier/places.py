"""Place names in a report, in English and Indonesian: what tells two fires apart.

Found by pattern, no gazetteer:
- a place word and its name: "Jalan Sudirman", "Jl. Gatot Subroto", "Pasar Baru", "Stasiun
  Manggarai", "Kampung Melayu", "Elm Road", "5th Street", "Merak harbour", "tol Cipularang";
- capitalised words after a preposition: "at the Riverside warehouse", "in Tanah Abang",
  "di Cawang", "near Bekasi station", or after what happened, as headlines write it: "Banjir Jatiasih".
A city or regency after "Kota", "Kabupaten" is no place: it says whose agency came ("Damkar Kota
Palembang"), not where.

A place's *key* is its name words, lower-cased and stemmed like keywords, without the words
that only say what kind of place it is ("Jalan Sudirman", "Sudirman" and "Sudirman street" are
one place) but with those that are part of its name ("Kampung Melayu" and "Cipinang Melayu",
"Pasar Baru" and "Pasar Senen" are two). Two mentions are one place when one key holds the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from apps.notifier.keywords import STOPWORDS, stem
from apps.notifier.lexicon import is_passive_verb, is_word

# Words that say "a place", not which one; they lead ("Jalan X") or follow ("X Street") a name.
LEADING = frozenset("""
jalan jl jln gang gg kampung kp desa kelurahan kel kecamatan kec kota kabupaten kab pasar stasiun terminal
perumahan perum komplek kompleks tol simpang bundaran pelabuhan kali sungai gunung pantai bukit tanah jembatan
taman halte gedung mal plaza pabrik rumah sakit rs sekolah masjid gereja kantor
gudang toko ruko bandara stadion apartemen lapangan kampus puskesmas klinik hutan danau waduk bendungan dermaga
spbu hotel terowongan
mount lake river port
""".split())
TRAILING = frozenset("""
street st road rd avenue ave lane boulevard blvd highway bridge square market station terminal harbour harbor
mall park pass junction toll warehouse apartment apartments building factory plant school hospital village
district city town beach trail mosque church tower hotel airport stadium office complex residence area
""".split())
# Leading words of a city or a regency: a jurisdiction, too wide to say two reports are of one event
# ("Damkar Kota Palembang" turns out for both fires in Palembang); "di Palembang" is read as a place.
JURISDICTIONS = frozenset("kota kabupaten kab provinsi prov".split())
# Leading words of a road: the name after one is a road's, even typed in lower case ("jl mawar").
ROADS = frozenset("jalan jl jln gang gg tol".split())
VILLAGES = frozenset("kelurahan kel desa".split())  # leading words that name a village as such
# Leading words that are part of a name: "Kampung Melayu" is not "Cipinang Melayu".
NAME_PARTS = frozenset("kampung pasar tanah bukit gunung pantai kali pulau rawa kebon pondok tanjung".split())
PLACE_WORDS = (LEADING | TRAILING | {"the", "of"}) - NAME_PARTS
PREPOSITIONS = frozenset("""
at in near on off by outside behind along from to over across around beside inside into toward towards past
di dekat depan belakang sekitar kawasan daerah wilayah arah menuju seberang samping dari ke
deket dkt dpn
""".split())
_NOT_NAMES = PREPOSITIONS | STOPWORDS
# Indonesian prepositions after which a lower-case word is taken for a place name, as people type
# them ("kebakaran di antapani", "daerah tamalanrea"), unless it is one of the words that follow them
# as often without naming a place.
TYPED_NAME_AFTER = frozenset("di daerah kawasan wilayah sekitar".split())
NOT_TYPED_NAMES = frozenset("""
sana sini situ mana atas bawah dalam dalem luar tengah pinggir samping depan belakang sebelah seberang
lokasi tkp tempat sekitar sekitarnya area grup group timeline tv berita medsos sosmed hp wa ig twitter
sekolah kantor kampus kos kost kosan rumahku rumahnya sebelahnya kota desa kampung jalan jalanan atap
lantai kamar dapur mobil motor bus kereta kapal pesawat laut jalur lajur ruas arah perempatan
pertigaan sekitaran pukul jam salah
kepala perut tangan kaki dada leher punggung lengan badan muka wajah mata
""".split())
# Words that follow a place word without naming it, as people type them: "puskesmas penuh" (the
# clinic is full), "rs mana" (which hospital), "dibawa ke rs pake becak" (to hospital by becak),
# "terminal macet", "pabrik gk ada yg luka"; and a word ending in -nya, whose place is told before
# ("toko sebelahnya", the shop next to it).
NOT_NAMES_AFTER_PLACE_WORD = frozenset("""
mana siapa apa gk gak ngga nggak enggak gt gitu gini penuh macet rame ramai sepi lewat pake pakai jam pingsan
tutup buka kena luka putus ambrol dulu pulang kaki ujar kata
""".split())
_NOT_NAME_AFTER_PLACE_WORD = STOPWORDS | PLACE_WORDS | PREPOSITIONS | NOT_NAMES_AFTER_PLACE_WORD  # "tol arah Cikampek"
# Titles inside a street's name, never the name itself: "jl ir sutami" is Jalan Sutami, "Jl. HR
# Soebrantas" Jalan Soebrantas.
TITLES = frozenset("ir dr drs hr kh h hj prof jend jenderal letjen mayjen brigjen kol teuku tengku tgk ki nyi".split())
# "Raya" after a road word says a main road, not which one: "jl raya cicurug" is the main road of
# Cicurug, and "Jalan Raya Sukabumi-Bogor" is no more a place than the two cities it joins.
ROAD_GRADES = frozenset({"raya"})
# A house is named by its street, not by the lower-case word after "rumah": "rumah warga", "rumah
# kosong", "rumah kebakar" (a house burning). ("rumah sakit siloam" is read from "sakit".)
UNNAMED = frozenset({"rumah"})
_BEFORE_STREET_NAME = TITLES | ROAD_GRADES  # read past, then the name: "jl ir sutami", "jl raya cicurug"
_NOT_IN_KEY = PLACE_WORDS | STOPWORDS | _BEFORE_STREET_NAME
_BEFORE_NAME = PREPOSITIONS | {"the"}
# Headlines name the place right after what happened: "Banjir Jatiasih", "Kebakaran Glodok", "Longsor
# Cianjur"; not the words that say what kind of event it was ("Banjir Rob", "Kecelakaan Beruntun").
EVENT_WORDS = frozenset("banjir kebakaran longsor kecelakaan tawuran ledakan".split())
NOT_NAMES_AFTER_EVENT = frozenset("rob bandang besar hebat beruntun maut lagi susulan kembali".split())
_TOKEN = re.compile(r"(?:[^\W\d_]\.){2,}(?=\s)|[^\W_]+(?:\.(?=\s))?|[.,;:!?()]")  # "M.H.", a word, "Jl.", a mark
_ORDINAL = re.compile(r"\d+(st|nd|rd|th)$")
MAX_NAME_WORDS = 3
# Words written with a full stop that does not end a sentence ("Jl. HR Soebrantas", "Kel. Siantan").
ABBREVIATIONS = frozenset("jl jln gg kp kel kec kab st rd ave blvd mt dr ir hr h no km".split())


# Toll roads typed as one word made of the cities they join: "tol japek" is "Tol Jakarta-Cikampek".
# A key naming the cities (the first ones, as a name holds at most three words) reads as the short name.
TOLL_ROADS = {
    "japek": ("jakarta", "cikampek"),
    "jagorawi": ("jakarta", "bogor", "ciawi"),
    "cipularang": ("cikampek", "purwakarta", "padalarang"),
    "purbaleunyi": ("purwakarta", "bandung", "cileunyi"),
    "padaleunyi": ("padalarang", "cileunyi"),
    "belmera": ("belawan", "medan", "tanjung"),
    "jorr": ("jakarta", "outer", "ring"),
}

# Streets typed by a short name: "gatsu" is Jalan Gatot Subroto, "soetta" Soekarno-Hatta; a key
# holding the first word alone reads as the short name too ("jl gatot subroto": a lower-case name
# after "jl" is read one word long).
STREETS = {
    "gatsu": ("gatot", "subroto"),
    "soetta": ("soekarno", "hatta"),
}


def _short_names(key: frozenset[str]) -> frozenset[str]:
    for short, cities in _TOLL_KEYS.items():
        if cities <= key:
            key = (key - cities) | {short}
    for short, (first, *rest) in _STREET_KEYS.items():
        if first in key and key <= {first, *rest}:
            key = frozenset({short})
    return key


@dataclass(frozen=True)
class Place:
    key: frozenset[str]  # stemmed name words: two mentions are one place when one key holds the other
    name: str  # as written, for titles: "Jalan Sudirman"


def places(text: str) -> tuple[Place, ...]:
    """Places named in ``text``, each once, in reading order."""
    tokens = _TOKEN.findall(text)
    found: dict[frozenset[str], Place] = {}
    i = 0
    while i < len(tokens):
        span = _place_at(tokens, i)
        if span is None:
            i += 1
            continue
        start, end = span
        if tokens[start].rstrip(".").lower() in JURISDICTIONS:
            i = max(end, i + 1)  # "Damkar Kota Palembang": whose firemen, not where the fire is
            continue
        words = [t.rstrip(".") for t in tokens[start:end]]
        key = _short_names(frozenset(stem(w.lower()) for w in words
                                     if w.lower() not in _NOT_IN_KEY and not _initial(w)))
        if key - NAME_PARTS and not any(same_place(key, other) for other in found):
            found[key] = Place(key, " ".join(words))
        i = max(end, i + 1)
    return tuple(found.values())


_TOLL_KEYS = {stem(short): frozenset(stem(city) for city in cities) for short, cities in TOLL_ROADS.items()}
_STREET_KEYS = {stem(short): tuple(stem(word) for word in words) for short, words in STREETS.items()}


def name_words(text: str) -> frozenset[str]:
    """The stems of its capitalised words, the first word too: the names a report may mention
    without the pattern that makes them a place ("Cipularang km 92 pileup", "Tambora fire spreading")."""
    return frozenset(stem(t.lower()) for t in _TOKEN.findall(text) if _is_name(t))


def with_short_names(words: frozenset[str]) -> frozenset[str]:
    """``words`` and the short name of each toll road or street whose every word they hold
    ("dari arah soekarno hatta" mentions Soetta)."""
    shorts = {short for short, parts in (*_TOLL_KEYS.items(), *_STREET_KEYS.items()) if set(parts) <= words}
    return words | shorts if shorts else words


def same_place(a: frozenset[str] | set[str], b: frozenset[str] | set[str]) -> bool:
    return a <= b or b <= a or named_as_one_word(a, b) or named_as_one_word(b, a)


def named_as_one_word(place: frozenset[str] | set[str], words: frozenset[str] | set[str]) -> bool:
    """A two-word name written as one word ("Gajah Mada", "gajahmada"), or one word the other
    writes as two."""
    if len(place) == 2:
        first, second = place
        return first + second in words or second + first in words
    if len(place) == 1:
        (word,) = place
        return len(word) >= 8 and any(word[:i] in words and word[i:] in words for i in range(3, len(word) - 2))
    return False


def _place_at(tokens: list[str], i: int) -> tuple[int, int] | None:
    """The span [start, end) of a place starting at token ``i``, if one does."""
    word = tokens[i].rstrip(".").lower()
    if word == "lampu" and i + 2 < len(tokens) and tokens[i + 1].lower() == "merah":
        # "lampu merah kebonpolo": the traffic lights at Kebonpolo (not "lampu merah mati": they are off)
        end = _name_end(tokens, i + 2, allow_lower=not is_word(tokens[i + 2].lower()))
        return (i + 2, end) if end > i + 2 else None
    if word in LEADING:
        end = _name_end(tokens, i + 1, allow_lower=word not in UNNAMED)
        return (i, end) if end > i + 1 else None
    if (_is_name(tokens[i]) and i > 0 and tokens[i - 1].lower() in EVENT_WORDS
            and word not in NOT_NAMES_AFTER_EVENT | LEADING | TRAILING):
        return i, _name_end(tokens, i, allow_lower=False)  # "Banjir Jatiasih: air Kali Bekasi naik"
    if _is_name(tokens[i]) and (i > 0 and tokens[i - 1].lower() in _BEFORE_NAME):
        end = _name_end(tokens, i, allow_lower=False)
        if end < len(tokens) and tokens[end].rstrip(".").lower() in TRAILING:
            end += 1
        return i, end
    if (i > 0 and tokens[i - 1].lower() in TYPED_NAME_AFTER and tokens[i].isalpha() and tokens[i].islower()
            and len(word) >= 4 and word not in _NOT_NAMES | NOT_TYPED_NAMES | LEADING | TRAILING
            and not _passive_verb(word) and not _told_before(word)  # "warga sekitar disuruh keluar", "di rumahnyo"
            and not (i + 1 < len(tokens) and _is_name(tokens[i + 1]))):  # "di jalur Puncak": the name follows
        return i, i + 1  # "di antapani": one typed word, never capitalised
    if _is_name(tokens[i]) or _ORDINAL.match(word):
        end = _name_end(tokens, i, allow_lower=False)
        if end < len(tokens) and tokens[end].rstrip(".").lower() in TRAILING:
            return i, end + 1
    return None


def _name_end(tokens: list[str], start: int, allow_lower: bool) -> int:
    """Where the name that starts at ``start`` ends: up to three capitalised words (after a place
    word, the first may be a lower-case one: "tol cipularang", "pabrik kimia Cilegon")."""
    end = start
    while end < len(tokens) and end - start < MAX_NAME_WORDS:
        token = tokens[end]
        if token.rstrip(".").lower() in TRAILING:
            break
        if _is_name(token) or _ORDINAL.match(token.lower()) or (token.isdigit() and end > start):
            end += 1
            if _ends_sentence(token):
                break  # "di Pontianak Utara. Ketinggian air ...": the next word starts a sentence
        elif allow_lower and end == start and (token.lower() in _BEFORE_STREET_NAME or _initial(token)):
            end += 1  # "jl ir sutami", "jl a yani" (Ahmad Yani): the name follows the title or initial
            start += 1
        elif (allow_lower and end == start and token.isalpha() and token.lower() not in _NOT_NAME_AFTER_PLACE_WORD
              and not _passive_verb(token.lower()) and not _told_before(token.lower())):  # "lalin arah kota dialihin"
            end += 1  # "pabrik kimia", and the name after it when there is one: "pabrik kimia Cilegon"
            # "jl kebon jeruk", "jl gunung soputan": a word that begins names takes the word after it
            allow_lower = token.lower() in NAME_PARTS
            start = end if allow_lower else start
        else:
            break
    return end


def _told_before(word: str) -> bool:
    """"sebelahnya", "pilarnya", "rumahnyo": a word in -nya (-nyo, -nye in Malay and Palembang speech)
    points back to what was named before; it names no place of its own."""
    return len(word) > 5 and word.endswith(("nya", "nyo", "nye"))


def _initial(token: str) -> bool:
    """"a", "S.", "M.H.": initials in a street's name ("jl a yani" is Jalan Ahmad Yani, "Jl. M.H.
    Thamrin"): read past, and no part of its key."""
    parts = token.rstrip(".").split(".")
    return all(len(part) == 1 and part.isalpha() for part in parts)  # "a", "S.", "M.H."


def _passive_verb(word: str) -> bool:
    """"disuruh", "dialihin", "dibawa", "dievakuasi": a verb, not a place typed in lower case
    (but "diponegoro", "dipatiukur" are streets)."""
    return (word.startswith("di") and word.isalpha() and len(word) >= 6
            and (len(word) <= 8 or word.endswith(("kan", "in", "i")))) or is_passive_verb(word)


def _ends_sentence(token: str) -> bool:
    """"Utara." does, "Jl." and "St." (abbreviations) and "S." (an initial: "Jl. S. Parman") do not."""
    return token.endswith(".") and token[:-1].lower() not in ABBREVIATIONS and not _initial(token)


def _is_name(token: str) -> bool:
    word = token.rstrip(".")
    return word[:1].isupper() and word.isalpha() and word.lower() not in _NOT_NAMES
