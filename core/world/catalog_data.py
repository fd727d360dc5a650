"""Hand-written seed content for the world catalog.

Everything a person would recognise (categories, teams, services, pages, search phrases) is
written here; brands and products are synthesised from it in `catalog.py` so the catalog grows
without more writing. Names are fictional except generic words, cities and league names.
"""

# Each topic: the interest it stands for, its categories (shop-able), merchants that sell those
# categories, mini-programs (name -> the service it provides), app pages, media shows and
# search phrases that mention no entity. `weekend` topics are busier on Saturdays and Sundays.
TOPICS: dict[str, dict] = {
    "mobile_tech": dict(
        desc="smartphones, laptops and gadgets",
        categories=["smartphone", "laptop", "tablet", "wireless earbuds", "smartwatch", "phone case", "power bank"],
        merchants=["Gadget Galaxy", "TechHub Store", "Digital Plaza", "MegaByte Electronics"],
        miniprograms={"GadgetTrade": "second-hand gadget trading", "TechReview Daily": "gadget reviews"},
        pages=["new phone launches", "gadget deals", "laptop buying guide"],
        media=["Unboxed Weekly", "Tech Talk Tonight"],
        searches=["best phone under 3000 yuan", "phone battery life comparison", "laptop for programming",
                  "noise cancelling earbuds review", "flagship phone camera test"],
    ),
    "phone_repair": dict(
        desc="device repair, parts and maintenance",
        categories=["screen replacement", "phone battery replacement", "phone parts", "repair tools"],
        merchants=["QuickFix Repair", "ScreenDoctor", "iRevive Service Center"],
        miniprograms={"FixIt Booking": "device repair booking"},
        pages=["repair price list", "diy phone repair guides"],
        media=["Repair Bench"],
        searches=["cracked screen repair cost", "phone won't turn on", "replace phone battery yourself",
                  "water damaged phone fix", "wholesale phone screens"],
    ),
    "basketball": dict(
        desc="basketball: leagues, teams, players and gear",
        categories=["basketball shoes", "basketball jersey", "basketball"],
        merchants=["Hoop Nation Store", "CourtKing Sports"],
        miniprograms={"HoopStream": "live basketball streaming", "CourtBook": "basketball court booking"},
        pages=["basketball scores", "player rankings", "trade rumours"],
        media=["Hoops Tonight", "Full Court Press", "Dunk Replay"],
        searches=["basketball game tonight", "playoff bracket", "best dunk of the week", "fantasy basketball picks"],
        weekend=True,
    ),
    "football": dict(
        desc="football (soccer): leagues, clubs, players",
        categories=["football boots", "football shirt", "football"],
        merchants=["Pitchside Sports", "Goal Gear"],
        miniprograms={"MatchDay Live": "live football streaming"},
        pages=["football results", "transfer news"],
        media=["Ninety Minutes", "Goal Rush"],
        searches=["football match tonight", "league table", "transfer window news"],
        weekend=True,
    ),
    "running_fitness": dict(
        desc="running, gyms and fitness",
        categories=["running shoes", "sports watch", "yoga mat", "protein powder", "gym membership"],
        merchants=["StrideRun Outlet", "FitLife Megastore", "PowerGym"],
        miniprograms={"RunTracker": "run tracking", "GymPass": "gym class booking"},
        pages=["marathon training plans", "home workout videos"],
        media=["Run Club Radio", "Fit in Fifteen"],
        searches=["half marathon training plan", "how to run faster", "best protein shake", "beginner gym routine"],
        weekend=True,
    ),
    "gaming": dict(
        desc="video games and game top-ups",
        categories=["game console", "gaming headset", "game credits"],
        merchants=["GameStop Arena", "PixelPlay Store"],
        miniprograms={"GameTopUp": "game credit top-up"},
        pages=["game release calendar", "esports scores"],
        media=["Respawn Show", "Pro League Esports"],
        searches=["new game releases", "best gaming headset", "esports finals schedule"],
        weekend=True,
    ),
    "pets": dict(
        desc="pets: care, food and adoption",
        categories=["dog food", "cat food", "pet toys", "cat litter", "vet visit", "pet grooming"],
        merchants=["PawPal Pet Store", "Happy Tails Market", "VetCare Clinic"],
        miniprograms={"PetHome Adoption": "pet adoption", "VetBook": "vet appointment booking"},
        pages=["pet care tips", "adoptable pets near you"],
        media=["Paws and Claws"],
        searches=["how to train a puppy", "kitten vaccination schedule", "best food for senior dogs",
                  "pet adoption near me", "cat shelter volunteer"],
    ),
    "travel": dict(
        desc="trips, flights, hotels and destinations",
        categories=["flight ticket", "hotel stay", "travel insurance", "luggage", "tour package"],
        merchants=["SkyTrip Travel", "Wanderlust Agency", "GlobeStay Booking"],
        miniprograms={"TripPlanner": "trip planning", "FlyFast": "flight booking"},
        pages=["visa requirements", "cheap flight deals", "destination guides"],
        media=["Weekend Escapes"],
        searches=["visa on arrival countries", "best time to visit", "cheap flights next month",
                  "what to pack for a beach trip", "do i need travel insurance"],
    ),
    "cars": dict(
        desc="cars: buying, owning and selling",
        categories=["car", "car maintenance", "car insurance", "fuel", "car wash", "used car listing"],
        merchants=["AutoCity Dealer", "SpeedLube Service", "PetroMax Station", "UsedAuto Market"],
        miniprograms={"CarValue": "used car valuation", "ParkEasy": "parking payment"},
        pages=["car reviews", "used car prices", "ev charging map"],
        media=["Top Gear Up"],
        searches=["car service interval", "used car price estimate", "best family suv", "electric car range"],
    ),
    "home_living": dict(
        desc="home, renting, furniture and renovation",
        categories=["furniture", "home appliance", "renovation service", "moving service", "monthly rent"],
        merchants=["HomeNest Furniture", "BuildRight Renovation", "SwiftMove Movers"],
        miniprograms={"RentEasy": "apartment rental", "HomeFix Pro": "home repair booking"},
        pages=["apartment listings", "renovation ideas"],
        media=["Dream Home Makeover"],
        searches=["apartment for rent near metro", "renovation cost per square meter", "moving checklist"],
    ),
    "parenting": dict(
        desc="babies, kids and schooling",
        categories=["baby formula", "diapers", "kids clothing", "toys", "school supplies"],
        merchants=["Little Steps Baby Store", "KidsWorld Mall"],
        miniprograms={"ParentTalk": "parenting community", "HomeworkHelper": "homework help"},
        pages=["baby sleep tips", "school admission news"],
        media=["Growing Up Together"],
        searches=["baby sleep schedule", "best stroller", "primary school enrollment", "math homework help"],
    ),
    "education": dict(
        desc="courses, exams and learning",
        categories=["online course", "exam prep book", "language course", "tutoring session"],
        merchants=["LearnMore Academy", "BookWorm Store"],
        miniprograms={"StudyBuddy": "study planning", "WordMaster": "vocabulary training"},
        pages=["exam timetables", "scholarship news"],
        media=["Lecture Hall Live"],
        searches=["ielts preparation", "learn python online", "cpa exam tips", "best online courses"],
    ),
    "beauty": dict(
        desc="skincare, cosmetics and salons",
        categories=["skincare", "lipstick", "perfume", "hair salon", "nail salon"],
        merchants=["GlowUp Beauty", "Velvet Cosmetics", "Shear Magic Salon"],
        miniprograms={"BeautyBook": "salon booking"},
        pages=["skincare routines", "makeup tutorials"],
        media=["Glow Getters"],
        searches=["skincare routine for oily skin", "long lasting lipstick", "best perfume for summer"],
    ),
    "fashion": dict(
        desc="clothes, shoes and accessories",
        categories=["dress", "jeans", "sneakers", "handbag", "sunglasses"],
        merchants=["TrendyWear", "Urban Closet", "StyleMart"],
        miniprograms={"ThriftSwap": "second-hand clothes trading"},
        pages=["fashion week looks", "outfit ideas"],
        media=["Runway Now"],
        searches=["summer outfit ideas", "sneaker release dates", "how to style jeans"],
        weekend=True,
    ),
    "food_delivery": dict(
        desc="takeaway, restaurants and coffee",
        categories=["takeaway meal", "coffee", "bubble tea", "restaurant meal"],
        merchants=["FastBite Delivery", "Urban Eats", "BrewBar Coffee"],
        miniprograms={"MealDash": "food delivery", "TableNow": "restaurant reservation"},
        pages=["restaurant rankings", "food deals"],
        media=["Street Food Hunt"],
        searches=["best noodles near me", "late night delivery", "coffee shop with wifi"],
    ),
    "groceries": dict(
        desc="groceries and cooking at home",
        categories=["fresh vegetables", "meat and seafood", "snacks", "cooking oil", "kitchenware"],
        merchants=["FreshMart", "GreenGrocer", "DailyBasket"],
        miniprograms={"GroceryGo": "grocery delivery"},
        pages=["weekly recipes", "supermarket deals"],
        media=["Home Kitchen"],
        searches=["easy dinner recipes", "how to cook rice perfectly", "weekly meal prep"],
        weekend=True,
    ),
    "investing": dict(
        desc="stocks, funds and savings",
        categories=["stock trade", "mutual fund", "gold savings", "fixed deposit"],
        merchants=["Apex Securities", "BlueChip Brokerage", "GoldVault"],
        miniprograms={"FundWatch": "fund tracking", "StockPulse": "stock quotes"},
        pages=["market news", "fund rankings"],
        media=["Money Matters Tonight"],
        searches=["index fund vs stocks", "how to start investing", "gold price today", "dividend stocks"],
    ),
    "credit": dict(
        desc="credit cards, loans and instalments",
        categories=["credit card application", "personal loan", "business loan", "instalment plan"],
        merchants=["QuickCash Lending", "Harbor Bank Branch"],
        miniprograms={"LoanCompare": "loan comparison", "CreditScore Check": "credit score checking"},
        pages=["loan interest rates", "credit card offers"],
        media=["Credit Clinic"],
        searches=["how to improve credit score", "loan interest rates compared", "credit card cashback offers"],
    ),
    "insurance": dict(
        desc="health, life and property insurance",
        categories=["health insurance", "life insurance", "accident insurance", "home insurance"],
        merchants=["SafeGuard Insurance", "Shield Life"],
        miniprograms={"InsureMe": "insurance comparison"},
        pages=["insurance plans compared", "claim guides"],
        media=["Covered"],
        searches=["health insurance for family", "term life insurance cost", "how to file a claim"],
    ),
    "movies_music": dict(
        desc="movies, concerts and streaming",
        categories=["movie ticket", "concert ticket", "streaming subscription", "vinyl record"],
        merchants=["StarScreen Cinemas", "TicketWave"],
        miniprograms={"CineTime": "movie ticket booking", "TuneBox": "music streaming"},
        pages=["box office charts", "concert listings"],
        media=["Film Review Hour", "Chart Toppers"],
        searches=["movies this weekend", "concert tickets", "new album releases"],
        weekend=True,
    ),
    "health": dict(
        desc="pharmacy, clinics and wellbeing",
        categories=["pharmacy order", "vitamins", "clinic visit", "dental care", "eyeglasses"],
        merchants=["CareWell Pharmacy", "City Health Clinic", "BrightSmile Dental"],
        miniprograms={"DocOnline": "online doctor consultation", "MindEase": "meditation"},
        pages=["health tips", "symptom checker"],
        media=["Healthy Living"],
        searches=["cold remedies", "how to sleep better", "dentist near me"],
    ),
    "mobility": dict(
        desc="commuting, metro, bikes and ride hailing",
        categories=["metro ride", "bike sharing ride", "ride hailing", "bus ride", "scooter sharing ride"],
        merchants=["City Transit", "RideNow"],
        miniprograms={"MetroGo": "metro QR ticketing", "CityBike": "bike sharing", "HelloRide": "bike sharing",
                      "ZipScoot": "scooter sharing", "CabCall": "ride hailing"},
        pages=["metro line map", "commute tips"],
        media=["Commute Radio"],
        searches=["metro timetable", "bike sharing near me", "fastest route to work", "bike lane map"],
    ),
    "lottery_gaming_risk": dict(
        desc="lotteries, betting and quick-money schemes",
        categories=["lottery ticket", "sports betting", "prize draw"],
        merchants=["LuckyStar Lottery", "BetKing"],
        miniprograms={"DailyDraw": "prize draws"},
        pages=["lottery results", "jackpot winners"],
        media=["Jackpot Hour"],
        searches=["lottery numbers today", "how to win jackpot", "betting tips"],
    ),
    "business_supplies": dict(
        desc="small business supplies and services",
        categories=["wholesale goods", "office supplies", "shop equipment", "logistics service"],
        merchants=["BizMart Wholesale", "OfficePro", "ShipFast Logistics"],
        miniprograms={"ShopKeeper": "store management", "InvoiceEasy": "invoicing"},
        pages=["small business tips", "wholesale price lists"],
        media=["Startup Stories"],
        searches=["wholesale suppliers", "how to register a business", "pos machine for shop"],
    ),
    "social_media": dict(
        desc="social apps, live streams and short videos",
        categories=["live stream gift", "sticker pack", "membership subscription"],
        merchants=["StreamStar", "ClipFeed"],
        miniprograms={"LiveHub": "live streaming", "ChatCircle": "group chats"},
        pages=["trending videos", "celebrity gossip"],
        media=["Viral Now"],
        searches=["trending challenge", "how to go viral", "best live streamers"],
    ),
}

