"""Entity retrieval by meaning: which catalogue entities a request can be about, before planning.

The rewriter is a small model; asked for an entity it writes a phrase, and a phrase matched to
the catalogue by spelling alone lands on names that merely look alike ("wedding" -> a cat breed).
Here every entity is a set of MiniLM vectors (its name, each alias, its description) and every
request a set of spans (runs of one to `span_words` words that neither start nor end with a
function word). An entity is a *candidate* for a request when one of its vectors is close to one
of the request's spans; only candidates can enter a plan (`ground.ground_entities`).

Spans inside a negated clause ("... but not the repair technicians") are kept apart: the entities
they retrieve are exclusion candidates, and they do not support a demand.

    >>> index = EntityIndex.build(catalog, encoder)                  # doctest: +SKIP
    >>> r = index.retrieve("young couples planning their wedding")   # doctest: +SKIP
    >>> [c.name for c in r.candidates[:3]], r.snap("wedding photos") # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from targetbot.core.atomic import atomic_path
from targetbot.rewrite.config import RetrievalConfig

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'&+\-.]*[A-Za-z0-9+]|[A-Za-z0-9]")
# Words a span may hold inside but neither start nor end with.
STOP = frozenset("""a an the and or but of to for in on at by with from into onto about as is are be been being was
were will would could should can may might shall must do does did doing done have has had having gonna wanna
gotta going get gets got i me my we our us you your they them their he she his her it its this that these those
who whom whose which what when where why how all any some each every more most much many very really just also
too so than then there here soon likely ready next new our who'll who'd they'll they're people users
user customers customer folks ppl peeps anyone everyone someone guys audience likely probably prob maybe want
wants need needs plan plans planning keep keeps try tries trying i'm i'd i'll let's find show give target
reach build list etc like such only even still again already yet ones one dollars dollar bucks usd""".split())
# Where a negated clause starts, and where any clause ends.
NEGATED = re.compile(
    r"(?<![\w\-])(?:but\s+)?(?:not|no|never|except|excluding|exclude|without|minus|besides|skip|skipping|"
    r"omit|omitting|avoid|avoiding|drop|remove)(?![\w\-])|\bother than\b|\bapart from\b|\bleav(?:e|ing) out\b|"
    r"\brather than\b|\binstead of\b|\b\w+n['’]t\b|\b(?:everything|anything|all|anyone|everyone)\s+but\b",
    re.IGNORECASE)
# Where a negated clause ends: punctuation, a contrast, or "and"/"or" that starts a new clause
# ("except Nexon and Talon buyers" is one clause; "not X, and likely to buy Y" two).
CLAUSE_END = re.compile(r"[,;.!?()]|\b(?:but|while|whereas|then)\b|\b(?:and|or)\s+(?=(?:who|that|will|are|is|"
                        r"also|likely|people|users|customers|folks|they|those|probably|might|would)\b)", re.IGNORECASE)
# Generic subjects after a negation cue: "leave out anyone who has X" negates X, while in
# "no 2FA who pay by bank transfer" the clause ends at "who".
_SUBJECT = re.compile(r"^\s*(?:the\s+|any\s+|all\s+)?(?:anyone|anybody|everyone|people|users|folks|those|ones|"
                      r"customers|buyers|fans|shoppers|guys|ppl)?\s*(?:who|that)\b", re.IGNORECASE)


SPELLING_ALIKE = 0.8  # difflib ratio from which two spellings are taken as one name (typos, spacing)


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s&+\-.']", " ", str(s).lower())).strip()


def split_negated(text: str) -> tuple[list[str], list[str]]:
    """(positive segments, negated segments): a negation cue negates the words after it up to the
    end of its clause ("not the ones only booking flight tickets, and ..." -> "the ones only
    booking flight tickets"). "rather than X" and "instead of X" negate X too."""
    pos, neg, i = [], [], 0
    for m in NEGATED.finditer(text):
        if m.start() < i:
            continue
        pos.append(text[i:m.start()])
        end = CLAUSE_END.search(text, m.end())
        stop = end.start() if end else len(text)
        who = re.search(r"\b(?:who|that)\b", text[m.end():stop], re.IGNORECASE)
        if who and not _SUBJECT.match(text[m.end():stop]):
            stop = m.end() + who.start()
        neg.append(text[m.end():stop])
        i = stop
    pos.append(text[i:])
    return [s for s in pos if s.strip()], [s for s in neg if s.strip()]


def spans(text: str, max_words: int = 4) -> list[str]:
    """Every run of 1..max_words words that starts and ends with a content word, in order."""
    words = _WORD.findall(text)
    out: list[str] = []
    for i, w in enumerate(words):
        if w.lower() in STOP:
            continue
        for j in range(i, min(i + max_words, len(words))):
            if words[j].lower() in STOP:
                continue
            out.append(" ".join(words[i:j + 1]))
    return list(dict.fromkeys(out))


def char_similarity(a: str, b: str) -> float:
    """Spelling closeness in [0, 1] (difflib ratio), for typos the encoder does not see through."""
    import difflib

    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


@dataclass
class Candidate:
    name: str
    score: float  # best cosine between one of the entity's forms and one of the request's spans
    span: str  # that span: the request's own words for the entity
    segment: int = 0  # which negated clause retrieved it (exclusion candidates)


@dataclass
class Retrieval:
    """One request's candidates (positive and negated) and the vectors to snap phrases with."""

    index: "EntityIndex"
    candidates: list[Candidate]
    excluded: list[Candidate]  # retrieved by negated spans
    spans: list[str]
    neg_spans: list[str]
    span_vecs: np.ndarray = field(repr=False)
    neg_segments: list[str] = field(default_factory=list)  # the negated clauses, as written

    def names(self) -> list[str]:
        return [c.name for c in self.candidates]

    def snap(self, phrase: str, negated: bool = False) -> tuple[str | None, float]:
        """The candidate a phrase the model wrote means, or (None, best score).

        Score per candidate: `phrase_weight` x closeness to the phrase (cosine or spelling, the
        larger) + the rest x the candidate's own support in the request, so a phrase the request
        does not back loses to the entity the request names."""
        pool = self.excluded if negated else self.candidates
        if not pool or not str(phrase).strip():
            return None, 0.0
        cfg = self.index.config
        pv = self.index.encode([phrase])[0]
        best, best_score, best_close = None, 0.0, 0.0
        p = _norm(phrase)
        for c in pool:
            rows = self.index.rows(c.name)
            close = float(np.max(self.index.vectors[rows] @ pv))
            spelled = max(char_similarity(p, self.index.forms[r]) for r in rows)
            close = max(close, spelled if spelled >= SPELLING_ALIKE else 0.0)  # a typo, not a shared word
            score = cfg.phrase_weight * close + (1 - cfg.phrase_weight) * c.score
            if score > best_score:
                best, best_score, best_close = c.name, score, close
        if best is None or best_close < cfg.snap_floor:
            return None, round(best_score, 3)
        if negated and next(c.score for c in pool if c.name == best) < cfg.exclude_floor:
            return None, round(best_score, 3)  # the clause barely names it ("not Nike fans" -> no shoe)
        return best, round(best_score, 3)

    def words_for(self, phrase: str) -> str | None:
        """The request span closest in meaning to a phrase (what a slot keeps when no entity fits),
        or None when the request says nothing like it (the phrase is the model's own)."""
        if not self.spans:
            return None
        pv = self.index.encode([phrase])[0]
        sims = self.span_vecs[: len(self.spans)] @ pv
        i = int(np.argmax(sims))
        return self.spans[i] if sims[i] >= self.index.config.words_floor else None


def encoder_spec(encoder) -> str:
    return str(getattr(encoder, "spec", None) or type(encoder).__name__)


def _content_key(forms: list[str], owner: np.ndarray, spec: str) -> str:
    return hashlib.sha256(json.dumps([forms, owner.tolist(), spec]).encode()).hexdigest()[:12]


def index_version(catalog, spec: str, config: RetrievalConfig | None = None) -> str:
    """What a retrieval depends on (catalogue names, aliases, descriptions; the encoder; the
    settings), known without encoding anything: part of the planner's plan-cache key."""
    _, forms, owner = EntityIndex.texts(catalog)
    key = (config or RetrievalConfig()).key()
    return hashlib.sha256(f"{_content_key(forms, owner, spec)}|{key}".encode()).hexdigest()[:12]


class EntityIndex:
    """MiniLM vectors of every catalogue entity's name, aliases and description."""

    def __init__(self, names: list[str], forms: list[str], owner: np.ndarray, vectors: np.ndarray, encoder,
                 config: RetrievalConfig, version: str, types: list[str] | None = None):
        self.names, self.forms, self.owner, self.vectors = names, forms, owner, vectors
        self._types = dict(zip(names, types or []))
        self.encoder, self.config, self.version = encoder, config, version
        self._rows: dict[str, np.ndarray] = {}
        order = np.argsort(owner, kind="stable")
        bounds = np.searchsorted(owner[order], np.arange(len(names) + 1))
        for i, n in enumerate(names):
            self._rows[n] = order[bounds[i]:bounds[i + 1]]
        self._cache: dict[str, np.ndarray] = {}

    # ---- construction
    @staticmethod
    def texts(catalog) -> tuple[list[str], list[str], np.ndarray]:
        names, forms, owner = [], [], []
        for i, e in enumerate(catalog.entities):
            names.append(e.name)
            for t in dict.fromkeys([e.name, *e.aliases, e.description]):
                if str(t).strip():
                    forms.append(_norm(t))
                    owner.append(i)
        return names, forms, np.asarray(owner, dtype=np.int64)

    @classmethod
    def build(cls, catalog, encoder, cache_dir: str | Path | None = None, config: RetrievalConfig | None = None,
              progress=None) -> "EntityIndex":
        """Encode the catalogue (cached under cache_dir by catalogue content and encoder)."""
        config = config or RetrievalConfig()
        names, forms, owner = cls.texts(catalog)
        content = _content_key(forms, owner, encoder_spec(encoder))
        version = index_version(catalog, encoder_spec(encoder), config)
        path = Path(cache_dir) / f"entity-index-{content}.npy" if cache_dir else None
        vectors = None
        if path is not None and path.is_file():
            try:
                vectors = np.load(path)
            except (OSError, ValueError):
                vectors = None
            if vectors is not None and vectors.shape[0] != len(forms):
                vectors = None
        if vectors is None:
            if progress:
                progress(f"retrieval index · encoding {len(forms)} entity names, aliases and descriptions")
            vectors = np.asarray(encoder.encode(forms), dtype=np.float32)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                with atomic_path(path) as tmp:
                    with open(tmp, "wb") as fh:
                        np.save(fh, vectors)
        return cls(names, forms, owner, vectors, encoder, config, version, [e.type for e in catalog.entities])

    # ---- look-ups
    def entity_type(self, name: str) -> str | None:
        return self._types.get(name)

    def rows(self, name: str) -> np.ndarray:
        return self._rows[name]

    def encode(self, texts: list[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if todo:
            if len(self._cache) > 20000:
                self._cache.clear()
            for t, v in zip(todo, np.asarray(self.encoder.encode([_norm(t) or t for t in todo]), dtype=np.float32)):
                self._cache[t] = v
        return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, self.vectors.shape[1]), np.float32)

    def _best(self, span_list: list[str], vecs: np.ndarray, k: int, floor: float,
              segment_of: list[int] | None = None) -> list[Candidate]:
        if not span_list:
            return []
        sims = vecs @ self.vectors.T  # spans x forms
        norm_spans = [_norm(s) for s in span_list]
        for i, s in enumerate(norm_spans):  # a spelling-alike of a name or alias counts as close as well
            if len(s) >= 5:
                for r in np.flatnonzero(sims[i] >= floor - 0.25):
                    if abs(len(self.forms[r]) - len(s)) <= 3:
                        c = char_similarity(s, self.forms[r])
                        if c >= SPELLING_ALIKE:
                            sims[i, r] = max(sims[i, r], c)
        per_form = sims.max(axis=0)
        arg_span = sims.argmax(axis=0)
        best: dict[int, tuple[float, int]] = {}
        for r in np.flatnonzero(per_form >= floor):
            e = int(self.owner[r])
            if e not in best or per_form[r] > best[e][0]:
                best[e] = (float(per_form[r]), int(arg_span[r]))
        # ties (two exact matches) go to the entity matched by more of the request's words:
        # "travel insurance" over "travel" for "haven't bought travel insurance"
        ranked = sorted(best.items(), key=lambda kv: (-round(kv[1][0], 3), -len(span_list[kv[1][1]].split()),
                                                      self.names[kv[0]]))[:k]
        return [Candidate(self.names[e], round(s, 4), span_list[j], segment_of[j] if segment_of else 0)
                for e, (s, j) in ranked]

    def retrieve(self, request: str) -> Retrieval:
        """The candidates of one request: top `k` entities over its positive spans, and over its
        negated spans the exclusion candidates."""
        cfg = self.config
        pos_segments, neg_segments = split_negated(request)
        pos = list(dict.fromkeys(s for seg in pos_segments for s in spans(seg, cfg.span_words)))
        neg, seg_of = [], []
        for i, seg in enumerate(neg_segments):
            for s in spans(seg, cfg.span_words):
                if s not in pos and s not in neg:
                    neg.append(s)
                    seg_of.append(i)
        vecs = self.encode(pos + neg)
        pv, nv = vecs[: len(pos)], vecs[len(pos):]
        cands = self._best(pos, pv, cfg.k, cfg.support_floor)
        excl = self._best(neg, nv, cfg.k, cfg.support_floor, seg_of)
        return Retrieval(self, cands, excl, pos, neg, pv, neg_segments)
