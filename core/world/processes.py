"""The life events and habits behind the 13 built-in scenarios (see scenarios/builtin/*.yaml).

Each block says who has the event (trigger), who converts (convert), which indirect signals
come before (leads), what conversion looks like (outcome) and what looks alike without being
it (alternative, lookalike). Coefficients are on standardised features.
"""

from __future__ import annotations

import numpy as np

from targetbot.core.world.journeys import Ctx, Habit, Journey, Step, StepEmitter, names, phrases, related, typed, union, z

# Entities whose events come only from these processes, never from background sessions.
RESERVED = [
    "RentMyPhone", "FlexiPhone Lease", "phone rental", "Fitbeat", "Fitbeat promotion", "MetroGo", "HoopStream",
    "travel insurance", "used car listing", "VoltRide", "Brightpath Tutoring", "online tutoring", "CityBike",
    "HelloRide", "dog food", "cat food", "MatchDay Live",
]
RESERVED_CATEGORIES = ["dog food", "cat food", "travel insurance"]

CITIES = typed("city")
SMARTPHONES = typed("product", "smartphone")
REPAIR_SHOPS = names("QuickFix Repair", "ScreenDoctor", "iRevive Service Center")
NBA = related("member_of", "NBA")
CBA = related("member_of", "CBA")
FOOTBALL = union(related("member_of", "Premier League"), related("member_of", "La Liga"), related("member_of", "Super League"))