# Typed entity families attached to a topic: (type, names, relation-to-parent, parent type).
SPORTS = {
    "basketball": {
        "leagues": {"NBA": ["National Basketball Association", "the league"], "CBA": ["Chinese Basketball Association"]},
        "teams": {
            "NBA": {"Lakers": ["LA Lakers", "Los Angeles Lakers"], "Warriors": ["Golden State Warriors", "Dubs"],
                    "Celtics": ["Boston Celtics", "the Celts"], "Bulls": ["Chicago Bulls"], "Heat": ["Miami Heat"],
                    "Knicks": ["New York Knicks"], "Bucks": ["Milwaukee Bucks"], "Suns": ["Phoenix Suns"],
                    "Mavericks": ["Dallas Mavericks", "Mavs"], "Nuggets": ["Denver Nuggets"]},
            "CBA": {"Guangdong Tigers": ["Southern Tigers"], "Beijing Ducks": ["the Ducks"],
                    "Liaoning Leopards": ["Leopards"], "Shanghai Sharks": ["Sharks"]},
        },
    },
    "football": {
        "leagues": {"Premier League": ["EPL", "English Premier League"], "La Liga": ["Spanish league"],
                    "Super League": ["CSL", "Chinese Super League"]},
        "teams": {
            "Premier League": {"Arsenal": ["the Gunners"], "Liverpool": ["the Reds"], "Chelsea": ["the Blues"],
                               "Manchester United": ["Man United", "Man Utd"], "Manchester City": ["Man City"]},
            "La Liga": {"Real Madrid": ["Los Blancos"], "Barcelona": ["Barca"], "Atletico Madrid": ["Atleti"]},
            "Super League": {"Shanghai Port": ["Port FC"], "Shandong Taishan": ["Taishan"], "Beijing Guoan": ["Guoan"]},
        },
    },
}

