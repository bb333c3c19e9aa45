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
PER_CATEGORY = 320
NON_EMERGENCIES = 2200

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
        "Kebakaran hebat di {place}, api sudah besar", "The whole row of kiosks in {place} is burning, we can feel the heat",
        "Everything is orange and black over {place}, the {fire_thing} is gone", "Damkar please hurry to {place}, {fire_thing} is burning",
        "Sparks from the wiring set the {fire_thing} in {place} alight", "Motorbike burst into flames at the petrol station in {place}",
        "Burning smell and flames from the roof of {fire_thing} in {place}, kids still inside",
        "Lahan gambut terbakar dekat {place}, asap tebal", "Grass fire spreading toward the houses in {place}",
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
        "Kecelakaan beruntun di tol dekat {place}, banyak korban", "Tabrakan bus dan truk di {place}",
        "Minibus fell into the ravine near {place}, passengers screaming", "The ceiling of the hall in {place} fell on people during the event",
        "Kapal tenggelam di perairan {place}, penumpang hilang", "Car plunged into the canal in {place}, driver still inside",
        "Worker fell from the tower crane at {place}, not moving", "Boat carrying students overturned in the river near {place}",
        "Two motorbikes smashed into each other in {place}, blood on the road", "Wall of the old building in {place} fell on the pavement, people under it",
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
        "Banjir bandang di {place}, rumah hanyut", "Tanah longsor di {place}, jalan tertutup", "Gempa terasa kuat di {place}, warga panik",
        "Water is coming into the house in {place}, we moved to the roof", "The ground shook so hard in {place} the ceiling cracked",
        "Heavy rain all night and now {place} is under water", "Sea water surging into the streets of {place}",
        "Rocks and mud slid down onto the homes in {place}", "Wind blew the roofs away across {place}, trees on cars",
        "Ash from the eruption is so thick in {place} we can't see",
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
        "Tawuran pelajar di {place}, ada yang kena bacok", "Begal bersenjata tajam di {place}, korban luka parah",
        "Guy with a knife chasing people at the market in {place}", "Someone shot the shop owner in {place}, he is bleeding",
        "Crowd is burning cars and throwing stones at police in {place}", "Masked men beat up a driver in {place} and ran",
        "Suspicious bag exploded at the bus stop in {place}", "Fans attacking each other with sticks outside the stadium in {place}",
        "Robbers hit the jewellery store in {place}, gunshots heard",
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
        "Keracunan massal di {place}, puluhan warga dibawa ke puskesmas", "Bau gas menyengat di {place}, warga pusing",
        "Acid spilled from a truck on the road in {place}, fumes everywhere", "People fainting from fumes near the factory in {place}",
        "Dozens sick after eating at a wedding in {place}", "Fever and bleeding cases rising in {place}, dengue spreading",
        "Factory waste turned the river black in {place}, fish dying and people itching", "Gas tank on the truck is leaking in {place}, road closed",
        "Diarrhoea outbreak in the camp at {place}, children very sick",
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
        "Anak hilang di {place} sejak sore, tolong bantu cari", "Pendaki hilang di gunung dekat {place}",
        "My grandmother fell and isn't responding in {place}, need an ambulance", "A crocodile grabbed a boy at the river in {place}",
        "Snake bit a farmer in {place}, his leg is swelling fast", "Man collapsed at the bus stop in {place}, not breathing",
        "Our friend has been missing on the trail near {place} since last night", "Monkeys attacking people in the village near {place}",
        "Woman giving birth on the street in {place}, need help now",
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
    "Our fans set the stadium in {place} on fire with their chants", "The band absolutely killed it in {place} last night",
    "The market crash wiped out my savings lol", "Our defence collapsed in the second half, 4-0",
    "My group chat is exploding with wedding photos", "Inbox flooded again after the promo",
    "The chef's new dish in {place} is a bomb of flavour", "Her speech was a firestorm of truth",
    "That plot twist was an earthquake", "Slaughtered them 5-0 at the futsal in {place}",
    "The critics destroyed the new movie", "This exam season is a war zone",
    "Trailer for the new {hazard} movie just dropped", "Episode 3 of the series has the {hazard} scene everyone talks about",
    "Wrote a poem about the {hazard} for class", "The song about the {hazard} made me cry",
    "Chapter 12 of the book: the city is hit by a {hazard}", "Video game review: the {hazard} level is brutal",
    "Exhibition of photos from the {hazard} in {place} museum", "Kids painted murals about the {hazard} at school",
    "Simulasi gempa di sekolah {place} besok pagi", "Latihan pemadaman kebakaran di kantor {place}",
    "Siren test at {place} at noon, it is only a test", "Rehearsal of the tsunami evacuation in {place} on Sunday",
    "Hospital in {place} practised a mass casualty exercise", "Police held a riot control exercise in {place}",
    "Ten years ago today the {hazard} hit {place}, we remember", "In 1998 my parents lived through the riots, they told me stories",
    "Lecture on the history of the {hazard} in {place}", "Grandma remembers the eruption from when she was a child",
    "Konser amal untuk korban banjir di {place}", "Donasi untuk korban gempa bisa lewat rekening ini",
    "Relief concert raised 100 million for the {hazard} victims", "Volunteers in {place} packed aid boxes for the survivors, thank you",
    "Houses rebuilt after the {hazard} in {place}, families moved back", "The school destroyed in the {hazard} reopened in {place}",
    "What if a {hazard} happened during the exam, haha", "In case of a {hazard}, do you know where to go?",
    "Experts say {place} could see a {hazard} in the next decades", "Should we buy {hazard} insurance for the house?",
    "Forecast: chance of heavy rain in {place} tomorrow", "Checklist for your go-bag before the rainy season",
    "I dreamt about a {hazard} last night, creepy", "Wedding in {place} went perfectly, no rain at all",
    "Burned the rice again, the kitchen smells of smoke haha", "Smoke alarm went off because of my cooking, all fine",
    "Power went out for an hour in {place}, back now", "Water in the river is high but safe, no worries",
    "Firefighters in {place} won the football cup", "Ambulance drivers in {place} held a blood drive",
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


def _messages(rng: random.Random) -> list[tuple[str, str, str, str]]:
    """(text, emergency, category, template): the template's name lets training hold out whole
    templates when it cross-validates."""
    rows: dict[str, tuple[str, str, str, str]] = {}
    for category, templates in EMERGENCY_TEMPLATES.items():
        made = 0
        while made < PER_CATEGORY:
            index = rng.randrange(len(templates))
            text = _fill(templates[index], rng, URGENT_TAIL)
            if text not in rows:
                rows[text] = (text, "yes", category, f"{category}-{index}")
                made += 1
    made = 0
    while made < NON_EMERGENCIES:
        index = rng.randrange(len(NON_EMERGENCY_TEMPLATES))
        text = _fill(NON_EMERGENCY_TEMPLATES[index], rng, CALM_TAIL)
        if text not in rows:
            rows[text] = (text, "no", "", f"no-{index}")
            made += 1
    return list(rows.values())


def main() -> None:
    rows = _messages(random.Random(SEED))
    with OUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("text", "emergency", "category", "template"))
        writer.writerows(rows)
    print(f"wrote {len(rows)} messages to {OUT}")


if __name__ == "__main__":
    main()
