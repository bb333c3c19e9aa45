"""Writes ``training.csv``: short messages written for the project to teach the analyzer
categories and emergency vs figurative or hypothetical use. Training only (see README.md here).

    python -m apps.analyzer.data.write_training_set

Templates and place names here are the training set's own; the held-out set (``held_out.csv``)
was written separately by hand, with other places and wording, and is never read by training.

Round 4: Indonesian templates. Until round 3 the messages were 94 % English; ``indonesian_templates``
adds 222 emergency templates (37 per category) and 239 look-alikes in colloquial Indonesian (some
mixed with English), Indonesian fills and tails, and 35 % of each table's messages are drawn from
them (``ID_SHARE``): 12,680 messages, 5,910 emergencies (985 per category) and 6,770 not, the
earlier templates keeping their 640 per category and 4,400 non-emergencies.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from apps.analyzer.data.indonesian_templates import (
    ID_AGENCY_FILL, ID_AGENCY_TEMPLATES, ID_CALM_TAIL, ID_EMERGENCY_TEMPLATES, ID_FILL, ID_NON_EMERGENCY_TEMPLATES,
    ID_URGENT_TAIL,
)

OUT = Path(__file__).resolve().parent / "training.csv"
SEED = 11
# Round 4: ID_SHARE of each table's messages come from the Indonesian templates
# (indonesian_templates.py), the rest from the earlier ones, which keep their round-3 numbers
# (640 per category, 4,400 non-emergencies).
ID_SHARE = 0.35
PER_CATEGORY = 985
NON_EMERGENCIES = 6770
# Round 5: agency posts and headlines in Indonesian (indonesian_templates.ID_AGENCY_TEMPLATES), appended
# after the rest with a seed of their own, so the earlier messages stay as they were.
AGENCY_SEED = 5
AGENCY_PER_CATEGORY = 40

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

# New templates (round 2): the "Town - message" and "Town: message" style, everyday words with no
# disaster keyword, and the look-alikes the first templates lacked.
MORE_PLACES = (
    "Sleman", "Purwokerto", "Sukoharjo", "Temanggung", "Majene", "Mamuju", "Tolitoli", "Kolaka", "Ruteng",
    "Bajawa", "Larantuka", "Saumlaki", "Tobelo", "Biak", "Serui", "Karawaci", "Bintaro", "Jatinegara",
    "Tanah Abang", "Senen", "Grogol", "Pluit", "Cengkareng", "Kalideres", "Tebet", "Manggarai", "Klender",
    "Rawamangun", "Ciputat", "Pamulang", "Serpong", "Cikarang", "Cibinong", "Sentul", "Ciawi", "Lembang",
    "Jatinangor", "Padang Sidempuan",
)
MORE_FILL = {
    "volcano": ("Lewotobi", "Raung", "Dempo", "Lokon", "Karangetang", "Marapi", "Slamet", "Sundoro", "Papandayan"),
    "river": ("Ciliwung", "Citarum", "Musi", "Kapuas", "Mahakam", "Cisadane"),
    "sep": (" - ", ": ", " — ", ", "),
}
MORE_EMERGENCY_TEMPLATES: dict[str, tuple[str, ...]] = {
    "fire": (
        "{place}{sep}the warehouse behind the station has been burning for three hours",
        "{place}{sep}a mosque roof caught fire during the night, only the walls are left",
        "{place}{sep}our neighbour's kitchen went up, flames through the window",
        "{place}{sep}boarding house burning, students throwing bags out of the windows",
        "{place}{sep}the night market stalls are burning one after another",
        "{place}{sep}hotel on fire, guests waiting on the roof",
        "{place}{sep}smoke coming out of the mall's basement, shoppers running out",
        "{place}{sep}a tanker truck is burning on the bypass, huge flames",
        "{place}{sep}the library burned down, nothing left but ash",
        "{place}{sep}rumah kos terbakar, api dari lantai dua",
        "{place}{sep}gudang kayu terbakar sejak subuh, asap hitam di mana mana",
        "{place}{sep}api membakar deretan kios, pedagang menyelamatkan barang",
        "{place}{sep}the hillside is glowing, the forest fire is coming down toward the village",
        "{place}{sep}the bus caught fire on the road, passengers jumped out the windows",
        "{place}{sep}a spark from the welding set the garment workshop alight",
        "{place}{sep}the palm plantation is burning, haze everywhere",
        "The lumber yard in {place} is alight and embers are landing on the roofs next door",
        "Ten houses gone in the kampung fire in {place}, firefighters still spraying",
        "The ferry's engine room is on fire, smoke on the deck near {place}",
        "Thick smoke pouring from the hospital wing in {place}, patients being wheeled out",
        "A candle fell and now the whole room is burning, {place}, call damkar",
        "Fire broke out at the printing shop in {place}, paper burning fast",
        "Electrical fire at the school lab in {place}, kids evacuated",
        "The tyre shop in {place} is in flames, black smoke over the road",
        "Fire in the stalls of the fish market in {place}, gas tanks at risk",
    ),
    "accident": (
        "{place}{sep}a truck ran into the market crowd, many hurt",
        "{place}{sep}the jeep went off the road into the gully",
        "{place}{sep}small plane came down in the rice fields, rescuers on the way",
        "{place}{sep}a worker was electrocuted fixing the street lamp",
        "{place}{sep}a crane toppled onto a row of shops, people under the rubble",
        "{place}{sep}tabung elpiji meledak di dapur katering, dua pekerja luka bakar",
        "{place}{sep}steam pipe burst at the factory, workers scalded",
        "{place}{sep}the pedestrian bridge came down on the cars below",
        "{place}{sep}a lift at the apartment is stuck between floors with kids inside",
        "{place}{sep}boy swept away while swimming at the dam, search ongoing",
        "{place}{sep}power pole fell on a motorbike rider",
        "{place}{sep}the roof of the sports hall caved in during practice",
        "{place}{sep}KRL hit a car at the crossing, the driver is trapped",
        "{place}{sep}tabrakan motor dan truk, korban terjepit",
        "{place}{sep}bus masuk jurang, penumpang dievakuasi",
        "{place}{sep}tiang listrik roboh menimpa pengendara",
        "{place}{sep}kapal motor terbalik, beberapa penumpang belum ditemukan",
        "Speeding car flipped over the divider in {place}, two people pinned inside",
        "Tourist boat sank off {place}, people in life jackets in the water",
        "A billboard fell onto the traffic in {place}, cars crushed",
        "The excavator tipped over on workers at the site in {place}",
        "Two trains collided outside {place} station, carriages off the rails",
        "A child fell into an open well in {place}, we can hear her crying",
        "The mine tunnel caved in near {place}, miners trapped underground",
        "Ceiling fell on the guests at a wedding hall in {place}",
        "Escalator collapsed at the mall in {place}, shoppers hurt",
    ),
    "natural_hazard": (
        "{place}{sep}the {river} burst its banks, water in every house",
        "{place}{sep}hailstones broke the windows and roof tiles",
        "{place}{sep}after the downpour the cliff above the kampung slid and buried the prayer hall",
        "{place}{sep}sea water came over the coastal road, houses flooded",
        "{place}{sep}brown water rushed down the street in seconds, motorbikes floating off",
        "{place}{sep}the ground is cracking and houses are sinking after the tremor",
        "{place}{sep}the slope slid onto the main road, cars under the mud",
        "{place}{sep}{volcano} is erupting, ash raining on the town",
        "{place}{sep}the levee broke, villages under water",
        "{place}{sep}water has reached the third step of the stairs and is still rising",
        "{place}{sep}the tremor cracked the hospital walls, patients moved to tents outside",
        "{place}{sep}the bridge was swept away by the river along with houses",
        "{place}{sep}angin kencang merobohkan pohon dan atap rumah",
        "{place}{sep}air sungai {river} meluap, warga mengungsi ke masjid",
        "{place}{sep}longsor menutup jalan, rumah warga tertimbun",
        "{place}{sep}gempa kuat, tembok retak dan warga berlarian keluar",
        "Mount {volcano} is throwing out hot clouds, villages below {place} told to leave",
        "The {river} is overflowing into {place}, people wading with their kids on their shoulders",
        "The whole valley near {place} is a lake now after last night's rain",
        "A gust tore the zinc sheets off the whole block in {place}, one hit a kid",
        "The shaking lasted almost a minute in {place}, houses cracked",
        "Tremor woke everyone in {place}, part of the mosque fell",
        "Heat is so bad in {place} that old people are fainting, wells are dry",
        "Giant waves hit the fishing village at {place}, boats thrown onto the houses",
        "Mud and boulders came down the mountain into {place} at dawn",
        "Rain for two days, the whole kampung in {place} is under water",
    ),
    "violence": (
        "{place}{sep}youths from the next village came with swords and torched three homes",
        "{place}{sep}someone fired a pistol into the crowd at the night market",
        "{place}{sep}a pipe bomb blew up outside the district office",
        "{place}{sep}protesters set the tax office on fire and are throwing rocks",
        "{place}{sep}a man high on something is swinging a crowbar at people in the alley",
        "{place}{sep}kidnappers grabbed a child at the school gate",
        "{place}{sep}a new recruit died after being kicked and punched by older cadets",
        "{place}{sep}a homemade bomb was tossed at the bus queue, several hurt",
        "{place}{sep}fans fighting in the stadium, seats set on fire",
        "{place}{sep}riot at the factory, workers set the office alight",
        "{place}{sep}clashes between neighbourhoods again, houses torched",
        "{place}{sep}shootout in the forest, villagers running away",
        "{place}{sep}begal menusuk pengendara motor lalu kabur",
        "{place}{sep}tawuran antar kampung, rumah dibakar massa",
        "{place}{sep}ada penembakan di depan bank, polisi datang",
        "{place}{sep}pria mengamuk dengan parang, warga terluka",
        "A man hit his wife with a hammer in {place}, she is bleeding badly",
        "Gang members threw petrol bombs at the houses in {place}",
        "Armed men took the bus passengers hostage near {place}",
        "Someone threw acid at a woman on the street in {place}",
        "A mob is attacking a suspected thief in {place}, he is not moving",
        "Prisoners rioting and burning cells at the jail in {place}",
        "Robbers tied up the family and beat them in {place}",
        "A man with a sword is slashing people at the station in {place}",
        "Gunfire in {place} tonight, a teenager was hit",
        "Students fighting with belts and knives near {place} terminal",
    ),
    "hazmat": (
        "{place}{sep}drums of caustic soda fell off a lorry and are leaking onto the road",
        "{place}{sep}chlorine smell at the water plant, people's eyes stinging",
        "{place}{sep}DBD patients filling the clinic, three children died this week",
        "{place}{sep}a dog with rabies bit five kids, vaccine running out",
        "{place}{sep}propane escaping from a damaged tanker at the toll gate, everyone told to move back",
        "{place}{sep}dozens in hospital after drinking bootleg liquor with methanol",
        "{place}{sep}grey dust from the smelter coats everything and children are wheezing",
        "{place}{sep}whooping cough spreading in the pesantren, dozens sent to isolation rooms",
        "{place}{sep}poisonous vapour from the battery recycling plant is making the whole street sick",
        "{place}{sep}the stream is foaming yellow after the dye works emptied its tanks, skin rashes everywhere",
        "{place}{sep}coal ash pond burst into the river, water is grey",
        "{place}{sep}leptospirosis after the flood, many in hospital",
        "{place}{sep}pupils collapsing with stomach cramps after the canteen meal, 40 at the puskesmas",
        "{place}{sep}a pesticide warehouse leaked into the irrigation canal, ducks dying, farmers dizzy",
        "{place}{sep}warga keracunan setelah makan nasi kotak, puluhan dirawat",
        "{place}{sep}kebocoran gas amonia di pabrik es, warga sesak napas",
        "{place}{sep}kasus DBD melonjak, rumah sakit penuh",
        "{place}{sep}limbah kimia mencemari sumur warga, air berbau",
        "Mercury from the gold mine is poisoning the river at {place}, villagers sick",
        "Pipe at the fertiliser plant in {place} leaked, people coughing and crying",
        "Tuberculosis spreading in the prison in {place}, inmates isolated",
        "Bad smell and burning throat all over {place} after the chemical tank cracked",
        "Families in {place} got sick from contaminated well water, children hospitalised",
        "Tar balls and oil covering the shore at {place}, fishermen can't go out",
        "Vets confirm anthrax in the goats at {place}, villagers with sores on their hands",
        "Hundreds of pilgrims with food poisoning at {place}",
    ),
    "other": (
        "{place}{sep}a king cobra is inside the classroom and bit the teacher",
        "{place}{sep}two squid boats lost contact since Monday, wives crying at the jetty",
        "{place}{sep}my little brother locked himself in the bathroom and isn't answering, we smell nothing but he won't wake",
        "{place}{sep}a diver hasn't surfaced, friends are searching",
        "{place}{sep}contractions every two minutes and we're stuck in traffic, any midwife nearby?",
        "{place}{sep}a bull escaped at the slaughter yard and trampled two men",
        "{place}{sep}my son swallowed a coin and can't breathe properly, rushing out now",
        "{place}{sep}fishing boat drifting with a dead engine, crew calling for help",
        "{place}{sep}the puskesmas has a woman bleeding after birth and no way to get her to the city",
        "{place}{sep}swarm of bees attacked the schoolkids, several stung badly",
        "{place}{sep}a sun bear mauled a rubber tapper at dawn, he has deep wounds",
        "{place}{sep}people stranded on a sandbar and can't get back",
        "{place}{sep}a climber has altitude sickness at the second post, team asking porters to carry him",
        "{place}{sep}our elderly neighbour hasn't opened the door in two days, we hear moaning inside",
        "{place}{sep}monkeys attacking people in the village",
        "{place}{sep}a runner dropped at kilometre 15 of the marathon and is shaking",
        "{place}{sep}a pack of stray dogs mauled an old woman at the rice field",
        "{place}{sep}a girl is stuck on a ledge halfway up the quarry wall",
        "{place}{sep}an old man fell down during Friday prayers and has no pulse",
        "{place}{sep}a woman is on the roof of the mall saying she will end her life",
        "{place}{sep}climbers stranded in the fog on the summit",
        "{place}{sep}my friend ate peanuts and her throat is closing, where is the nearest ER",
        "{place}{sep}an orangutan attacked a plantation worker",
        "{place}{sep}a rafter is clinging to a rock in the rapids, can't reach him",
        "{place}{sep}kakek pingsan di masjid, tidak sadar, butuh ambulans",
        "{place}{sep}anak balita hilang dari rumah sejak pagi",
        "{place}{sep}buaya menerkam warga yang mandi di sungai",
        "{place}{sep}ibu hamil pendarahan, ambulans belum datang",
        "Old lady with dementia wandered off in {place}, family searching all night",
        "My dad is having chest pains and can't breathe, we're in {place}, which hospital",
        "A stingray stung a tourist on the beach at {place}, his leg is turning black",
        "Group of students lost in the cave near {place}, no signal",
        "Elephants came into the village at {place}, destroyed huts, a man hurt",
        "A man had a stroke on the train near {place}, passengers asking for a doctor",
        "Jellyfish stung several kids at {place} beach, one can't breathe well",
        "Villagers at {place} cut off for days, running out of food, asking for rescue",
    ),
}
MORE_NON_EMERGENCY_TEMPLATES = (
    # figurative, with the places
    "{place} traffic this morning was a total trainwreck, one kilometre in an hour",
    "{place} street food week is on fire, queues everywhere", "That midfielder from {place} is a tsunami on the left wing",
    "{place} internet is dead again, I'm losing my mind", "{place} soto is fire, best in the province",
    "The RT meeting in {place} was a hurricane of complaints lol", "{place} bus schedule is a disaster, waited two hours",
    "{place} city lights at night are on fire", "The new bakso place in {place} has TikTok blazing",
    "My room looks like a bomb went off after packing for {place}", "That sambal in {place} nearly killed me",
    "The drummer of the {place} band is a machine gun", "The opening of the new mall in {place} was a tidal wave of people",
    "{place} comedy show killed, I was crying laughing", "Our team from {place} got massacred 6-0, embarrassing",
    "{place} group chat exploded after the announcement", "Landslide victory for the candidate in {place}",
    "The flash sale in {place} was pure chaos, everyone fighting over shoes lol", "{place} coffee shop is flooded with students before exams",
    "My wallet got destroyed by the weekend in {place}", "Her dance in {place} was explosive, standing ovation",
    "This week at the office in {place} has been a war zone of deadlines", "{place} dangdut night was a blast",
    "The new cafe in {place} is the bomb", "Prices at {place} market are murder this month",
    "Heat in {place} today is killing me, need es teh", "Sun in {place} is brutal today, I'm melting",
    "My inbox after the holiday in {place} is a flood", "Drowning in assignments this week, send coffee",
    "{place} futsal final was a bloodbath, 9-2", "The boss erupted at us in the meeting, so awkward",
    "The coach blew up at the ref again", "Stock prices crashed and my heart sank lol",
    "Rumah makan di {place} ini mantap, sambalnya pedas banget", "Macet parah di {place}, kayak neraka tapi jalan pelan",
    # art, media, games, dreams
    "The painting of {volcano} erupting is hanging in the {place} gallery", "Finished the thriller where the villain burns the village, what an ending",
    "Nightmare that a wave swallowed {place}, couldn't sleep after", "Film shot in {place} has a huge flood scene, the effects are great",
    "Documentary about the {river} floods showing tonight", "Museum in {place} reopened the tsunami room",
    "The game lets you rescue people from an earthquake, my kids love it", "Watched a disaster movie in {place}, the popcorn was better",
    "Song about the eruption of {volcano} by a {place} band is trending", "Theatre students in {place} staged a play about the great fire",
    # drills, tests, exercises
    "Airport firefighters at {place} practised putting out a burning fuselage, only training", "Early warning sirens in {place} will sound on Friday for maintenance, nothing to worry about",
    "Damkar taught the ibu-ibu in {place} how to handle a burning gas hose, very useful", "Villagers in {place} walked the escape path up the hill as a practice run",
    "Our RW in {place} painted blue arrows pointing to the assembly point", "BPBD {place} is giving a free class on first aid this Sunday",
    "Hospital in {place} ran a drill with fake injured people, looked so real", "School in {place} practised hiding under the desks today",
    "Damkar {place} gave a fire safety talk at the kindergarten", "Police in {place} practised a hostage rescue, only a simulation",
    "Chemical spill exercise at the industrial estate in {place}, all fake", "Latihan evakuasi tsunami di {place} minggu depan",
    # history, memorials, old news
    "History class today: how the eruption of {volcano} changed the weather", "Grandpa told us about the {volcano} eruption when he was young",
    "Science project: building a model volcano with baking soda", "Candles lit in {place} tonight for those lost in the ferry disaster years ago",
    "Grandma kept photos of the ash-covered village from when {volcano} blew in her youth", "The monument in {place} remembers the 1965 flood",
    "Anniversary of the ferry sinking, flowers thrown into the sea at {place}", "Reading about the 1883 Krakatoa eruption for school",
    # charity, rebuilding, aftermath
    "Youth group in {place} selling cakes to help the families who lost homes in the blaze", "Transfer your infaq for the landslide-hit families, the committee in {place} will deliver",
    "Scouts in {place} are packing instant noodles for the displaced families", "The new earthquake-resistant school in {place} was inaugurated today",
    "Students in {place} raised money for the landslide survivors", "New bridge opened in {place} to replace the one the flood took years ago",
    "The market in {place} reopened a year after the fire, looks great", "Volunteers from {place} coming home after helping the quake victims",
    # advice, plans, forecasts, hypotheticals
    "Where would you meet your family if the phones were down?", "Scientists say sea level rise may threaten {place} in fifty years",
    "The mayor of {place} signed a budget for new drainage", "BMKG: cloudy with light rain over {place} tomorrow afternoon",
    "Imagine if the volcano near {place} woke up, would we even have time to run?", "What happens if {volcano} erupts during Lebaran, just wondering",
    "How to treat a snake bite, thread for hikers", "Keep a torch and water at home during rainy season, just in case",
    "Should {place} build a sea wall before the next big storm?", "Tips: what to pack in a go-bag for earthquakes",
    "Cara menyimpan tabung gas yang aman di dapur, simak ya", "Prakiraan cuaca: hujan ringan di {place} sore ini",
    # plain life in the places
    "Long queue at {place} station for the mudik trains", "Boats lined up at the {place} pier, nice photo spot",
    "The beach near {place} is quiet and clear today", "Foggy morning in {place}, jacket weather",
    "Gudeg in {place} is my weakness", "Weekend trip from {place}, the view is unreal", "Tea plantation walk in {place}, so green",
    "The grilled fish in {place} is massive", "Golden hour over the {place} rice fields", "Bit of water in the gutter after the drizzle, roads all fine",
    "Water level at the floodgate is normal today, says the officer", "Adopted a puppy in {place}, his name is Bolu",
    "New train line to {place} opens next month", "{place} night market has the best martabak",
    "Morning jog around the lake in {place}, lovely breeze", "Traffic light at the {place} junction finally fixed",
    "My cousin's wedding in {place} was beautiful", "The mall in {place} has a new cinema",
    "Football practice in {place} cancelled because of rain, going home", "The ferry to {place} left on time today, smooth sea",
    "Bought durian at {place}, the whole car smells", "School holidays, the kids are at grandma's in {place}",
    "Mendaki {volcano} akhir pekan ini, siapa mau ikut?", "Sunrise from {volcano} this morning was worth the climb",
    "The {river} looks so calm this evening", "Fishing at the {river} with dad, caught three",
    "Jalan-jalan ke {place} hari ini, kulinernya enak semua", "Hujan deras di {place} tapi sudah reda, aman",
    "Firefighters in {place} rescued a kitten from a tree, so cute", "Ambulance parked at the {place} fun run, just on standby",
    "Police in {place} handing out free helmets", "The hospital in {place} opened a new children's ward",
)

PLACES = PLACES + MORE_PLACES
FILL = {**FILL, **MORE_FILL, **ID_FILL}
URGENT_TAIL, CALM_TAIL = URGENT_TAIL + ID_URGENT_TAIL, CALM_TAIL + ID_CALM_TAIL
# How many templates of each table come before the Indonesian ones (rounds 1-3).
EARLIER_TEMPLATES = {category: len(templates) + len(MORE_EMERGENCY_TEMPLATES[category])
                     for category, templates in EMERGENCY_TEMPLATES.items()}
EARLIER_NON_EMERGENCY_TEMPLATES = len(NON_EMERGENCY_TEMPLATES) + len(MORE_NON_EMERGENCY_TEMPLATES)
EMERGENCY_TEMPLATES = {
    category: templates + MORE_EMERGENCY_TEMPLATES[category] + ID_EMERGENCY_TEMPLATES[category]
    for category, templates in EMERGENCY_TEMPLATES.items()
}
NON_EMERGENCY_TEMPLATES = NON_EMERGENCY_TEMPLATES + MORE_NON_EMERGENCY_TEMPLATES + ID_NON_EMERGENCY_TEMPLATES


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


def _index(rng: random.Random, earlier: int, total: int) -> int:
    """A template of a merged table: one of the Indonesian ones (from ``earlier`` on) with
    probability ID_SHARE, else one of the earlier ones."""
    return rng.randrange(earlier, total) if rng.random() < ID_SHARE else rng.randrange(earlier)


def _messages(rng: random.Random) -> list[tuple[str, str, str, str]]:
    """(text, emergency, category, template): the template's name lets training hold out whole
    templates when it cross-validates."""
    rows: dict[str, tuple[str, str, str, str]] = {}
    for category, templates in EMERGENCY_TEMPLATES.items():
        made = 0
        while made < PER_CATEGORY:
            index = _index(rng, EARLIER_TEMPLATES[category], len(templates))
            text = _fill(templates[index], rng, URGENT_TAIL)
            if text not in rows:
                rows[text] = (text, "yes", category, f"{category}-{index}")
                made += 1
    made = 0
    while made < NON_EMERGENCIES:
        index = _index(rng, EARLIER_NON_EMERGENCY_TEMPLATES, len(NON_EMERGENCY_TEMPLATES))
        text = _fill(NON_EMERGENCY_TEMPLATES[index], rng, CALM_TAIL)
        if text not in rows:
            rows[text] = (text, "no", "", f"no-{index}")
            made += 1
    return list(rows.values())


def _agency_messages(rng: random.Random, taken: set[str]) -> list[tuple[str, str, str, str]]:
    cities = [p for p in PLACES if " " not in p]
    rows = []
    for category, templates in ID_AGENCY_TEMPLATES.items():
        made: dict[str, tuple[str, str, str, str]] = {}
        while len(made) < AGENCY_PER_CATEGORY:
            index = rng.randrange(len(templates))
            text = templates[index].format(place=rng.choice(PLACES), city=rng.choice(cities), n=rng.randint(2, 9),
                                           **{key: rng.choice(options) for key, options in ID_AGENCY_FILL.items()})
            if text not in taken and text not in made:
                made[text] = (text, "yes", category, f"{category}-agency-{index}")
        rows += sorted(made.values())
    return rows


def main() -> None:
    rows = _messages(random.Random(SEED))
    rows += _agency_messages(random.Random(AGENCY_SEED), {row[0] for row in rows})
    with OUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("text", "emergency", "category", "template"))
        writer.writerows(rows)
    print(f"wrote {len(rows)} messages to {OUT}")


if __name__ == "__main__":
    main()