FIRST_NAMES = ["Marcus", "Jalen", "Devin", "Tyler", "Andre", "Kai", "Luca", "Mateo", "Zion", "Rui", "Wei", "Jun",
               "Leo", "Noah", "Ethan", "Omar", "Felix", "Hugo", "Ivan", "Nico"]
LAST_NAMES = ["Reed", "Brooks", "Carter", "Hayes", "Nakamura", "Silva", "Okafor", "Zhang", "Moreau", "Petrov",
              "Costa", "Lindqvist", "Mensah", "Duarte", "Kowalski", "Tanaka", "Fischer", "Quinn", "Alvarez", "Chen"]

GAMES = {
    "Dragon Realm": "Emberforge Studio", "Galaxy Racers": "Nova Pixel", "Kingdom Clash": "Emberforge Studio",
    "Shadow Ninja": "Moonlit Games", "Farm Paradise": "Nova Pixel", "Battle Royale X": "Moonlit Games",
    "Puzzle Planet": "Bright Cube", "Street Legends": "Bright Cube", "Hero Arena": "Titan Play",
    "Sky Pirates": "Titan Play", "Mystic Quest": "Emberforge Studio", "Soccer Stars": "Nova Pixel",
}

MOVIE_GENRES = {
    "action film": ["Iron Horizon", "Last Stand", "Velocity"], "comedy film": ["Office Chaos", "Wedding Crashers 3"],
    "horror film": ["The Hollow", "Night Shift"], "animated film": ["Paper Kingdom", "Moon Bunny"],
    "romance film": ["Autumn Letters", "Second Chance"], "sci-fi film": ["Orbit Zero", "Quantum Gate"],
}
MUSIC_ARTISTS = {"pop music": ["Luna Ray", "The Echoes", "Mira Sun"], "rock music": ["Steel Pulse", "Red Canyon"],
                 "hip hop music": ["MC Blaze", "Verse Kings"], "classical music": ["Aurora Quartet"]}

