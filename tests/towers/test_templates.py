"""towers/templates.py: requests in any form become grammatical sentences about one user."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from targetbot.towers.templates import future_sentence, parse, past_tense, template_sentences

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("request_, expected", [
    # noun-phrase subjects with a clause
    ("users likely to rent phones", ["The user will rent phones.", "The user rented phones.",
                                     "The user searched for phones."]),
    ("high earners who will book a holiday package", ["The user will book a holiday package.",
                                                      "The user booked a holiday package.",
                                                      "The user is one of the high earners."]),
    ("families stocking up on nappies", ["The user will be stocking up on nappies.", "The user is one of the families."]),
    ("customers tricked by scam texts", ["The user will be tricked by scam texts."]),
    # a bare noun phrase
    ("boba addicts", ["The user is one of the boba addicts."]),
    ("NBA", ["The user is interested in NBA."]),
    # imperatives
    ("find me users who will apply for a credit card", ["The user will apply for a credit card.",
                                                        "The user applied for a credit card."]),
    ("target commuters about to try the new e-bikes", ["The user will try the new e-bikes.",
                                                       "The user is one of the commuters."]),
    # questions
    ("who's about to get phished?", ["The user will get phished.", "The user got phished."]),
    ("who is due for an upgrade?", ["The user is due for an upgrade."]),
    # negations
    ("people who won't renew their plan", ["The user will not renew their plan."]),
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


def test_past_tense():
    assert [past_tense(v) for v in ("rent", "buy", "apply", "shop", "book", "use", "pay", "visit")] == [
        "rented", "bought", "applied", "shopped", "booked", "used", "paid", "visited"]


def test_parse_parts():
    p = parse("parents likely to sign up for the new Brightpath tutoring service")
    assert (p.subject, p.verb, p.object) == ("parents", "sign", "the new Brightpath tutoring service")
    assert parse("users likely to spend over 5,000 on tour packages").object == "tour packages"
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
    m = re.search(r"\bwill (?:not )?(?:(?:finally|just|mostly|still|soon|also|never|really|actually) )*(\S+)", sentence)
    if m and m.group(0).startswith("will") and sentence.startswith("The user will"):
        w = m.group(1).lower().strip(",")
        if w in _NOT_AFTER_WILL or w.endswith("ing") or (w.endswith("ed") and w not in _PAST_OK and len(w) > 4):
            out.append(f"'will {w}'")
    m = re.match(r"The user is one of the (.+)\.$", sentence)
    if m:
        lead = []
        for w in m.group(1).split():  # the words before a preposition or participle
            if lead and (w in {"of", "with", "without", "on", "in", "for", "to", "from", "over", "under", "aged", "near",
                               "across", "always", "still", "new", "who", "that"} or w.endswith("ing")):
                break
            lead.append(w)
        if not any(x.endswith("s") or x in {"people", "children", "men", "women", "folk"}
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
                                                          "underwent", "overspent", "upset", "woke", "bet", "hung"}):
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


@pytest.mark.parametrize("bad", ["The user will buying phones.", "The user purchased rent phones and.",
                                 "The user is one of the phone.", "The user are about to go.",
                                 "The user will likely to rent phones.", "The user is a owner."])
def test_the_grammar_check_can_fail(bad):
    assert grammar_problems(bad)
