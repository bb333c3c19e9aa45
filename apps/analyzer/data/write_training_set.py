"""Writes ``training.csv``: short messages written for the project to teach the analyzer
categories and emergency vs figurative or hypothetical use. Training only (see README.md here).

    python -m apps.analyzer.data.write_training_set

Templates and place names here are the training set's own; the held-out set (``held_out.csv``)
was written separately by hand, with other places and wording, and is never read by training.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

OUT = Path(__file__).resolve().parent / "training.csv"
SEED = 11
PER_CATEGORY = 260
NON_EMERGENCIES = 1800

PLACES = (
    "Bandung", "Bekasi", "Bogor", "Depok", "Tangerang", "Semarang", "Surabaya", "Medan", "Makassar",
    "Palembang", "Pekanbaru", "Jambi", "Padang", "Bandar Lampung", "Serang", "Cirebon", "Tasikmalaya",
    "Surakarta", "Yogyakarta", "Malang", "Denpasar", "Mataram", "Kupang", "Manado", "Ambon", "Jayapura",
    "Pontianak", "Banjarmasin", "Samarinda", "Balikpapan", "Kendari", "Palu", "Gorontalo", "Ternate",
    "Sorong", "Jalan Ahmad Yani", "Jalan Diponegoro", "Jalan Gatot Subroto", "Kampung Melayu",
    "Pasar Minggu", "Cawang", "Cileungsi", "Cibubur", "Ciledug", "Kemayoran", "Kebayoran",
)
WHEN = ("", "", "right now", "just now", "this morning", "tonight", "a few minutes ago", "since 5am")
CALM_TAIL = ("", "", "", "lol", "haha", "wkwk", "#weekend", "what do you think?", "so excited", "anyone going?")
URGENT_TAIL = ("", "", "", "pls help", "stay away from the area", "praying for everyone", "send help",
        "#darurat", "RT pls", "be careful guys", "people are panicking", "live update soon")

EMERGENCY_TEMPLATES: dict[str, tuple[str, ...]] = {
    "fire": (
        "Fire at {place} {when}, {fire_thing} burning", "{fire_thing} in {place} on fire, flames everywhere",
        "Huge blaze at {place}, firefighters struggling to put it out", "Thick black smoke over {place}, {fire_thing} caught fire",
        "{fire_thing} burned down in {place}, {count} families lost everything", "Kebakaran! {fire_thing} at {place} is burning",
        "Short circuit started a fire in {fire_thing} near {place}", "Peat fire spreading near {place}, haze is choking the town",
        "Forest fire in the hills above {place}, the sky is orange", "Fire trucks racing to {place}, {fire_thing} engulfed in flames",
        "The house next to ours in {place} is on fire, the roof is gone", "Flames jumped to the next row of houses in {place}",
        "Car caught fire on the toll road near {place}, driver got out", "Fire in the {fire_thing} at {place}, people trapped upstairs",
        "Smell of burning and smoke pouring out of {fire_thing} in {place}",
    ),
    "accident": (
        "Bus crash on the road to {place}, {count} injured", "Truck lost its brakes and hit several cars in {place}",
        "Train hit a minibus at the level crossing in {place}", "Ferry capsized off {place}, passengers missing",
        "Motorbike collided with a car at {place}, rider badly hurt", "Plane skidded off the runway at {place} airport",
        "Gas cylinder exploded in a food stall at {place}, {count} hurt", "Building under construction collapsed in {place}, workers buried",
        "Bridge collapsed in {place} while cars were crossing", "Boy drowned in the river at {place}",
        "Man electrocuted by a fallen power line in {place}", "Lift dropped two floors at a mall in {place}, people stuck inside",
        "Pile-up of {count} cars on the toll road near {place}", "Boiler exploded at a factory in {place}, workers injured",
        "Angkot overturned in {place}, passengers thrown out", "Speedboat hit a log and sank near {place}",
        "Scaffolding fell onto the street in {place}, two people under it", "Roof of the market hall caved in at {place}, shoppers trapped",
    ),
    "natural_hazard": (
        "Earthquake in {place} {when}, walls cracked", "Strong quake shook {place}, houses collapsed",
        "Flood in {place}, water up to the {level}", "Flash flood swept through {place} after the rain",
        "Landslide buried houses in {place}", "Banjir again in {place}, water is {level} high",
        "The river burst its banks in {place}, families on rooftops", "Mount Merapi erupting, ash falling on {place}",
        "Volcanic ash covering {place}, hard to breathe", "Tsunami warning for the coast near {place}, people running uphill",
        "Whirlwind tore roofs off houses in {place}", "Storm knocked down trees across {place}, roads blocked",
        "Lightning struck a house in {place}, family injured", "Tidal flood (rob) in {place}, sea water inside homes",
        "Mudslide cut the road to {place} after heavy rain", "Gempa! Everyone ran out of the buildings in {place}",
        "Aftershocks keep coming in {place}, people sleeping outside", "Drought in {place}, wells are dry and crops dead",
        "Puting beliung hit {place}, dozens of homes damaged",
    ),
    "violence": (
        "Man stabbed outside a warung in {place}", "Shooting at {place}, people running", "Armed robbers attacked a shop in {place}",
        "Gang fight (tawuran) with machetes in {place}, several hurt", "Riot in {place}, shops smashed and looted",
        "Bomb exploded near a church in {place}", "Bomb threat at {place}, building evacuated",
        "Terrorist attack in {place}, police have closed the roads", "Hostage taken at a bank in {place}",
        "Mob beat a man in {place}, he is unconscious", "Student attacked with a knife near {place} school",
        "Someone set fire to a house on purpose in {place} after a fight, the owner is hurt", "Gunmen opened fire on a bus near {place}",
        "Begal robbed and stabbed a rider in {place}", "Suicide bomber at the police station in {place}",
        "Protest in {place} turned violent, tear gas fired",
    ),
    "hazmat": (
        "Ammonia leak at a factory in {place}, workers fainting", "Chlorine gas leak in {place}, people coughing",
        "Gas leak in an apartment in {place}, strong smell, everyone out", "Chemical spill on the road in {place} after a tanker overturned",
        "Oil spill washing up on the beach near {place}", "Toxic smoke from a chemical plant in {place}",
        "Dengue outbreak in {place}, hospital full", "Cholera cases rising fast in {place}",
        "Mass food poisoning in {place}, {count} people in hospital", "Rabies outbreak in {place}, several bitten",
        "Bird flu found in {place}, area quarantined", "Radiation scare near {place}, residents told to stay inside",
        "Pesticide poisoning at a farm in {place}, workers vomiting", "Fuel leaking from a pipeline in {place}, risk of explosion",
        "Measles outbreak at a school in {place}", "Strange chemical smell making people dizzy in {place}",
    ),
    "other": (
        "Hiker missing on the mountain above {place} since yesterday", "Child missing in {place}, last seen near the market",
        "Old man collapsed on the street in {place}, not breathing", "Crocodile attacked a fisherman in {place}",
        "Python swallowed a farmer in {place}, villagers searching", "Wild elephant trampled a farmer in {place}",
        "Woman having a seizure at {place} station, need a doctor", "Family stranded in {place} with no food or water, need rescue",
        "Heart attack at the mosque in {place}, ambulance needed", "Students fainted at the ceremony in {place}",
        "Fisherman lost at sea off {place}, search underway", "People stuck on the mountain at {place}, need evacuation",
        "Tiger attack near the plantation in {place}", "Venomous snake bit a child in {place}, rushing to hospital",
        "Diver missing near {place}, rescue team searching",
    ),
}
FILL = {
    "fire_thing": ("the market", "a warehouse", "a house", "the school", "a textile factory", "a shophouse",
                   "the bus terminal", "an apartment block", "the kampung", "a furniture workshop"),
    "count": ("2", "3", "5", "7", "10", "a dozen", "several", "many"),
    "level": ("knees", "waist", "chest", "roof", "doorstep", "first floor"),
}

HAZARDS = ("fire", "earthquake", "flood", "tsunami", "volcano", "landslide", "storm", "plane crash",
           "bomb", "explosion", "riot", "outbreak", "gas leak", "shipwreck", "wildfire", "typhoon")
NON_EMERGENCY_TEMPLATES = (
    # figurative
    "This song is {fire_word}, on repeat all day", "The new album is straight fire", "My inbox is flooded with emails",
    "Flooded with orders this week, thank you all", "That exam was a total disaster", "The presentation was a disaster lol",
    "Our team got destroyed in the final, what a wreck", "The striker was on fire tonight, hat trick!",
    "The coach exploded at the referee after the match", "Traffic in {place} is a nightmare but it moves",
    "This sambal is so hot my mouth is on fire", "My phone battery died, total catastrophe",
    "He bombed the interview, poor guy", "The concert in {place} was explosive", "I'm dying of laughter",
    "The market in {place} is a zoo today", "Prices are killing me this month", "My heart is on fire for you",
    "Work is drowning me, need a holiday", "The meeting was a train wreck", "This traffic jam is killing me",
    "Critics slammed the minister, a storm of criticism online", "The new policy caused a storm on twitter",
    "The sale in {place} is fire, everything half price", "Gym session destroyed me, legs are dead",
    "The crowd went wild, the stadium shook like an earthquake", "Flood of tourists in {place} this holiday",
    "My code crashed again, third time today", "Netflix crashed during the finale",
    "Her voice is a bomb, she killed it on stage", "A tsunami of memes after the match",
    # fiction and media
    "Watching a documentary about the {hazard} in {place}", "Reading a novel about a {hazard}, can't put it down",
    "The {hazard} scene in that movie was amazing", "New disaster film about a {hazard} out this week",
    "Playing a game where you survive a {hazard}, so addictive", "Podcast episode on the 2004 tsunami was moving",
    "The drama series ended with a huge {hazard}, I cried", "Comic about a {hazard} hero in {place}",
    # drills and lessons
    "{hazard_cap} drill at the school in {place} tomorrow", "Evacuation drill at our office in {place} this morning",
    "Tsunami simulation on the beach at {place} next week, join us", "Fire safety training for staff in {place}",
    "History lesson today about the {hazard} of 1992", "Teacher explained how earthquakes happen, interesting",
    "Museum in {place} has an exhibit about the great {hazard}", "Anniversary of the {hazard} in {place}, we remember",
    "Seminar in {place} on {hazard} preparedness, free entry", "Firefighters visited our kindergarten in {place}, the kids loved it",
    # charity and aftermath support
    "Charity concert in {place} for {hazard} victims, buy tickets", "Donate to rebuild the school after last year's {hazard}",
    "Fundraiser for flood survivors at the mall in {place}", "Bazaar in {place} raising money for the quake victims",
    # hypothetical and advice
    "What would you do if a {hazard} hit {place}?", "Imagine a {hazard} during the wedding lol",
    "Tips to prepare an emergency bag in case of a {hazard}", "Do you have insurance against {hazard}? Ask our agents",
    "If it keeps raining like this {place} might flood next week", "Scientists say a big earthquake could happen someday",
    "How to keep your family safe in a {hazard}, thread", "Dream last night: a {hazard} in {place}, so weird",
    # plain life in the places
    "Lovely rain tonight in {place}, perfect for sleeping", "Hot day in {place}, feels like an oven",
    "Nasi goreng in {place} is the best", "Road works on {place} finished, finally smooth",
    "Lost my keys at {place}, what a day", "Firefighter recruitment in {place} opens next month",
    "Ambulance service in {place} got new vehicles, nice", "Police held a fun run in {place} today",
    "Fireworks over {place} for new year were beautiful", "Campfire on the beach at {place} with friends",
    "BBQ night, the grill is on fire haha", "The volcano view from {place} is stunning at sunrise",
    "Earthquake-proof houses being built in {place}, good news", "Flood barrier project in {place} is finished",
)
FIRE_WORDS = ("fire", "on fire", "straight fire", "a bomb", "lit")


def _fill(template: str, rng: random.Random, tails: tuple[str, ...]) -> str:
    hazard = rng.choice(HAZARDS)
    values = {
        "place": rng.choice(PLACES), "when": rng.choice(WHEN), "hazard": hazard,
        "hazard_cap": hazard.capitalize(), "fire_word": rng.choice(FIRE_WORDS),
        **{key: rng.choice(options) for key, options in FILL.items()},
    }
    text = template.format(**values)
    tail = rng.choice(tails)
    text = " ".join(f"{text} {tail}".split()) if tail and rng.random() < 0.5 else " ".join(text.split())
    return text[0].upper() + text[1:]


def _messages(rng: random.Random) -> list[tuple[str, str, str]]:
    rows: dict[str, tuple[str, str, str]] = {}
    for category, templates in EMERGENCY_TEMPLATES.items():
        made = 0
        while made < PER_CATEGORY:
            text = _fill(rng.choice(templates), rng, URGENT_TAIL)
            if text not in rows:
                rows[text] = (text, "yes", category)
                made += 1
    made = 0
    while made < NON_EMERGENCIES:
        text = _fill(rng.choice(NON_EMERGENCY_TEMPLATES), rng, CALM_TAIL)
        if text not in rows:
            rows[text] = (text, "no", "")
            made += 1
    return list(rows.values())


def main() -> None:
    rows = _messages(random.Random(SEED))
    with OUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("text", "emergency", "category"))
        writer.writerows(rows)
    print(f"wrote {len(rows)} messages to {OUT}")


if __name__ == "__main__":
    main()