def journeys() -> list[Journey]:
    return [
        # ---------------- security ----------------
        Journey(
            name="account_theft", target=0.02,
            trigger=lambda c: 1.0 * z(1 - c.latent("literacy")) + 0.6 * (~c.latent("has_2fa")) + 0.4 * c.interest("lottery_gaming_risk")
            + 0.3 * c.interest("social_media"),
            convert=lambda c: 1.2 * z(1 - c.latent("literacy")) + 1.0 * (~c.latent("has_2fa")) - 0.8,
            leads=[
                Step("page", ["Clicked a link: claim your free gift card now", "Opened a prize verification page from an SMS link",
                              "Entered phone number on a lucky draw page"], category="suspicious link"),
                Step("search", ["{e}"], e=phrases("free phone recharge coupon", "how to claim prize money", "win a free phone today")),
                Step("account", ["Verification code requested for login", "Login attempt failed on a new device",
                                 "Security question changed"], category="security alert", status="ok"),
                Step("bill", ["Paid 1 yuan verification fee to an unknown merchant"], category="small test payment", amount=(1, 1), weight=0.5),
            ],
            lead_mean=3.0, lead_lag=(1, 30), false_lead_share=0.06,
            outcome=[Step("account", ["Account locked after an unauthorized login from {e}",
                                      "Unrecognized payment reported: account compromised",
                                      "Password reset by support after account takeover"], e=CITIES,
                          category="account takeover", status="locked", item="")],
            lookalike=lambda c: (c.interest("travel") > 1.0) | (c.pop.profiles["devices_count"].to_numpy() >= 3),
            lookalike_steps=[Step("account", ["Logged in from a new device in {e}", "New phone added as trusted device",
                                              "Password changed"], e=CITIES, category="new device login", status="ok", item="")],
            lookalike_rate=2.0,
        ),
        Journey(
            name="scam_victim", target=0.02,
            trigger=lambda c: 1.0 * (c.latent("age") > 55) + 0.8 * z(1 - c.latent("literacy")) + 0.5 * c.interest("lottery_gaming_risk")
            + 0.3 * c.interest("investing") + 0.3 * c.interest("social_media"),
            convert=lambda c: 0.9 * z(1 - c.latent("literacy")) + 0.6 * (c.latent("savings") != "low") + 0.6 * (c.latent("age") > 55) - 0.3,
            leads=[
                Step("search", ["{e}"], e=phrases("guaranteed 20 percent monthly return", "crypto trading signals group",
                                                  "how to double my savings fast", "insider stock tips")),
                Step("page", ["Joined a wealth secrets group on ChatCircle", "Watched a live stream promising quick profits",
                              "Viewed a high-yield wealth product ad"], category="investment promotion"),
                Step("bill", ["Transferred money to a personal account for a wealth club membership"],
                     category="personal transfer", amount=(500, 5000), status="paid", weight=0.6),
            ],
            lead_mean=3.0, lead_lag=(3, 40),
            outcome=[Step("bill", ["Reported fraud: transfer to a fake investment platform",
                                   "Disputed transfer to an unlicensed trading app"], category="fraud report",
                          status="disputed", amount=(2000, 50000))],
            outcome_events=(1, 1),
            lookalike=lambda c: c.interest("investing") > 1.2,
            lookalike_steps=[
                Step("bill", ["Bought index fund units on {e}", "Bought blue-chip shares on {e}"],
                     e=names("Apex Securities", "BlueChip Brokerage"), category="stock trade", merchant="e", amount=(1000, 20000)),
                Step("page", ["Checked portfolio on StockPulse", "Read quarterly fund report"], category="stock trade"),
            ],
            lookalike_rate=3.0,
        ),
        Journey(
            name="credit_cashout", target=0.015,
            eligible=lambda c: c.latent("has_card") == 1,
            trigger=lambda c: 1.3 * z(c.latent("stress")) + 0.5 * c.interest("lottery_gaming_risk") + 0.4 * c.persona("gig_worker"),
            convert=lambda c: 1.0 * z(c.latent("stress")) + 0.5 * (c.latent("credit_score") < 600) - 0.2,
            leads=[
                Step("bill", ["Paid exactly 5000 yuan at {e} with credit card", "Paid exactly 2000 yuan at {e} with credit card",
                              "Round-amount credit card payment at {e}"], e=typed("merchant"), category="round-amount payment",
                     merchant="e", amount=(2000, 5000)),
                Step("search", ["{e}"], e=phrases("credit card cash out service", "turn card limit into money",
                                                  "instant money from pay-later")),
                Step("page", ["Viewed credit limit increase page", "Checked credit card available limit"], category="credit limit"),
            ],
            lead_mean=4.0, lead_lag=(2, 35),
            outcome=[Step("bill", ["Transaction flagged as credit cash-out at {e}", "Card frozen: suspected cash-out at {e}"],
                          e=typed("merchant"), category="cash-out flag", status="frozen", merchant="e", amount=(3000, 20000))],
            outcome_events=(1, 1),
            lookalike=lambda c: c.pop.is_persona("small_business_owner", "car_dealer"),
            lookalike_steps=[Step("bill", ["Paid wholesale invoice at {e} with credit card", "Bulk purchase at {e}, paid by card"],
                                  e=names("BizMart Wholesale", "OfficePro"), category="wholesale payment", merchant="e",
                                  amount=(2000, 10000))],
            lookalike_rate=3.0,
        ),
        # ---------------- marketing ----------------
        Journey(
            name="app_click", target=0.07, span=(60.0, 90.0),
            trigger=lambda c: np.zeros(c.pop.n),
            convert=lambda c: 1.4 * c.interest("running_fitness") + 1.2 * z(c.latent("promo_clicker")) + 0.4 * (c.latent("age") < 35) - 1.8,
            lead_mean=0.0,
            outcome=[Step("page", ["Clicked the {e} and installed the app", "Tapped the {e}: 30-day free workout plan"],
                          e=names("Fitbeat promotion"), category="promotion click")],
            outcome_events=(1, 1),
            alternative=[Step("page", ["Saw the {e}", "Scrolled past the {e}"], e=names("Fitbeat promotion"),
                              category="promotion impression")],
            alternative_prob=1.0,
        ),
        Journey(
            name="phone_renting", target=0.03,
            trigger=lambda c: 0.5 * z(c.pop.profiles["phone_age_months"].to_numpy()) + 0.3 * c.interest("mobile_tech") + 0.3 * c.interest("gaming"),
            convert=lambda c: 1.2 * z(-c.latent("credit_score")) + 0.8 * (c.latent("savings") == "low")
            + 0.8 * c.persona("student", "gig_worker") + 0.4 * (c.latent("age") < 30)
            - 1.5 * c.persona("tech_enthusiast", "repair_technician", "affluent_professional") - 1.0,
            leads=[
                Step("bill", ["Paid {e} for screen replacement", "Phone battery replacement at {e}"], e=REPAIR_SHOPS,
                     category="screen replacement", merchant="e", amount=(150, 900)),
                Step("search", ["{e}"], e=phrases("cracked screen repair cost", "phone won't turn on", "phone without upfront payment",
                                                  "monthly phone payment plan", "cheapest way to get a new phone", "phone deposit free"),
                     weight=1.5),
                Step("page", ["Browsed reviews of {e}", "Compared prices for {e}"], e=SMARTPHONES),
                Step("miniprogram", ["Checked credit score in CreditScore Check", "Viewed pay-later limit"], category="credit check", weight=0.5),
            ],
            lead_mean=4.0, lead_lag=(2, 35),
            outcome=[
                Step("miniprogram", ["Started a phone rental plan on {e} for a {m}", "Signed a monthly lease for {m} with {e}"],
                     e=names("RentMyPhone", "FlexiPhone Lease"), m=SMARTPHONES, category="phone rental", merchant="e", item="m"),
                Step("bill", ["Paid first month's rental for {m} to {e}"], e=names("RentMyPhone", "FlexiPhone Lease"),
                     m=SMARTPHONES, category="phone rental", merchant="e", item="m", amount=(59, 299)),
            ],
            alternative=[Step("bill", ["Bought {e} at {m}", "Purchased a new {e} from {m}"], e=SMARTPHONES,
                              m=names("Gadget Galaxy", "TechHub Store", "Digital Plaza"), merchant="m")],
            alternative_prob=0.6,
            lookalike=lambda c: c.pop.is_persona("repair_technician", "tech_enthusiast"),
            lookalike_steps=[
                Step("bill", ["Bought wholesale {e} for the repair shop", "Ordered {e} in bulk"], e=typed("product", "phone parts")),
                Step("bill", ["Paid {e} for screen replacement"], e=REPAIR_SHOPS, category="screen replacement", merchant="e",
                     amount=(150, 900)),
                Step("search", ["{e}"], e=phrases("wholesale phone screens", "phone won't turn on", "cracked screen repair cost")),
                Step("page", ["Browsed reviews of {e}", "Pre-ordered {e}"], e=SMARTPHONES),
            ],
            lookalike_rate=5.0,
        ),
        Journey(
            name="credit_facilities", target=0.05,
            trigger=lambda c: 0.8 * c.persona("small_business_owner") + 0.4 * ((c.latent("age") > 25) & (c.latent("age") < 45))
            + 0.3 * c.interest("home_living") + 0.3 * c.interest("business_supplies"),
            convert=lambda c: 0.8 * (c.latent("savings") == "low") + 0.4 * (c.latent("savings") == "medium")
            + 0.6 * z(c.latent("credit_score")) - 0.6 * c.persona("retiree") - 0.2,
            leads=[
                Step("search", ["{e}"], e=phrases("how to register a business", "renovation cost per square meter", "wedding venue prices",
                                                  "car loan monthly payment", "how much can i borrow")),
                Step("page", ["Viewed wedding photography packages", "Read small business tips", "Browsed renovation ideas"],
                     category="big expense planning"),
                Step("miniprogram", ["Booked a renovation quote on HomeFix Pro", "Checked credit score in CreditScore Check"],
                     category="big expense planning"),
                Step("bill", ["Paid a deposit for shop equipment at BizMart Wholesale", "Paid a wedding venue deposit"],
                     category="large deposit", amount=(2000, 20000), weight=0.5),
            ],
            lead_mean=3.5, lead_lag=(3, 40),
            outcome=[Step("miniprogram", ["Applied for {e} on LoanCompare", "Submitted an application for {e}"],
                          e=typed("loan_product"), category="credit application")],
            outcome_events=(1, 1),
            alternative=[Step("page", ["Viewed {e} details", "Compared {e} rates"], e=typed("loan_product"), category="loan browsing")],
            alternative_prob=0.6,
        ),
        Journey(
            name="used_car_selling", target=0.025,
            eligible=lambda c: c.latent("car_owner") & ~c.pop.is_persona("car_dealer"),
            trigger=lambda c: 0.6 * z(c.latent("car_age")) + 0.5 * ((c.pop.profiles["num_children"].to_numpy() > 0) & (c.latent("age") < 40))
            + 0.3 * c.interest("cars"),
            convert=lambda c: 0.5 * z(c.latent("car_age")) + 0.5,
            leads=[
                Step("miniprogram", ["Got a valuation for {e} on CarValue", "Checked the resale value of {e}"],
                     e=typed("car_model"), stable_e=True, category="car valuation"),
                Step("search", ["{e}"], e=phrases("used car price estimate", "how to sell my car privately", "best family suv",
                                                  "car transfer paperwork")),
                Step("page", ["Viewed used car prices", "Browsed family SUVs"], category="car shopping"),
                Step("bill", ["Paid SpeedLube Service for a full car service", "Paid for a car detailing at SpeedLube Service"],
                     category="car maintenance", amount=(300, 1500), weight=0.6),
            ],
            lead_mean=4.0, lead_lag=(3, 40),
            outcome=[Step("miniprogram", ["Listed my {e} for sale on UsedAuto Market", "Posted a private sale ad for {e}"],
                          e=typed("car_model"), stable_e=True, category="used car listing")],
            outcome_events=(1, 1),
            lookalike=lambda c: c.pop.is_persona("car_dealer"),
            lookalike_steps=[
                Step("miniprogram", ["Listed {e} for sale on UsedAuto Market", "Posted a sale ad for {e}"], e=typed("car_model"),
                     category="used car listing"),
                Step("miniprogram", ["Got a valuation for {e} on CarValue"], e=typed("car_model"), category="car valuation"),
                Step("bill", ["Bought {e} at a car auction"], e=typed("car_model"), category="car purchase", amount=(30000, 150000)),
            ],
            lookalike_rate=8.0,
        ),
        Journey(
            name="travel_insurance", target=0.04,
            trigger=lambda c: 1.0 * c.interest("travel") + 0.5 * z(np.log(c.latent("income"))) + 0.3 * c.persona("affluent_professional", "young_professional"),
            convert=lambda c: 0.7 * z(np.log(c.latent("income"))) + 0.6 * (c.latent("age") > 30) + 0.6 * c.interest("insurance") - 0.4,
            leads=[
                Step("search", ["{e} visa requirements", "what to pack for {e}", "{e} weather next month"], e=typed("destination"),
                     stable_e=True),
                Step("page", ["Browsed {e} travel guide", "Viewed hotel deals in {e}"], e=typed("destination"), stable_e=True),
                Step("bill", ["Booked flight to {e} with {m}"], e=typed("destination"), stable_e=True, m=typed("airline"),
                     category="flight ticket", merchant="m", amount=(800, 6000), weight=1.2),
                Step("bill", ["Booked {m} in {e}"], e=typed("destination"), stable_e=True, m=typed("hotel_chain"),
                     category="hotel stay", merchant="m", amount=(400, 3000)),
            ],
            lead_mean=4.0, lead_lag=(3, 30),
            outcome=[Step("bill", ["Bought {e} for a trip to {m}", "Paid {e} premium for travel to {m}"],
                          e=typed("insurance_product", "travel insurance"), m=typed("destination"), stable_m=True,
                          category="travel insurance", amount=(50, 400))],
            outcome_events=(1, 1),
            false_lead_share=0.02,
        ),
        # ---------------- recommendation (cold start) ----------------
        Journey(
            name="ebike_new", target=0.06, span=(60.0, 90.0),
            trigger=lambda c: 2.0 * c.latent("bike_user") + 0.5 * (c.latent("tier") == 1) + 0.4 * (c.latent("age") < 35)
            + 0.3 * c.interest("running_fitness"),
            leads=[Step("search", ["{e}"], e=phrases("electric bike sharing near me", "e-bike rental price"))],
            lead_mean=0.5, lead_lag=(1, 20),
            outcome=[Step("miniprogram", ["Unlocked a {e} e-bike", "Rode a {e} e-bike to work", "Ended a {e} ride"],
                          e=names("VoltRide"), category="e-bike sharing ride", merchant="e")],
            outcome_events=(1, 4),
        ),
        Journey(
            name="tutoring_new", target=0.03, span=(60.0, 90.0),
            eligible=lambda c: c.latent("school_kids"),
            trigger=lambda c: 0.6 * c.interest("education") + 0.5 * c.interest("parenting") + 0.5 * z(np.log(c.latent("income"))),
            convert=lambda c: 0.5 * z(np.log(c.latent("income"))) + 0.3,
            leads=[
                Step("search", ["{e}"], e=phrases("math homework help", "online tutor for primary school", "improve child's reading")),
                Step("miniprogram", ["Used HomeworkHelper for a math question", "Asked a question on ParentTalk about tutors"],
                     category="homework help"),
                Step("page", ["Read school admission news", "Viewed exam timetables"], category="school news"),
            ],
            lead_mean=2.5, lead_lag=(1, 40),
            outcome=[Step("miniprogram", ["Signed up for a {e} trial lesson", "Booked a {e} session"],
                          e=names("Brightpath Tutoring"), category="online tutoring", merchant="e"),
                     Step("bill", ["Paid {e} for a monthly tutoring plan"], e=names("Brightpath Tutoring"),
                          category="online tutoring", merchant="e", amount=(300, 1200))],
            alternative=[Step("bill", ["Paid tuition for {e}"], e=names("Kids Math Olympiad", "Reading Club"),
                              category="tutoring session", amount=(300, 1500))],
            alternative_prob=0.3,
        ),
        Journey(  # pet adoption turns users into pet owners from the adoption day (pet_food habit)
            name="pet_adoption", target=0.015,
            trigger=lambda c: 0.8 * c.interest("pets") + 0.4 * c.persona("family_parent") - 2.0 * c.latent("pet_owner"),
            leads=[
                Step("search", ["{e}"], e=phrases("pet adoption near me", "how to train a puppy", "kitten vaccination schedule",
                                                  "cat shelter volunteer")),
                Step("miniprogram", ["Browsed adoptable pets on PetHome Adoption"], category="pet adoption"),
                Step("page", ["Viewed adoptable pets near you"], category="pet adoption"),
            ],
            lead_mean=3.0, lead_lag=(2, 30),
            outcome=[Step("miniprogram", ["Adopted a {e} through PetHome Adoption"], e=typed("pet_breed"), category="pet adoption",
                          merchant=None)],
            outcome_events=(1, 1),
        ),
    ]


