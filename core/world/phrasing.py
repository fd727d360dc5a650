"""Natural-language templates for background behaviour, several paraphrases per (source, group).

Slots: {e} the entity's surface form (name or alias), {m} a second entity (the merchant of a
bill, the app of a page), {cat} the entity's category, {b} an amount bucket. Texts are built
from a bounded set of pieces so the number of distinct texts grows with the catalog, not with
the number of users: the representation center embeds each distinct text once.
"""

SOURCES = ("bill", "miniprogram", "page", "search", "account")

# Probability of each source for an event about an entity of a given group.
SOURCE_MIX = {
    "shop": {"bill": 0.35, "page": 0.33, "search": 0.27, "miniprogram": 0.05},
    "place": {"bill": 0.6, "page": 0.15, "search": 0.15, "miniprogram": 0.1},
    "service": {"miniprogram": 0.7, "search": 0.15, "page": 0.15},
    "service_kind": {"search": 0.6, "page": 0.4},
    "content": {"page": 0.75, "search": 0.25},
    "sports": {"page": 0.55, "search": 0.33, "bill": 0.04, "miniprogram": 0.08},
    "game": {"bill": 0.3, "page": 0.35, "search": 0.25, "miniprogram": 0.1},
    "entertainment": {"page": 0.4, "search": 0.3, "bill": 0.3},
    "travel": {"page": 0.45, "search": 0.35, "bill": 0.2},
    "finance": {"page": 0.5, "search": 0.35, "miniprogram": 0.15},
    "learning": {"page": 0.4, "search": 0.3, "bill": 0.3},
    "pet": {"search": 0.5, "page": 0.5},
    "other": {"page": 1.0},
}

TEMPLATES: dict[tuple[str, str], list[str]] = {
    ("bill", "shop"): [
        "Bought {e} at {m}", "Paid {m} for {e}", "Order from {m}: {e}", "Purchased {e} from {m}",
        "{m} receipt: {e}",
    ],
    ("page", "shop"): [
        "Viewed {e} product page", "Browsed reviews of {e}", "Compared prices for {e}", "Read a buying guide for {cat}",
        "Added {e} to wishlist",
    ],
    ("search", "shop"): ["{e} price", "{e} review", "where to buy {e}", "is {e} worth it", "best {cat} deals"],
    ("miniprogram", "shop"): ["Opened {m} mini-program to look at {e}", "Checked {e} stock in {m} mini-program"],
    ("bill", "place"): ["Paid {e}", "Spent over {b} yuan at {e}", "Payment to {e}", "{e} purchase"],
    ("page", "place"): ["Viewed {e} store page", "Read customer reviews of {e}", "Looked at {e} opening hours"],
    ("search", "place"): ["{e} near me", "{e} coupons", "{e} opening hours"],
    ("miniprogram", "place"): ["Opened {e} mini-program", "Collected a coupon in {e} mini-program"],
    ("miniprogram", "service"): ["Used {e}", "Opened {e}", "Booked through {e}", "Checked updates in {e}"],
    ("search", "service"): ["how to use {e}", "{e} customer service", "{e} alternatives"],
    ("page", "service"): ["Read about {e} on {m}", "Viewed {e} introduction page"],
    ("search", "service_kind"): ["{e} app", "best {e} service", "{e} reviews"],
    ("page", "service_kind"): ["Browsed {e} options on {m}", "Read about {e}"],
    ("page", "content"): ["Viewed {e}", "Read {e} on {m}", "Watched {e}", "Spent time on {e}"],
    ("search", "content"): ["{e}", "{e} latest", "{e} today"],
    ("page", "sports"): ["Watched {e} highlights", "Read news about {e}", "Checked {e} stats", "Followed {e} on {m}"],
    ("search", "sports"): ["{e} schedule", "{e} latest news", "{e} score", "{e} tickets"],
    ("bill", "sports"): ["Bought {e} merchandise", "Paid for {e} fan club membership"],
    ("miniprogram", "sports"): ["Set a reminder for the next {e} game", "Voted in a {e} fan poll"],
    ("bill", "game"): ["Topped up {e} game credits", "Bought a {e} season pass", "In-game purchase in {e}"],
    ("page", "game"): ["Watched {e} gameplay video", "Read {e} patch notes", "Viewed {e} tournament page"],
    ("search", "game"): ["{e} tips", "{e} best build", "{e} download"],
    ("miniprogram", "game"): ["Claimed daily reward for {e}", "Joined a {e} team room"],
    ("page", "entertainment"): ["Watched {e} trailer", "Read reviews of {e}", "Viewed {e} page"],
    ("search", "entertainment"): ["{e} tickets", "{e} review", "{e} showtimes"],
    ("bill", "entertainment"): ["Bought tickets for {e}", "Paid for {e} on {m}"],
    ("page", "travel"): ["Browsed {e} travel guide", "Viewed deals for {e}", "Read reviews of {e}"],
    ("search", "travel"): ["{e} travel tips", "{e} prices", "things to do in {e}"],
    ("bill", "travel"): ["Booked {e}", "Paid a deposit for {e}"],
    ("page", "finance"): ["Viewed {e} details", "Compared {e} rates", "Read terms of {e}"],
    ("search", "finance"): ["{e} interest rate", "{e} requirements", "{e} review"],
    ("miniprogram", "finance"): ["Checked {e} in LoanCompare", "Calculated payments for {e}"],
    ("page", "learning"): ["Viewed {e} syllabus", "Read reviews of {e}", "Watched a free lesson from {e}"],
    ("search", "learning"): ["{e} fees", "{e} schedule", "is {e} good"],
    ("bill", "learning"): ["Paid tuition for {e}", "Bought materials for {e}"],
    ("search", "pet"): ["{e} care tips", "{e} temperament", "{e} grooming"],
    ("page", "pet"): ["Read about {e}", "Watched cute {e} videos"],
    ("page", "other"): ["Viewed {e} page"],
}

AMOUNT_BUCKETS = (10, 50, 100, 200, 500, 1000, 2000, 5000, 10000)

# Recurring everyday events (weekly / monthly cycles): texts and categories.
CYCLES = {
    "salary": dict(source="bill", category="salary", status="received",
                   texts=["Salary received from employer", "Monthly salary deposit", "Payroll credited to wallet"]),
    "phone_bill": dict(source="bill", category="phone bill", status="paid",
                       texts=["Paid mobile phone bill to {e}", "{e} monthly phone plan payment", "Topped up phone credit with {e}"]),
    "utilities": dict(source="bill", category="utilities", status="paid",
                      texts=["Paid electricity bill to {e}", "Paid utility bill to {e}", "{e} bill payment"]),
    "rent": dict(source="bill", category="monthly rent", status="paid",
                 texts=["Paid monthly rent via RentEasy", "Monthly apartment rent payment", "Transferred rent to landlord"]),
    "card_repay": dict(source="bill", category="credit card repayment", status="paid",
                       texts=["Repaid credit card bill at {e}", "{e} credit card repayment", "Paid off card statement to {e}"]),
    "login": dict(source="account", category="login", status="ok",
                  texts=["Logged in on usual phone", "Signed in with fingerprint", "Opened wallet app"]),
}