DESTINATIONS = {"Bali": ["Indonesia"], "Tokyo": ["Japan"], "Bangkok": ["Thailand"], "Paris": ["France"],
                "Sanya": ["Hainan"], "Chiang Mai": ["Thailand"], "Seoul": ["Korea"], "Singapore": [],
                "Phuket": ["Thailand"], "Kyoto": ["Japan"], "Lijiang": ["Yunnan"], "Dubai": ["UAE"]}
AIRLINES = {"SkyWing Airlines": ["Bali", "Tokyo", "Bangkok", "Singapore", "Seoul"],
            "Pacific Jet": ["Sanya", "Phuket", "Bali", "Dubai"], "EastStar Air": ["Kyoto", "Seoul", "Lijiang", "Chiang Mai"],
            "AeroLux": ["Paris", "Dubai", "Tokyo"]}
HOTEL_CHAINS = {"Harbor Inn": ["Sanya", "Singapore", "Seoul"], "Palm Resorts": ["Bali", "Phuket", "Dubai"],
                "Urban Stay Hotels": ["Tokyo", "Kyoto", "Paris", "Bangkok"], "Mountain Lodge": ["Lijiang", "Chiang Mai"]}

BANKS = ["Harbor Bank", "Summit Bank", "Golden River Bank", "Unity Credit Union", "Pioneer Bank"]
LOAN_KINDS = ["personal loan", "business loan", "credit card", "car loan", "renovation loan"]
INSURERS = {"SafeGuard Insurance": ["health insurance", "accident insurance", "travel insurance"],
            "Shield Life": ["life insurance", "health insurance"],
            "TravelSafe": ["travel insurance"], "HomeShield": ["home insurance", "car insurance"]}