def _metro_active(c: Ctx):
    n, rng, days = c.pop.n, c.rng, c.days
    metro = c.latent("metro_user")
    start = np.where(metro, 0.0, np.inf)
    end = np.full(n, float(days))
    churn = metro & (rng.random(n) < 0.15)
    end[churn] = rng.random(churn.sum()) * days
    adopt = ~metro & c.latent("commuter") | (~metro & (rng.random(n) < 0.04))
    adopt &= rng.random(n) < 0.25
    start[adopt] = rng.random(adopt.sum()) * days * 1.2
    return start, end


def _metro_leads(c: Ctx, start: np.ndarray, end: np.ndarray) -> None:
    """Adopters move or change jobs first; churners start shopping for a car."""
    rng, days = c.rng, c.days
    em = StepEmitter(c, "metro_leads")
    adopters = np.flatnonzero(np.isfinite(start) & (start > 0))
    k = rng.poisson(2.0 * c.signal, len(adopters))
    u = np.repeat(adopters, k).astype(np.int32)
    em.emit([Step("search", ["{e}"], e=phrases("apartment for rent near metro", "metro timetable", "fastest route to work")),
             Step("bill", ["Paid SwiftMove Movers for a moving service"], category="moving service", amount=(500, 3000)),
             Step("page", ["Viewed metro line map"], category="commute")],
            u, np.repeat(start[adopters], k) - rng.random(len(u)) * 25)
    churners = np.flatnonzero(end < days)
    k = rng.poisson(2.0 * c.signal, len(churners))
    u = np.repeat(churners, k).astype(np.int32)
    em.emit([Step("search", ["{e}"], e=phrases("car loan monthly payment", "best family suv", "driving school fees")),
             Step("page", ["Browsed {e} reviews"], e=typed("car_model"))],
            u, np.repeat(end[churners], k) - rng.random(len(u)) * 25)


