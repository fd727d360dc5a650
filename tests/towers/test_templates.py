"""towers/templates.py: requests in any form become grammatical sentences about one user."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from targetbot.towers.templates import future_sentence, parse, template_sentences

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("request_, expected", [
    # noun-phrase subjects with a clause
    ("users likely to rent phones", ["The user will rent phones.", "The user paid to rent phones.",
                                     "The user searched for how to rent phones.",
                                     "The user used mini-programs to rent phones.",
                                     "The user clicked on an offer to rent phones."]),
    ("high earners who will book a holiday package", ["The user will book a holiday package."]),
    ("families stocking up on nappies", ["The user will be stocking up on nappies.", "The user is one of the families."]),
    ("customers tricked by scam texts", ["The user will be tricked by scam texts."]),
    # a bare noun phrase
    ("boba addicts", ["The user is one of the boba addicts."]),
    ("NBA", ["The user is interested in NBA."]),
    # imperatives
    ("find me users who will apply for a credit card", ["The user will apply for a credit card."]),
    ("target commuters about to try the new e-bikes", ["The user will try the new e-bikes."]),
    # questions
    ("who's about to get phished?", ["The user will get phished."]),
    ("who is due for an upgrade?", ["The user is due for an upgrade."]),
    # negations
    ("people who won't renew their plan", ["The user will not renew their plan."]),
    ("parents who won't renew their plan", ["The user is one of the parents."]),
    ("customers who don't drive", ["The user does not drive."]),
    ("people who never borrowed before but are about to", ["The user never borrowed before but is about to."]),
    # whose, past and perfect clauses
    ("users whose accounts are likely to be stolen", ["The user's accounts are likely to be stolen."]),
    ("households that just had a baby", ["The user just had a baby."]),
    ("people who've never been to a concert", ["The user has never been to a concert."]),
    ("users who mostly just game", ["The user will mostly just game."]),
])
def test_request_forms(request_, expected):
    sentences = template_sentences(request_)
    assert sentences[0] == request_
    for s in expected:
        assert s in sentences, (s, sentences)


def test_parse_parts():
    p = parse("parents likely to sign up for the new Brightpath tutoring service")
    assert (p.subject, p.verb, p.rest) == ("parents", "sign", "up for the new Brightpath tutoring service")
    p = parse("users whose accounts are likely to be stolen")
    assert (p.subject, p.predicate, p.verb) == ("users", "'s accounts are likely to be stolen", None)
    assert parse("repeat coffee buyers").noun_phrase == "repeat coffee buyers"
    assert future_sentence("people who will order bubble tea more than once") == \
        "The user will order bubble tea more than once."


# --- every request of the scenario bank and the built-ins --------------------------------------

_NOT_AFTER_WILL = {"will", "would", "is", "are", "was", "were", "has", "have", "likely", "about", "going", "who",
                   "that", "users", "people", "their", "the", "a", "an"}
_PAST_OK = {"need", "feed", "speed", "seed", "bleed", "embed", "read", "put", "set", "cut", "hit", "let", "bet", "quit",
            "shut", "split", "spread", "upset"}
_FINITE = {"is", "has", "was", "does", "cannot", "might", "may", "would", "could", "can", "should", "will", "must"}


def grammar_problems(sentence: str) -> list[str]:
    """What is wrong with a template sentence (an empty list when nothing is)."""
    out = []
    if (not re.fullmatch(r"The user(?:'s)? \S.*[^ ]\.", sentence) or re.search(r"[?!]", sentence)
            or re.search(r"\b(?:and|or|the|a|an|of|for|with)\.$", sentence)):
        out.append("not one sentence about 'The user'")
    words = sentence.rstrip(".").split()
    out += [f"doubled '{a}'" for a, b in zip(words, words[1:]) if a == b and a.isalpha()]
    if re.search(r"\b(?:who'll|'ll|'ve|'re|gonna|wanna)\b|\bThe user (?:are|have|were|do|am)\b|\b(?:but|and) (?:are|have)\b",
                 sentence):
        out.append("contraction or agreement")
    if re.search(r"\b(?:will|would|might|can|is|has|does|have|who|that|someone who)\.$|(?<!about )\bto\.$", sentence):
        out.append("ends on an auxiliary")
    if re.match(r"The user (?:will |has |is |would |does )?(?:not )?[A-Z][a-z]", sentence):
        out.append("a capitalised verb")
    if re.search(r"\bwill \S+(?: \S+)? will\b|\bThe user \w+ (?:we|I|you|they)\b|\bis (?:been|got|had)\b", sentence):
        out.append("auxiliaries out of order")
    if re.search(r"\b(?!(?:app|rep|supp|re|comp|multip|ral|bul|al|tal)lied)\w+lied\b", sentence):
        out.append("an adverb put in the past")
    if re.search(r"(?:searched for|clicked on|used the) (?:of|by|around|through|about|which|who|what|will|would|out)\b",
                 sentence):
        out.append("an object that is not a noun phrase")
    m = re.match(r"The user is (?:a|an) (.+)\.$", sentence)
    if m and re.match(r"(?:\S+ ){0,3}(?:users|people|professionals|customers|members|buyers|shoppers)\b", m.group(1)):
        out.append("'a' with a plural")
    if re.match(r"The user (?!will|'s|is|has|does|would|might|may|could|can)\S+ (?!.*\bwill\b).*\b(?:next|tomorrow|"
                r"tonight|soon)\b", sentence):
        out.append("the past with a future time")
    m = re.search(r"\bwill (?:not )?(?:(?:finally|just|mostly|still|soon|also|never|really|actually) )*(\S+)", sentence)
    if m and m.group(0).startswith("will") and sentence.startswith("The user will"):
        w = m.group(1).lower().strip(",")
        if w in _NOT_AFTER_WILL or w.endswith("ing") or (w.endswith("ed") and w not in _PAST_OK and len(w) > 4
                                                          and not w.endswith("eed")):
            out.append(f"'will {w}'")
    m = re.match(r"The user is one of the (.+)\.$", sentence)
    if m:
        lead = []
        for w in m.group(1).split():  # the words before a preposition or participle
            if lead and (w in {"of", "with", "without", "on", "in", "for", "to", "from", "over", "under", "aged", "near",
                               "across", "always", "still", "new", "who", "that"}
                         or (w.endswith("ing") and lead[-1].endswith("s"))):
                break
            lead.append(w)
        if not any(x.endswith("s") or x in {"people", "children", "men", "women", "folk", "elderly"}
                   for w in lead for x in w.split("-")):
            out.append(f"'one of the' with no plural in '{' '.join(lead)}'")
    m = re.match(r"The user is (a|an) (\S+)", sentence)
    if m and (m.group(1) == "an") != bool(re.match(r"[aeio]|u(?!s|n[il]|ni)", m.group(2), re.I)):
        out.append("article")
    m = re.match(r"The user (?!will|'s)(?:(?:just|never|already|recently|mostly|then|still|finally|often) )*(\S+)", sentence)
    if m:
        w = m.group(1).rstrip(".,")
        if not (w in _FINITE or w.endswith("ed") or w in {"bought", "got", "went", "took", "made", "paid", "sent", "spent",
                                                          "put", "rode", "flew", "ate", "brought", "caught", "came", "did",
                                                          "fell", "found", "gave", "had", "hit", "kept", "left", "lost",
                                                          "met", "ran", "saw", "sold", "won", "drove", "drank", "set",
                                                          "cut", "began", "threw", "wrote", "built", "held", "heard",
                                                          "searched", "used", "clicked", "is", "was", "became", "dug",
                                                          "grew", "swam", "stood", "stuck", "quit", "told", "taught",
                                                          "thought", "chose", "read", "felt", "let", "wore", "lent",
                                                          "slept", "sat", "understood", "forgot", "fed", "fought",
                                                          "sought", "shut", "swept", "led", "said", "meant", "shot",
                                                          "sang", "spoke", "swung", "dealt", "slid", "lit", "split",
                                                          "spread", "withdrew", "knew", "blew", "drew", "stole",
                                                          "underwent", "overspent", "upset", "woke", "bet", "hung", "hid",
                                                          "broke", "froze", "bid", "repaid", "rebuilt", "resold",
                                                          "prepaid", "outgrew", "overpaid", "forgave", "rang", "spun",
                                                          "struck", "tore", "bore", "bit", "shook", "arose", "had"}):
            out.append(f"'The user {w}' is not a finite verb in the past or present")
    return out


def bank_requests() -> list[str]:
    files = sorted(f for f in (ROOT / "eval" / "data" / "scenario_bank").glob("*.yaml") if f.name != "splits.yaml")
    files += sorted((ROOT / "core" / "scenarios" / "builtin").glob("*.yaml"))
    assert len(files) >= 70
    out = []
    for f in files:
        d = yaml.safe_load(f.read_text())
        out += [d["demand"], *d.get("paraphrases", [])]
    return out


def test_every_bank_request_gives_grammatical_sentences():
    problems = {}
    for r in bank_requests():
        sentences = template_sentences(r)
        assert len(sentences) >= 2, r  # something beyond the request itself
        for s in sentences[1:]:
            if grammar_problems(s):
                problems[s] = (r, grammar_problems(s))
    assert not problems, json.dumps(problems, indent=1)


def test_rewriter_requests_give_grammatical_sentences():
    """Requests as marketers type them (typos, shorthand, exclusions): the held-out rewriter sets."""
    problems = {}
    for f in sorted((ROOT / "eval" / "data").glob("rewrite_requests*.jsonl")):
        for line in f.read_text().splitlines():
            r = json.loads(line)["request"]
            for s in template_sentences(r)[1:]:
                if grammar_problems(s):
                    problems[s] = (r, grammar_problems(s))
    assert not problems, json.dumps(problems, indent=1)


# Requests written to break the rules (from a review of this module): they must give grammatical
# sentences or none at all.
EDGE_REQUESTS = [
    "who won\u2019t renew their phone plan?", "show me everyone who's been buying protein powder",
    "anyone who's never used our app", "people who'd already bought a ticket", "customers who rarely open the app",
    "users who no longer use our savings app", "who else will sign up for the beta?", "ppl who r likely to buy a PS6",
    "users who just", "who should we target for the Lumio earbuds launch?", "who do we think will churn?",
    "which customers will churn next month?", "Which users are most likely to upgrade to Premium?",
    "I'm looking for users who will buy a Zenfold", "list of users who pay with cash", "let's target folks who hike",
    "audience: new grads likely to open a bank account", "find out which users will buy a car",
    "working mums who shop online after 10pm", "young working professionals", "online banking users likely to switch",
    "gift cards", "air fryers", "people who haven't already bought travel insurance", "people likely to skip breakfast",
    "people who are going to Bali", "fans going to Taylor Swift concerts", "people less likely to churn",
    "people who will open a savings account and deposit money", "people about to book a hotel in 2 weeks",
    "people likely to buy a sofa next weekend", "shoppers who exceed their credit limit",
    "people about to move out of their parents' place", "users who are Gold members", "who will", "users who are",
    "people who", "excluding X", "U.S. travelers who will fly to Europe", "find me", "-", "", "?!", "x" * 3000,
    "the elderly who might fall for scams", "people likely to hide their spending", "42 users who buy tea",
]


@pytest.mark.parametrize("request_", EDGE_REQUESTS)
def test_requests_written_to_break_the_rules(request_):
    for s in template_sentences(request_)[1:]:
        assert not grammar_problems(s), (request_, s, grammar_problems(s))


def test_meaning_kept_in_hard_cases():
    assert "The user will not churn." in template_sentences("people less likely to churn")
    # no sentence matches on the object alone: every family sentence keeps the verb
    assert all("watch NBA games" in s for s in template_sentences("users likely to watch NBA games"))
    assert "The user has never used our app." in template_sentences("anyone who's never used our app")
    assert "The user is interested in gift cards." in template_sentences("gift cards")  # not people
    assert all("Bali" not in s or "going to Bali" in s for s in template_sentences("people who are going to Bali"))


@pytest.mark.parametrize("bad", ["The user will buying phones.", "The user purchased rent phones and.",
                                 "The user is one of the phone.", "The user are about to go.",
                                 "The user will likely to rent phones.", "The user is a owner.", "The user has.",
                                 "The user rarelied open the app.", "The user should we target.",
                                 "The user searched for of mobile data.", "The user booked a sofa next weekend.",
                                 "The user is a young working professionals.", "The user will Bali."])
def test_the_grammar_check_can_fail(bad):
    assert grammar_problems(bad)


def test_template_sentences_group_under_the_request_they_came_from():
    from targetbot.towers.templates import demand_groups

    a, b = template_sentences("users likely to rent phones"), template_sentences("boba addicts")
    assert demand_groups(a + b) == [list(range(len(a))), list(range(len(a), len(a) + len(b)))]
    # family sentences with no request before them (a plan's own sentences) each stand alone
    assert demand_groups(["The user will rent a phone.", "The user searched for phones."]) == [[0], [1]]


def test_who_a_request_describes_skips_generic_subjects():
    from targetbot.towers.templates import demand_groups, who_described

    assert who_described("high earners who will book a holiday package") == "high earners"
    assert who_described("users likely to rent phones") is None and who_described("boba addicts") is None
    s = template_sentences("drivers whose car needs work")
    assert any(x.startswith("The user's") for x in s) and demand_groups(s) == [list(range(len(s)))]
