"""What each emergency category covers, and which category each collection keyword of the
disaster-tweets data stands for.

The data has no category label; the search keyword a tweet was collected with is the closest
thing, so every keyword is mapped here by hand. Keywords are URL-encoded in the CSV
(``airplane%20accident``); the table uses the decoded form.
"""

from __future__ import annotations

from urllib.parse import unquote

from fogverse.contracts import CATEGORIES

# What each category covers: the one definition the README, the written data sets
# (apps/analyzer/data/) and the tests follow. A message goes under the cause that responders must
# deal with: houses collapsed in an earthquake are a natural hazard, a gas leak that has not
# exploded is hazmat, a gas cylinder that exploded is an accident.
CATEGORY_SCOPE: dict[str, str] = {
    "fire": "fires and smoke of any cause: houses, markets, factories, vehicles, forest and peat fires, "
    "a fire started by an explosion or a short circuit",
    "accident": "unintended harm from machines and structures: road, rail, air and sea accidents, "
    "building, bridge and scaffolding collapses not caused by nature, LPG cylinder and boiler explosions, "
    "drowning, electrocution, people trapped in lifts or wreckage",
    "natural_hazard": "earthquakes, tsunamis, floods (river, flash, tidal), landslides, eruptions and ash, "
    "storms, whirlwinds, lightning, extreme heat and drought, with the damage they do "
    "(houses collapsed in a quake)",
    "violence": "harm people do on purpose: stabbings, shootings, robberies, assaults, brawls and gang fights, "
    "riots, bombs and bomb threats, terrorism, hostage taking, arson attacks on people",
    "hazmat": "dangerous substances and contagion: chemical and gas leaks (ammonia, chlorine, LPG not yet "
    "exploded), toxic smoke from a chemical plant, fuel and oil spills, radiation, mass poisoning, "
    "disease outbreaks (dengue, cholera, rabies, bird flu) and quarantine",
    "other": "emergencies with none of those causes: a person collapsed or in medical distress, missing or lost "
    "people, animal attacks (crocodiles, snakes, wild elephants), people stranded or calling for rescue "
    "or evacuation without a stated cause",
}

_KEYWORDS_BY_CATEGORY: dict[str, tuple[str, ...]] = {
    "fire": (
        "ablaze", "arson", "arsonist", "blaze", "blazing", "buildings burning",
        "buildings on fire", "burned", "burning", "burning buildings", "bush fires", "engulfed",
        "fire", "fire truck", "flames", "forest fire", "forest fires", "hellfire", "smoke",
        "wild fires", "wildfire",
    ),
    "accident": (
        "accident", "airplane accident", "bridge collapse", "cliff fall", "collapse", "collapsed",
        "collide", "collided", "collision", "crash", "crashed", "crush", "crushed", "derail",
        "derailed", "derailment", "drown", "drowned", "drowning", "electrocute", "electrocuted",
        # Industrial and gas explosions outnumber bombs under these keywords; bombs are "violence".
        "explode", "exploded", "explosion", "sinking", "structural failure", "sunk", "trapped",
        "wreck", "wreckage", "wrecked",
    ),
    "natural_hazard": (
        "aftershock", "avalanche", "blight", "blizzard", "cyclone", "deluge", "deluged", "drought",
        "dust storm", "earthquake", "epicentre", "famine", "flood", "flooding", "floods", "hail",
        "hailstorm", "heat wave", "hurricane", "inundated", "inundation", "landslide", "lava",
        "lightning", "mudslide", "natural disaster", "rainstorm", "sandstorm", "seismic",
        "sinkhole", "snowstorm", "storm", "thunder", "thunderstorm", "tornado", "tsunami",
        "twister", "typhoon", "violent storm", "volcano", "whirlwind", "windstorm",
    ),
    "violence": (
        "army", "attack", "attacked", "battle", "blew up", "blown up", "bomb", "bombed", "bombing",
        "detonate", "detonation", "hijack", "hijacker", "hijacking", "hostage", "hostages",
        "mass murder", "mass murderer", "massacre", "military", "riot", "rioting",
        "suicide bomb", "suicide bomber", "suicide bombing", "terrorism", "terrorist", "war zone",
        "weapon", "weapons",
    ),
    "hazmat": (
        # Biological agents call for the same hazmat response as chemical and nuclear ones.
        "bioterror", "bioterrorism", "chemical emergency", "hazardous", "meltdown",
        "nuclear disaster", "nuclear reactor", "oil spill", "outbreak", "quarantine",
        "quarantined", "radiation emergency",
    ),
    "other": (
        "ambulance", "annihilated", "annihilation", "apocalypse", "armageddon", "bleeding", "blood",
        "bloody", "body bag", "body bagging", "body bags", "casualties", "casualty", "catastrophe",
        "catastrophic", "curfew", "damage", "danger", "dead", "death", "deaths", "debris",
        "demolish", "demolished", "demolition", "desolate", "desolation", "destroy", "destroyed",
        "destruction", "devastated", "devastation", "disaster", "displaced", "emergency",
        "emergency plan", "emergency services", "evacuate", "evacuated", "evacuation",
        "eyewitness", "fatal", "fatalities", "fatality", "fear", "first responders", "flattened",
        "harm", "hazard", "injured", "injuries", "injury", "loud bang", "mayhem", "obliterate",
        "obliterated", "obliteration", "pandemonium", "panic", "panicking", "police", "razed",
        "refugees", "rescue", "rescued", "rescuers", "rubble", "ruin", "screamed", "screaming",
        "screams", "siren", "sirens", "stretcher", "survive", "survived", "survivors", "threat",
        "tragedy", "trauma", "traumatised", "trouble", "upheaval", "wounded", "wounds",
    ),
}

KEYWORD_CATEGORY: dict[str, str] = {
    keyword: category for category, keywords in _KEYWORDS_BY_CATEGORY.items() for keyword in keywords
}

assert set(_KEYWORDS_BY_CATEGORY) == set(CATEGORIES), "the table must name exactly the contract's categories"
assert tuple(CATEGORY_SCOPE) == CATEGORIES, "every category is described, in the contract's order"
assert len(KEYWORD_CATEGORY) == sum(map(len, _KEYWORDS_BY_CATEGORY.values())), "a keyword is listed twice"


def category_for_keyword(raw_keyword: str) -> str | None:
    """The category of a (URL-encoded) collection keyword; None for an empty keyword.

    An unknown keyword is an error, not "other": new data must be mapped on purpose.
    """
    keyword = unquote(raw_keyword).strip().lower()
    if not keyword:
        return None
    try:
        return KEYWORD_CATEGORY[keyword]
    except KeyError:
        raise KeyError(f"keyword {keyword!r} has no category in apps/analyzer/categories.py") from None