def habits(ctx: Ctx) -> list[Habit]:
    adopt_u, adopt_t = ctx.outcome_times.get("pet_adoption", (np.array([], int), np.array([])))
    pet_start = np.where(ctx.latent("pet_owner"), 0.0, np.inf)
    np.minimum.at(pet_start, adopt_u, adopt_t)
    dog = ctx.latent("pet_is_dog")
    metro_start, metro_end = _metro_active(ctx)
    _metro_leads(ctx, metro_start, metro_end)
    bb = ctx.pop.topic_interest("basketball", ctx.cat.topics)
    fb = ctx.pop.topic_interest("football", ctx.cat.topics)
    return [
        Habit("metro_rides", rate=lambda c: np.full(c.pop.n, 0.5), weekdays_only=True,
              active=lambda c: (metro_start, metro_end),
              steps=[Step("miniprogram", ["Metro ride with {e} QR code", "Scanned {e} at the metro gate", "Topped up {e} transit balance"],
                          e=names("MetroGo"), category="metro ride", merchant="e")]),
        Habit("bike_rides", rate=lambda c: c.latent("bike_user") * 0.12,
              steps=[Step("miniprogram", ["Rode a shared bike with {e}", "Unlocked a {e} bike", "Ended a {e} bike ride"],
                          e=names("CityBike", "HelloRide"), stable_e=True, category="bike sharing ride", merchant="e")]),
        Habit("nba_streams", rate=lambda c: np.where(bb > 0.08, 0.02 + 0.5 * bb, 0.0),
              steps=[Step("miniprogram", ["Watched {e} vs {m} live on HoopStream", "Streamed the {e} game on HoopStream"],
                          e=NBA, m=NBA, category="NBA live stream", item="e")]),
        Habit("cba_streams", rate=lambda c: np.where((bb > 0.04) & (c.latent("tier") >= 2), 0.15 * bb + 0.01, 0.0),
              steps=[Step("miniprogram", ["Watched {e} vs {m} live on HoopStream"], e=CBA, m=CBA, category="CBA live stream")]),
        Habit("football_streams", rate=lambda c: np.where(fb > 0.06, 0.02 + 0.4 * fb, 0.0),
              steps=[Step("miniprogram", ["Watched {e} vs {m} on MatchDay Live", "Streamed the {e} match on MatchDay Live"],
                          e=FOOTBALL, m=FOOTBALL, category="football live stream")]),
        Habit("dog_food", rate=lambda c: np.where(dog, 1 / 18, 0.0), active=lambda c: (pet_start, np.full(c.pop.n, float(c.days))),
              steps=[Step("bill", ["Bought {e} at {m}", "Ordered {e} from {m}", "{m} receipt: {e}"], e=typed("product", "dog food"),
                          stable_e=True, m=names("PawPal Pet Store", "Happy Tails Market"), merchant="m")]),
        Habit("cat_food", rate=lambda c: np.where(~dog, 1 / 18, 0.0), active=lambda c: (pet_start, np.full(c.pop.n, float(c.days))),
              steps=[Step("bill", ["Bought {e} at {m}", "Ordered {e} from {m}", "{m} receipt: {e}"], e=typed("product", "cat food"),
                          stable_e=True, m=names("PawPal Pet Store", "Happy Tails Market"), merchant="m")]),
        Habit("promo_clicks", rate=lambda c: c.latent("promo_clicker") * 0.08,
              steps=[Step("page", ["Clicked a promotion for {e}", "Opened a coupon banner from {e}"],
                          e=typed("merchant"), category="promotion click")]),
    ]