RESTAURANTS = {"Noodle House": "takeaway meal", "Dragon Dumplings": "restaurant meal", "Burger Barn": "takeaway meal",
               "Sushi Go": "restaurant meal", "Spicy Pot": "restaurant meal", "TeaTime": "bubble tea",
               "Bean Street": "coffee", "Pizza Piazza": "takeaway meal"}
SCHOOLS = {"Brightmind Academy": ["IELTS Masterclass", "Business English"], "CodeCamp": ["Python Bootcamp", "Data Science 101"],
           "ExamAce": ["CPA Crash Course", "Civil Service Exam Prep"], "Little Scholars": ["Kids Math Olympiad", "Reading Club"]}
PET_BREEDS = {"dog food": ["golden retriever", "corgi", "shiba inu", "poodle"], "cat food": ["british shorthair", "ragdoll cat", "orange tabby"]}
CAR_MODELS_PER_BRAND = 2

APPS = {"ShopMall": ["mobile_tech", "fashion", "beauty", "groceries", "parenting", "phone_repair", "pets"],
        "SportsLive": ["basketball", "football", "running_fitness"],
        "NewsFeed": ["investing", "credit", "insurance", "health", "education", "business_supplies"],
        "TravelGo": ["travel", "cars", "mobility", "home_living"],
        "FunZone": ["gaming", "movies_music", "social_media", "lottery_gaming_risk", "food_delivery"]}

