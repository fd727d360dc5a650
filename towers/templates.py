"""Template sentences: a request, in whatever form a marketer writes it, as FIND-family sentences
about one user ("The user will book a holiday package.", "The user paid to book a holiday package.",
"The user searched for how to book a holiday package.").

Requests come as noun phrases ("boba addicts"), subjects with a clause ("high earners who will
book a holiday package", "parents likely to buy baby food", "families stocking up on nappies"),
imperatives ("find me users who ..."), questions ("who's about to get phished?") and negations
("people who won't renew"). `parse` splits a request into the people it describes and what they
will do; `template_sentences` writes sentences from those parts, so each is a grammatical
sentence about "the user" whatever the request's form. No parser model: rules over English
function words and a small verb table, because requests are short and rules are cheap to read
and test (tests/towers/test_templates.py runs them over every request of the scenario bank).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CONTRACTIONS = [
    (r"\bwon't\b", "will not"), (r"\bcan't\b", "cannot"), (r"\bdon't\b", "do not"), (r"\bdoesn't\b", "does not"),
    (r"\bdidn't\b", "did not"), (r"\baren't\b", "are not"), (r"\bisn't\b", "is not"), (r"\bhaven't\b", "have not"),
    (r"\bhasn't\b", "has not"), (r"\bwouldn't\b", "would not"), (r"\bshouldn't\b", "should not"),
    (r"\bgonna\b", "going to"), (r"\bwanna\b", "want to"), (r"\bppl\b", "people"), (r"\bw/o\b", "without"),
    (r"\bw/", "with "), (r"\b(who|that|they|people)'ll\b", r"\1 will"), (r"\b(who|that|they)'d\b", r"\1 would"),
    (r"\b(who|that|they)'ve\b", r"\1 have"), (r"\b(who|they)'re\b", r"\1 are"),
    (r"\bwho r\b", "who are"), (r"\bno longer\b", "no-longer"),
]
# "who's been buying" is "who has", "who's buying" is "who is"; "who'd bought" is "who had"
_S_OR_D = re.compile(r"\b(who|that)'(s|d)\s+((?:(?:never|already|just|recently|ever|not)\s+)*)(\S+)", re.I)
_IMPERATIVE = re.compile(
    r"^find out\s+|^(?:(?:please|pls|hey|ok|so)[, ]+)?(?:(?:can|could) you |i(?:'m| am) |we(?:'re| are) |"
    r"i (?:want|need|would like) "
    r"(?:to )?|we (?:want|need) (?:to )?|help me |let's |let us )?(?:find(?! out)|(?-i:target)|reach|show|get|give|"
    r"list|select|identify|pull|grab|build|fetch|need|look(?:ing|in)? (?:for|after)|after|search for|segment)"
    r"(?: me| us)?(?: an? (?:audience|list|segment) of)?(?: all)?(?: the)?\s+(?=\S)|"
    r"^(?:an? )?(?:list|audience|segment) of\s+|^(?:audience|segment|target|targets|who)\s*:\s*", re.IGNORECASE)
_TAIL = re.compile(r"(?:,?\s*(?:(?:find|target|reach|get) (?:'em|them|those|these)|please|pls|thanks)|[?!.]+)\s*$", re.I)
# where an exclusion starts ("..., excluding X", "... but not Y", "minus anyone who ..."): sentences
# describe only what comes before it (exclusions are scored separately)
_EXCLUSION = re.compile(
    r"(?:,\s*|\s+)(?:excluding|except(?: for)?|but not|minus|other than|apart from|leav(?:e|ing) out|"
    r"(?<!to )(?<!will )(?<!never )(?<!who )skip(?:ping)? (?:the|anyone|those|all)|"
    r"without (?:the )?(?:ones|those|anyone)|just not|(?<!are )(?<!is )(?<!do )(?<!does )(?<!have )(?<!has )(?<!did )(?<!was )(?<!were )(?<!will )"
    r"(?:and )?not (?:the|at|with|already|those|anyone|any)\b|no \w+ (?:fans|shoppers|buyers|users|people|pls)|"
    r"everything but)\b.*$|,\s*not\b.*$", re.I)
_LEADING_EXCLUSION = re.compile(r"^(?:excluding|except|drop|skip|leave out|without)\b[^,]*,\s*(?:then\s+|and\s+)?", re.I)
_DETERMINERS = {"a", "an", "the", "all", "any", "our", "my", "their", "those", "these", "some", "every", "each"}
_GENERIC = {"user", "users", "people", "person", "persons", "customer", "customers", "folks", "folk", "anyone",
            "everyone", "someone", "individuals", "individual", "consumers", "clients", "ones", "those", "accounts",
            "account", "guys", "anybody"}
_PERSON = _GENERIC | {"fans", "owners", "parents", "families", "households", "couples", "students", "kids", "members",
                      "seniors", "retirees", "pensioners", "victims", "addicts", "regulars", "commuters", "mums", "moms",
                      "dads", "adults", "teens", "men", "women", "children", "youth", "newbies", "junkies", "foodies",
                      "homeowners", "rookies", "buddies", "grads", "mothers", "fathers", "grandparents", "singles",
                      "newlyweds", "locals", "expats", "friends", "ladies", "boomers", "freelancers", "elderly",
                      "homes", "wallets", "patients", "guests", "pros", "vips", "professionals", "employees", "merchants",
                      "diners", "punters", "tenants", "fashionistas", "lot", "crowd", "gamers", "athletes", "millennials",
                      "warriors", "lovers", "cardholders"}
_PERSON_SUFFIX = re.compile(r"(?:ers|ors|ists|istas|ians|ants|ents|ees|goers)$")
_THINGS = {"fryers", "dryers", "heaters", "printers", "computers", "speakers", "trainers", "sneakers", "blenders",
           "routers", "monitors", "scooters", "containers", "stickers", "toasters", "mixers", "cleaners", "sellers",
           "boosters", "filters", "chargers", "players", "controllers", "supplements", "instruments", "appliances",
           "vouchers", "coupons", "offers", "orders", "transfers", "numbers", "papers", "covers", "stores", "centers",
           "centres", "flowers", "members-only", "tickets", "events", "payments", "investments", "apartments",
           "treatments", "ornaments", "garments", "equipments", "accessories", "groceries", "supplies", "batteries",
           "stories", "movies", "series", "cookies", "rentals"}
_MODALS = {"will", "would", "might", "may", "could", "can", "should", "must", "cannot", "shall"}
_ADVERBS = {"just", "already", "recently", "never", "ever", "then", "finally", "still", "regularly", "often", "always",
            "usually", "sometimes", "also", "soon", "probably", "definitely", "actually", "really", "obsessively",
            "frequently", "repeatedly", "newly", "eventually", "only", "mostly", "likely", "actively", "currently",
            "rarely", "seldom", "no-longer", "else"}
_LEAD = (r"(?:(?:are|is|be|getting|get) )?(?:(?:very|most|more|highly|quite|really|fairly) )?(?P<neg>not |un|less |least )?"
         r"(?:likely|about|ready|set|going|planning|keen|eager|looking|bound|expected|poised|predicted|tipped|willing|"
         r"sure|starting|preparing|trying) to\s+(?!(?:the|a|an|their|his|her|my|our|your|some)\b)"
         r"(?!(?<=going to )[A-Z])(?!(?<=going to )\w+s\b)")
_LEAD_AT_START = re.compile("^" + _LEAD, re.I)
_LEAD_ANYWHERE = re.compile(r"(?:^|\s)" + _LEAD, re.I)
_PREP = {"with", "without", "of", "in", "on", "at", "for", "from", "near", "outside", "inside", "over", "under", "who",
         "whose", "that", "which", "new", "due", "interested", "keen", "into", "aged", "between", "across", "living",
         "based", "like", "than", "after", "before", "to", "always", "still"}
_IRREGULAR_PAST = {
    "be": "was", "buy": "bought", "get": "got", "go": "went", "take": "took", "make": "made", "pay": "paid",
    "send": "sent", "spend": "spent", "put": "put", "set": "set", "ride": "rode", "drive": "drove", "fly": "flew",
    "eat": "ate", "drink": "drank", "bring": "brought", "catch": "caught", "choose": "chose", "come": "came",
    "do": "did", "fall": "fell", "find": "found", "give": "gave", "have": "had", "hit": "hit", "keep": "kept",
    "know": "knew", "leave": "left", "lend": "lent", "lose": "lost", "meet": "met", "read": "read", "run": "ran",
    "see": "saw", "sell": "sold", "sit": "sat", "sleep": "slept", "stand": "stood", "swim": "swam", "teach": "taught",
    "tell": "told", "think": "thought", "win": "won", "wear": "wore", "withdraw": "withdrew", "begin": "began",
    "bet": "bet", "blow": "blew", "build": "built", "cut": "cut", "draw": "drew", "feel": "felt", "grow": "grew",
    "hang": "hung", "hold": "held", "let": "let", "light": "lit", "split": "split", "spread": "spread",
    "steal": "stole", "throw": "threw", "understand": "understood", "wake": "woke", "write": "wrote",
    "forget": "forgot", "hear": "heard", "feed": "fed", "fight": "fought", "seek": "sought", "shut": "shut",
    "stick": "stuck", "sweep": "swept", "lead": "led", "say": "said", "mean": "meant", "shoot": "shot",
    "sing": "sang", "speak": "spoke", "swing": "swung", "upset": "upset", "dig": "dug", "quit": "quit",
    "slide": "slid", "deal": "dealt", "become": "became", "undergo": "underwent", "overspend": "overspent",
    "hide": "hid", "break": "broke", "freeze": "froze", "bid": "bid", "repay": "repaid", "rebuild": "rebuilt",
    "prefer": "preferred", "admit": "admitted", "commit": "committed", "omit": "omitted", "refer": "referred",
    "resell": "resold", "rebuy": "rebought", "prepay": "prepaid", "outgrow": "outgrew", "overpay": "overpaid",
    "forgive": "forgave", "mistake": "mistook", "ring": "rang", "spin": "spun", "stink": "stank", "strike": "struck",
    "tear": "tore", "bear": "bore", "bite": "bit", "shake": "shook", "arise": "arose", "oversleep": "overslept",
}
# common regular verbs: with the irregular ones, the verbs known by name (a second verb's agreement)
_REGULAR = {"add", "apply", "ask", "book", "borrow", "browse", "call", "cancel", "change", "check", "clean", "click",
            "collect", "compare", "cover", "download", "earn", "enjoy", "enroll", "enrol", "fill", "fix", "follow",
            "hire", "insure", "install", "invest", "join", "lease", "like", "listen", "load", "log", "look", "miss",
            "move", "need", "open", "order", "pick", "place", "plan", "play", "price", "rent", "renew", "repair",
            "reserve", "return", "save", "search", "shop", "sign", "start", "stay", "stop", "stream", "subscribe",
            "switch", "tap", "top", "train", "transfer", "travel", "try", "upgrade", "use", "view", "visit", "wait",
            "want", "wash", "watch", "wire", "work", "register", "redeem", "refill", "claim", "donate", "adopt",
            "attend", "hop", "cash", "finance", "study", "learn", "treat", "track", "grab", "list", "swap", "deposit",
            "abandon", "cook", "reorder", "love", "hike", "exceed", "proceed", "unlock", "unsubscribe", "activate",
            "link", "post", "share", "rate", "review", "report", "request", "receive", "redeem", "refer", "sync"}
# a known verb after "but"/"and", followed by a word that is not a preposition: a second verb
_SECOND_VERB = re.compile(r"\b(but|and)\s+((?:also |still |then )?)(" + "|".join(sorted(_REGULAR | set(_IRREGULAR_PAST)))
                          + r")\b(?=\s+(?!(?:at|in|on|with|from|of|and|or)\b)\w)")
_PAST_FORMS = set(_IRREGULAR_PAST.values()) | {"been", "gone", "done", "seen", "taken", "given", "eaten", "flown",
                                               "driven", "ridden", "were", "was"}
_BE = {"is", "are", "am", "was", "were", "be"}
_AGREE = {"are": "is", "have": "has", "were": "was", "do": "does", "am": "is"}
_FUTURE_TIME = re.compile(
    r"\s*\b(?:soon|(?:in|within|over) the (?:next|coming)(?: (?:few|couple|\d+|two|three))?(?: of)? \w+|next \w+|"
    r"right now|tonight|tomorrow|in (?:a|an|\d+|two|three|a few|a couple of) (?:days?|weeks?|months?|years?|hours?))\b",
    re.I)


def _is_adverb(word: str) -> bool:
    w = word.lower()
    return w in _ADVERBS or (w.endswith("ly") and len(w) > 4 and w not in _NOT_ADVERBS)


_NOT_ADVERBS = {"apply", "reply", "rely", "supply", "fly", "ally", "rally", "tally", "bully", "family", "italy", "jelly",
                "belly", "holy", "early", "daily", "weekly", "monthly", "yearly", "only", "likely", "unlikely", "july",
                "multiply", "comply", "resupply", "reapply", "sully", "dally"}


def _is_past(word: str) -> bool:
    w = word.lower()
    return w in _PAST_FORMS or (w.endswith("ed") and len(w) > 3 and not w.endswith("eed") and w not in {"embed"}) or \
        w in {"agreed", "freed", "guaranteed", "refereed"}


def _is_gerund(word: str) -> bool:
    w = word.lower().strip(",")
    return w.endswith("ing") and len(w) > 4 and w not in {
        "thing", "things", "king", "spring", "string", "wing", "sibling", "evening", "morning", "wedding", "clothing",
        "nothing", "something", "anything", "everything", "ceiling", "pudding", "darling", "sling"}


def _plural(word: str) -> bool:
    w = word.lower().strip(",'\"")
    if w in {"people", "children", "men", "women", "folk", "youth", "staff", "police", "lot", "crowd"}:
        return True
    first = w.split("-")[0]  # "punters-to-be"
    return any(x.endswith("s") and not x.endswith(("ss", "us", "is")) and len(x) > 2 for x in {w, first})


def _is_person(word: str) -> bool:
    w = word.lower().strip(",'\"")
    if w in _THINGS:
        return False
    return w in _PERSON or bool(_PERSON_SUFFIX.search(w.split("-")[0] if w.endswith("-be") else w))


def _head(noun_phrase: str) -> str:
    """The head noun: the last word before a preposition, clause or comma ("owners of cars" -> owners)."""
    words = noun_phrase.split()
    for i, w in enumerate(words):
        if i and (w.lower() in _PREP or words[i - 1].endswith(",")):
            return words[i - 1].strip(",")
    return words[-1].strip(",") if words else ""


def _article(phrase: str) -> str:
    return "an" if re.match(r"[aeio]|u(?!s|n[il]|ni)|hour|honest", phrase, re.I) else "a"


@dataclass(frozen=True)
class Phrasing:
    """A request's parts: `subject` (the people it describes, without a leading determiner; None
    when generic or absent), `predicate` (what follows "The user" in a sentence about them, e.g.
    "will book a holiday package", "has never wagered on a match", "'s car needs work"), `verb`
    and `rest` (the predicate's main verb and what follows it) when the predicate is a plain future
    action, and `noun_phrase` when the request names no action ("boba addicts")."""

    request: str
    subject: str | None = None
    predicate: str | None = None
    verb: str | None = None
    rest: str = ""
    noun_phrase: str | None = None


def _split_subject(text: str) -> tuple[str, str, str]:
    """(subject, joiner, clause): how the clause hangs on the subject: 'who' (a relative clause
    with its own verb; also 'that', 'which'), 'whose', 'to' ("likely to", "about to" ...), 'ing'
    (a participle: "families stocking up"), 'ed' (a passive one: "people glued to"), or '' (none:
    the request is a noun phrase)."""
    m = re.search(r"(?:^|\s)(who|that|whose|which)\s+", text, re.I)
    if m and m.group(1).lower() in ("that", "which"):  # "... the service that just launched": about the service
        before = text[: m.start()].split()
        if not before or not _is_person(before[-1]):
            m = None
    head_text = text[: m.start()] if m else text
    lead = _LEAD_ANYWHERE.search(head_text)
    if lead:
        return head_text[: lead.start()].strip(), "to", text[lead.start():].strip()
    if m:  # the subject keeps any participle phrase: "people planning a big expense who might borrow"
        return head_text.strip(), m.group(1).lower(), text[m.end():].strip()
    hw = head_text.split()
    for i in range(1, len(hw)):
        if not (_is_person(hw[i - 1]) or _plural(hw[i - 1])) or hw[i - 1].endswith(","):
            continue
        j = i
        while j + 1 < len(hw) and _is_adverb(hw[j]):
            j += 1
        if _is_gerund(hw[j]):
            return " ".join(hw[:i]), "ing", " ".join(hw[i:])
        if _is_past(hw[j]) and hw[j].lower() not in {"used", "aged", "based", "interested", "rented", "minted"}:
            return " ".join(hw[:i]), "ed", " ".join(hw[i:])
    return text.strip(), "", ""


def _predicate(clause: str) -> tuple[str, str | None, str]:
    """A clause as a predicate about one user: 'will book a service' -> ('will book a service',
    'book', 'a service'); verb and rest only for a plain future action."""
    lead = _LEAD_AT_START.match(clause)
    if lead:
        words = clause[lead.end():].split()
        if not words:
            return "", None, ""
        if lead.group("neg"):
            return "will not " + " ".join(words), None, ""
        return _future(words)
    words = clause.split()
    adverbs = []
    while words and (_is_adverb(words[0]) or words[0].lower() in {"no-longer", "else"}):
        adverbs.append(words.pop(0).replace("no-longer", "no longer"))
    if not words or words[0].lower() in {"we", "i", "you", "they", "among"}:
        return "", None, ""  # nothing left, or an inverted question ("who should we target")
    pre = "".join(a + " " for a in adverbs)
    first = words[0].lower()
    if first in _MODALS:
        rest = words[1:]
        if not rest or rest[0].lower() in {"we", "i", "you", "they"}:
            return "", None, ""
        if first == "will" and rest and rest[0].lower() != "not":
            inner = _LEAD_AT_START.match(" ".join(rest))
            if inner:
                return _predicate(" ".join(rest))
            return _future(rest, pre)
        return f"{pre}{first} {' '.join(rest)}".strip(), None, ""
    if first in _BE or first in {"have", "has", "do", "does", "had"}:
        rest = " ".join(words[1:])
        if not rest or words[1].lower() in {"we", "i", "you", "they"}:
            return "", None, ""
        if first in _BE and words[1:] and _plural(words[-1]) and not _is_gerund(words[1]) and not _is_past(words[1]) \
                and words[1].lower() not in {"not", "into", "in", "on", "at", "from", "with", "due", "about", "likely"}:
            return f"{pre}is one of the {_strip_det(rest)}", None, ""  # "who are Gold members"
        if first in _BE and _LEAD_AT_START.match(clause.split(None, len(adverbs))[-1]):
            return _predicate(clause.split(None, len(adverbs))[-1])
        return f"{pre}{_AGREE.get(first, first)} {rest}".strip(), None, ""
    if _is_past(first):
        return f"{pre}{' '.join(words)}", None, ""
    return _future([_base(words[0])] + words[1:], pre)


def _base(verb: str) -> str:
    """A present-tense verb in its base form, for 'who rides ...' (a question's singular verb)."""
    low = verb.lower()
    if not low.endswith("s") or low.endswith(("ss", "us", "is", "ous")) or len(low) < 4:
        return verb
    if low.endswith("ies"):
        return verb[:-3] + "y"
    if low.endswith(("ches", "shes", "sses", "xes", "zes", "oes")):
        return verb[:-2]
    return verb[:-1]


def _future(words: list[str], pre: str = "") -> tuple[str, str | None, str]:
    """'will' + the words; the main verb is the first word after any adverbs ("will finally get")."""
    i = 0
    while i + 1 < len(words) and _is_adverb(words[i]):
        i += 1
    if _is_adverb(words[i]) or words[i].lower() in {"we", "i", "you", "they"}:
        return "", None, ""
    verb, rest = words[i], " ".join(words[i + 1:])
    return f"will {pre}{' '.join(words)}", (verb if i == 0 and not pre else None), rest


def _s_or_d(which: str, word: str) -> str:
    """"who's been" -> "has", "who's buying" -> "is", "who'd bought" -> "had", "who'd buy" -> "would"."""
    participle = _is_past(word) or word.lower() in {"got", "gotten", "been", "had"}
    if which.lower() == "s":
        return "has" if participle and word.lower() != "been" or word.lower() in {"been", "got"} else "is"
    return "had" if participle else "would"


def _strip_det(phrase: str) -> str:
    words = phrase.split()
    while words and words[0].lower() in _DETERMINERS:
        words.pop(0)
    return " ".join(words)


def _agree(predicate: str) -> str:
    """Coordinated verbs after 'but'/'and' agree with the singular subject ("never borrowed but
    are about to" -> "but is about to"; "does not own a car but keep reading" -> "but keeps")."""
    if re.match(r"(?:\w+ )*?(?:will|would|might|may|could|can|should|must|cannot)\b", predicate):
        return predicate
    predicate = re.sub(r"\b(but|and|or)\s+(are|have|were|do|am)\b", lambda m: f"{m.group(1)} {_AGREE[m.group(2)]}",
                       predicate)
    if re.match(r"(?:\w+ )?(?:has|does|is)\b", predicate):
        predicate = _SECOND_VERB.sub(lambda m: f"{m.group(1)} {m.group(2)}{_third(m.group(3))}", predicate)
    return predicate


def _third(verb: str) -> str:
    """'keep' -> 'keeps', 'buy' -> 'buys', 'watch' -> 'watches', 'study' -> 'studies'."""
    low = verb.lower()
    if low in {"be", "have", "do", "go"}:
        return {"be": "is", "have": "has", "do": "does", "go": "goes"}[low]
    if re.search(r"[^aeiou]y$", low):
        return verb[:-1] + "ies"
    if re.search(r"(?:s|sh|ch|x|z)$", low):
        return verb + "es"
    return verb + "s"


def parse(request: str) -> Phrasing:
    """Split a request into its parts (see `Phrasing`)."""
    text = " ".join(request.split()).replace("\u2019", "'").replace("\u2018", "'")
    if not re.search(r"[A-Za-z]{2}", text):
        return Phrasing(request)
    text = _S_OR_D.sub(lambda m: f"{m.group(1)} {_s_or_d(m.group(2), m.group(4))} {m.group(3)}{m.group(4)}", text)
    for pat, rep in _CONTRACTIONS:
        text = re.sub(pat, rep, text, flags=re.IGNORECASE)
    # the first clause (exclusions follow); "U.S." and "e.g." are not sentence ends
    text = re.split(r"[?!;]\s|\s[-–—]\s|(?<![A-Z])(?<!\b[a-z])(?<!\be\.g)(?<!\bSt)(?<!\bDr)\.\s", text + " ")[0].strip()
    text = _EXCLUSION.sub("", _LEADING_EXCLUSION.sub("", text)).strip()
    text = _IMPERATIVE.sub("", _TAIL.sub("", text).strip()).strip(" ,")
    if re.match(r"(?:excluding|except|minus|without|not)\b", text, re.I):
        return Phrasing(request)  # only an exclusion
    text = re.sub(r"^(?:which|what|how many)\s+(?=\w+)", "", text, flags=re.I)
    text = re.sub(r"^([\w-]+(?: [\w-]+){0,3}?) (are|is|will|would|might|could|may|have|has) ",
                  lambda m: f"{m.group(1)} who {m.group(2)} " if _is_person(m.group(1).split()[-1]) and not re.search(
                      r"\b(?:who|whose|that|which)\b", m.group(1), re.I) else m.group(0), text)
    if not re.search(r"[A-Za-z]{2}", text) or text.lower() in {"me", "us", "target", "find", "people", "users"}:
        return Phrasing(request)
    low = text.lower()
    opener = re.match(r"(?:any(?:one|body)|every(?:one|body)|those|whoever|who)\b\s*(?:who\b\s*)?(?:else\b\s*)?", low)
    if opener and re.search(r"\bwho(?:ever)?\b", opener.group(0)):
        pred, verb, rest = _predicate(text[opener.end():])
        return Phrasing(request, None, _agree(pred) or None, verb, rest)
    if _LEAD_AT_START.match(text):  # no subject: "going to watch Iron Horizon"
        pred, verb, rest = _predicate(text[0].lower() + text[1:])
        return Phrasing(request, None, _agree(pred) or None, verb, rest)
    first = text.split()[0]
    if _is_gerund(first) and first[0].islower() and not any(
            _is_person(w) for w in re.split(r"\s+", text)[1:4] if not _is_gerund(w)):
        return Phrasing(request, None, f"will be {text}")  # no subject: "searching for laptops and likely to buy one"
    subject, joiner, clause = _split_subject(text)
    words = _strip_det(subject).split()
    while words and words[-1].lower().strip(",") in {"and", "or", "but", "", "who", "that", "which", "whose"}:
        words.pop()
    subject = " ".join(words) or None
    if not joiner or not clause:
        return Phrasing(request, noun_phrase=subject)
    if joiner == "whose":  # the clause already agrees with its own noun: keep it as written
        return Phrasing(request, subject, f"'s {clause}")
    if joiner in ("ing", "ed"):
        return Phrasing(request, subject, f"will be {clause}")
    pred, verb, rest = _predicate(clause)
    return Phrasing(request, subject, _agree(pred) or None, verb, rest)


def subject_sentence(subject: str) -> str:
    """'high earners' -> 'The user is one of the high earners.'; a generic subject with a
    qualifier ('users with an upcoming appointment') -> 'The user is someone with ...'."""
    subject = re.split(r"[,:(]", subject)[0].strip()
    words = subject.split()
    if words and words[0].lower() in _GENERIC and len(words) > 1:
        return f"The user is someone {' '.join(words[1:])}."
    lead = []
    for w in words:
        if lead and (w.lower() in _PREP or (_is_gerund(w) and (_plural(lead[-1]) or _is_person(lead[-1])))):
            break
        lead.append(w)
    if any(_plural(w) for w in lead) or (lead and lead[-1].lower() in {"elderly", "young", "rich", "poor"}):
        return f"The user is one of the {subject}."
    return f"The user is {_article(subject)} {subject}."


def template_sentences(request: str) -> list[str]:
    """The request as written, then FIND-family sentences about one user. For a plain future action
    every family sentence carries the whole verb phrase — what the user will do, paid to do,
    searched for how to do, used mini-programs to do, clicked on an offer to do — so that no
    sentence matches behaviour texts on its object alone ("searched for NBA games" is closer to a
    ticket purchase than to watching); otherwise the predicate as said and who the user is."""
    request = " ".join(request.split())
    p = parse(request)
    out = [request]
    if p.predicate and re.fullmatch(r"(?:\w+ )?(?:will|would|might|may|could|can|should|must|is|has|does|have|are|was|"
                                    r"were|be|who|that|someone)(?: not)?", p.predicate):
        p = Phrasing(request, p.subject, noun_phrase=p.subject)  # "users who are": nothing said after the verb
    if p.verb and p.predicate and p.predicate.startswith("will ") and not p.predicate.startswith("will not "):
        vp = p.predicate[len("will "):]
        done = _FUTURE_TIME.sub("", vp).strip() or vp  # the past families: "next month" would contradict them
        out += [f"The user will {vp}.", f"The user paid to {done}.", f"The user searched for how to {done}.",
                f"The user used mini-programs to {done}.", f"The user clicked on an offer to {done}."]
    elif p.predicate:
        pred = p.predicate
        out.append(f"The user{'' if pred.startswith(chr(39)) else ' '}{pred}.")
        if p.subject and p.subject.lower() not in _GENERIC:
            out.append(subject_sentence(p.subject))
    elif p.noun_phrase and p.noun_phrase.lower() not in _GENERIC:
        np_ = p.noun_phrase
        first = np_.split(",")[0]
        if any(_is_person(w) for w in re.split(r"\s+", first) if w.lower() not in _PREP) and _plural(_head(first)):
            out.append(subject_sentence(np_))
        else:
            out += [f"The user is interested in {np_}.", f"The user searched for {np_}.", f"The user clicked on {np_}."]
    seen: set[str] = set()
    return [s for s in out if not (s in seen or seen.add(s))]


FAMILY_LEAD = "The user"


def who_described(request: str) -> str | None:
    """The people a request describes ("high earners"), or None when it names nobody in particular
    ("users", "people") or no one."""
    subject = parse(" ".join(request.split())).subject
    return subject if subject and subject.lower() not in _GENERIC else None


def demand_groups(sentences: list[str]) -> list[list[int]]:
    """Which sentences were written from which request: a sentence as a marketer wrote it opens a
    group and the family sentences `template_sentences` wrote from it (they open with "The user")
    follow it; a family sentence with no request before it is a group of its own. Scorers weigh a
    request's own words against its best family sentence within a group, and take the best group.
    The rule reads only the sentences, so plans and recorded tool calls keep their shape; a request
    that itself opens with "The user" joins the group before it."""
    groups: list[list[int]] = []
    for i, s in enumerate(sentences):
        if s.startswith(FAMILY_LEAD) and groups and not sentences[groups[-1][0]].startswith(FAMILY_LEAD):
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def future_sentence(request: str) -> str:
    """One sentence about what the user will do (or is), for few-shot prompt tuning."""
    sentences = template_sentences(request)
    return sentences[1] if len(sentences) > 1 else f"The user is interested in {request.strip()}."
