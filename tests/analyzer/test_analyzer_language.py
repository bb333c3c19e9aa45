"""Which messages the fast model alone judges: those in Indonesian (a pure function, table tests)."""

import pytest

from apps.analyzer.language import is_indonesian


@pytest.mark.parametrize(
    ("text", "indonesian"),
    [
        ("kebakaran di pasar senen, apinya udah gede bgt", True),
        ("masih ada yg kejebak gk?", True),
        ("rek banyu kali wis munggah, gang mburi omahku wis sedengkul", True),  # Javanese
        ("Damkar Kota Pekalongan menerjunkan 4 unit armada ke lokasi kebakaran di Kelurahan Setono", True),
        ("Forest fire near La Ronge Sask. Canada", False),
        ("Huge fire at the market, people trapped", False),
        ("Flood in Kampung Melayu, water up to people's chests", False),  # Indonesian names, English words
        ("Cipularang km 92 pileup", False),  # names only: English, as before
        ("Suicide bomber 'hits Saudi mosque' http://t.co/kE6DjxAnmm", False),  # no "ke" in a link
        ("Fully Engulfed Garage Fire: Propane Tanks Inside. Sunnymeade Dr.", False),
        ("@YoungHeroesID Lava Blast dan Power Red #PantherAttack", True),  # "dan": Indonesian it is
        ("", False),
    ],
)
def test_a_message_is_indonesian_when_more_of_its_words_are(text, indonesian):
    assert is_indonesian(text) is indonesian