CITIES = {1: ["Shanghai", "Beijing", "Shenzhen", "Guangzhou"],
          2: ["Hangzhou", "Chengdu", "Wuhan", "Nanjing", "Xi'an", "Suzhou", "Chongqing", "Tianjin"],
          3: ["Kunming", "Nanning", "Taiyuan", "Lanzhou", "Haikou", "Yinchuan", "Xining", "Guiyang"]}

PAYMENT_CHANNELS = {"wallet balance": ["balance"], "debit card": ["bank card"], "credit card": ["card"],
                    "pay-later credit": ["pay later", "buy now pay later"], "instalment plan": ["instalments"],
                    "bank transfer": ["transfer"], "reward points": ["points"]}

TELECOMS = ["ChinaLink Mobile", "Unicom Plus", "TeleStar"]
UTILITIES = ["City Power Grid", "AquaPure Water", "GasNet"]

# Syllables for synthetic brand names: pronounceable, deterministic by seed.
BRAND_SYLLABLES_A = ["Vol", "Nex", "Zen", "Aur", "Kin", "Lum", "Sol", "Ter", "Vir", "Qua", "Oro", "Pix", "Syn",
                     "Tal", "Ver", "Xen", "Mor", "Cal", "Dra", "Fel"]
BRAND_SYLLABLES_B = ["tra", "ova", "ix", "eon", "ara", "ium", "ant", "os", "ex", "ino", "ora", "yx", "elle", "on"]
MODEL_CODES = ["X5", "Pro 2", "Air", "Max", "Lite", "S9", "Neo", "One", "Plus", "Mini", "Ultra", "GT"]

# Services added only for scenarios (cold-start targets appear only in the label window).
SCENARIO_SERVICES = {
    # name: (type, topic, description, aliases, launch_day or None)
    "VoltRide": ("mini_program", "mobility", "VoltRide is a new electric bike sharing service launched in big cities.",
                 ["Volt Ride", "VoltRide e-bikes"], 60),
    "Brightpath Tutoring": ("mini_program", "education",
                            "Brightpath Tutoring is a new online tutoring service for school children.",
                            ["Brightpath", "Brightpath online tutors"], 60),
    "RentMyPhone": ("mini_program", "mobile_tech", "RentMyPhone rents smartphones for a monthly fee.",
                    ["Rent My Phone", "RMP phone rental"], None),
    "FlexiPhone Lease": ("merchant", "mobile_tech", "FlexiPhone Lease offers phone leasing plans with monthly payments.",
                         ["FlexiPhone"], None),
    "Fitbeat": ("app", "running_fitness", "Fitbeat is a fitness app with workout plans and step challenges.",
                ["Fitbeat app", "FitBeat"], None),
}
