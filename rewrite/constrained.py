"""JSON-schema-guided decoding: the model may only emit tokens that keep the output a valid
prefix of a JSON document of the schema, and text the schema forces (keys, punctuation, the
rest of an enum value once it is unique) is fed without asking the model.

How it works:

* The schema (a practical subset: object with ordered optional/required properties, array with
  min/max items, anyOf, const, enum of strings, string with min/max length, integer, number,
  boolean, null) compiles into a character-level pushdown automaton whose configurations are
  stacks of frames; sets of configurations are interned as DFA states and transitions are
  memoised, so structural states are computed once per process.
* Serialisation is canonical: `json.dumps` separators (", " and ": "), properties in schema
  order, ASCII only. This is the form the rewriter is fine-tuned on.
* The tokens allowed in a state come from walking the sorted vocabulary (bisect on the token
  strings) along the automaton; inside a free string a precomputed mask of "safe" tokens is used.
* Forced text is tokenized the way the tokenizer would split it and fed in one forward pass; the
  last forced token is left to the model when the text after it branches, so the model keeps its
  natural token boundaries (` ["` vs ` [`).

The result always parses and validates against the schema (string lengths and item counts are
enforced), so the only way a plan can fail afterwards is the catalog checks in `plan.py`.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

_MAXCH = "\U0010ffff"
SNAP_MIN_NAMES = 16  # enums at least this large (catalog entities) are snapped, see Decoder.run
SNAP_MAX_CHARS = 80
SAFE_CHARS = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"', "\\"}
DIGITS = frozenset("0123456789")


class SchemaError(ValueError):
    """The schema uses a construct the decoder does not support."""


# ---- schema -> nodes -----------------------------------------------------------------------
@dataclass
class _Node:
    kind: str  # obj | arr | any | lit | enum | str | int | num
    props: list = field(default_factory=list)  # obj: [(name, node_id, required)]
    item: int = -1
    lo: float = 0
    hi: float = 0
    alts: list = field(default_factory=list)
    text: str = ""
    names: list = field(default_factory=list)  # enum (sorted)
    nameset: frozenset = frozenset()


class _Compiler:
    def __init__(self, schema: dict):
        self.root_schema = schema
        self.nodes: list[_Node] = []

    def add(self, node: _Node) -> int:
        self.nodes.append(node)
        return len(self.nodes) - 1

    def resolve(self, s: dict) -> dict:
        while "$ref" in s:
            ref = s["$ref"]
            if not ref.startswith("#/"):
                raise SchemaError(f"only local $ref supported, got {ref}")
            cur = self.root_schema
            for part in ref[2:].split("/"):
                cur = cur[part]
            s = {**cur, **{k: v for k, v in s.items() if k != "$ref"}}
        return s

    def compile(self, s: dict) -> int:
        s = self.resolve(s)
        if "const" in s:
            return self.add(_Node("lit", text=json.dumps(s["const"])))
        if "enum" in s:
            vals = s["enum"]
            strs = [v for v in vals if isinstance(v, str)]
            others = [v for v in vals if not isinstance(v, str)]
            alts = []
            if strs:
                for v in strs:
                    if any(c not in SAFE_CHARS for c in v):
                        raise SchemaError(f"enum value {v!r} has characters the decoder cannot emit")
                names = sorted(set(strs))
                alts.append(self.add(_Node("enum", names=names, nameset=frozenset(names))))
            alts += [self.add(_Node("lit", text=json.dumps(v))) for v in others]
            return alts[0] if len(alts) == 1 else self.add(_Node("any", alts=alts))
        for key in ("anyOf", "oneOf"):
            if key in s:
                return self.add(_Node("any", alts=[self.compile({**{k: v for k, v in s.items() if k != key}, **a})
                                                   for a in s[key]]))
        t = s.get("type")
        if isinstance(t, list):
            return self.add(_Node("any", alts=[self.compile({**s, "type": x}) for x in t]))
        if t == "object" or (t is None and "properties" in s):
            req = set(s.get("required", []))
            idx = self.add(_Node("obj"))
            props = [(name, self.compile(sub), name in req) for name, sub in s.get("properties", {}).items()]
            self.nodes[idx].props = props
            return idx
        if t == "array":
            idx = self.add(_Node("arr", lo=int(s.get("minItems", 0)), hi=int(s.get("maxItems", 8))))
            self.nodes[idx].item = self.compile(s.get("items", {"type": "string"}))
            return idx
        if t == "string":
            node = _Node("str", lo=int(s.get("minLength", 0)), hi=int(s.get("maxLength", 64)))
            if "pattern" in s:
                node.nameset = _charset(s["pattern"])
                node.lo = max(node.lo, 1)
            return self.add(node)
        if t == "integer":
            return self.add(_Node("int", lo=int(s.get("minimum", 0)), hi=int(s.get("maximum", 10**9))))
        if t == "number":
            return self.add(_Node("num", lo=float(s.get("minimum", 0)), hi=float(s.get("maximum", 1e9))))
        if t == "boolean":
            return self.add(_Node("any", alts=[self.add(_Node("lit", text="true")), self.add(_Node("lit", text="false"))]))
        if t == "null":
            return self.add(_Node("lit", text="null"))
        raise SchemaError(f"unsupported schema fragment: {json.dumps(s)[:80]}")


def _charset(pattern: str) -> frozenset:
    """Characters of a `^[class]+$` pattern (the only pattern form supported)."""
    m = re.fullmatch(r"\^\[([^\]]+)\]\+\$", pattern)
    if not m:
        raise SchemaError(f"unsupported string pattern {pattern!r} (only ^[class]+$)")
    body, chars, i = m.group(1), set(), 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            chars |= {chr(c) for c in range(ord(body[i]), ord(body[i + 2]) + 1)}
            i += 3
        else:
            chars.add(body[i])
            i += 1
    chars &= SAFE_CHARS
    if not chars:
        raise SchemaError(f"pattern {pattern!r} allows no emittable character")
    return frozenset(chars)


# ---- the automaton ---------------------------------------------------------------------------
# Frames (top of stack is last): consuming L(text) S(node, n) E(node, prefix) I(node, digits)
# N(node, text); expanding V(node) O(node, i, first) A(node, count).
class Automaton:
    def __init__(self, schema: dict):
        comp = _Compiler(schema)
        root = comp.compile(schema)
        self.nodes = comp.nodes
        self.schema_hash = hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()[:16]
        self._ids: dict[frozenset, int] = {}
        self._states: list[frozenset] = []
        self._step: dict[tuple[int, str], int] = {}
        self._next: dict[int, tuple[frozenset, bool]] = {}
        self._chain: dict[int, tuple[str, int]] = {}
        self.start = self._intern(self._closure((("V", root),)))

    # -- configurations
    def _intern(self, configs: frozenset) -> int:
        if not configs:
            return -1
        sid = self._ids.get(configs)
        if sid is None:
            sid = len(self._states)
            self._ids[configs] = sid
            self._states.append(configs)
        return sid

    def _closure(self, stack: tuple) -> frozenset:
        out: set = set()
        todo = [stack]
        seen = set()
        while todo:
            st = todo.pop()
            if st in seen:
                continue
            seen.add(st)
            if not st:
                out.add(st)
                continue
            top, rest = st[-1], st[:-1]
            kind = top[0]
            if kind == "L":
                out.add(st) if top[1] else todo.append(rest)
            elif kind in ("S", "E"):
                out.add(st)
            elif kind == "I":
                node, digits = self.nodes[top[1]], top[2]
                out.add(st)
                if digits and node.lo <= int(digits) <= node.hi:
                    todo.append(rest)
            elif kind == "N":
                node, text = self.nodes[top[1]], top[2]
                out.add(st)
                if text and not text.endswith(".") and node.lo <= float(text) <= node.hi:
                    todo.append(rest)
            elif kind == "V":
                todo.extend(rest + tuple(reversed(seq)) for seq in self._expand_value(top[1]))
            elif kind == "O":
                todo.extend(rest + tuple(reversed(seq)) for seq in self._expand_object(top[1], top[2], top[3]))
            elif kind == "A":
                todo.extend(rest + tuple(reversed(seq)) for seq in self._expand_array(top[1], top[2]))
            else:  # pragma: no cover
                raise AssertionError(kind)
        return frozenset(out)

    def _expand_value(self, nid: int) -> list[list]:
        n = self.nodes[nid]
        if n.kind == "obj":
            return [[("L", "{"), ("O", nid, 0, True)]]
        if n.kind == "arr":
            return [[("L", "["), ("A", nid, 0)]]
        if n.kind == "any":
            return [[("V", a)] for a in n.alts]
        if n.kind == "lit":
            return [[("L", n.text)]]
        if n.kind == "enum":
            return [[("L", '"'), ("E", nid, "")]]
        if n.kind == "str":
            return [[("L", '"'), ("S", nid, 0 if n.lo > 0 else 1)]]
        if n.kind == "int":
            return [[("I", nid, "")]]
        if n.kind == "num":
            return [[("N", nid, "")]]
        raise AssertionError(n.kind)

    def _expand_object(self, nid: int, i: int, first: bool) -> list[list]:
        props = self.nodes[nid].props
        alts = []
        for j in range(i, len(props)):
            name, sub, _ = props[j]
            sep = "" if first else ", "
            alts.append([("L", f'{sep}{json.dumps(name)}: '), ("V", sub), ("O", nid, j + 1, False)])
            if props[j][2]:  # required: nothing after it can come first
                break
        if all(not p[2] for p in props[i:]):
            alts.append([("L", "}")])
        return alts

    def _expand_array(self, nid: int, count: int) -> list[list]:
        n = self.nodes[nid]
        alts = []
        if count >= n.lo:
            alts.append([("L", "]")])
        if count < n.hi:
            alts.append([("L", ", " if count else ""), ("V", n.item), ("A", nid, count + 1)])
        return alts

    def _consume(self, st: tuple, ch: str) -> tuple | None:
        top, rest = st[-1], st[:-1]
        kind = top[0]
        if kind == "L":
            return rest + (("L", top[1][1:]),) if top[1][0] == ch else None
        if kind == "S":
            node = self.nodes[top[1]]
            if ch == '"':
                return rest if top[2] else None
            if node.nameset:  # character-class string: the length lives in the state (short values)
                return rest + (("S", top[1], top[2] + 1),) if ch in node.nameset and top[2] < node.hi else None
            return rest + (("S", top[1], 1),) if ch in SAFE_CHARS and node.hi > 0 else None
        if kind == "E":
            names, prefix = self.nodes[top[1]].names, top[2]
            if ch == '"':
                return rest if prefix in self.nodes[top[1]].nameset else None
            p = prefix + ch
            k = bisect.bisect_left(names, p)
            return rest + (("E", top[1], p),) if k < len(names) and names[k].startswith(p) else None
        if kind == "I":
            node, digits = self.nodes[top[1]], top[2]
            if ch not in DIGITS or digits == "0" or (not digits and ch == "0" and node.lo > 0):
                return None
            d = digits + ch
            return rest + (("I", top[1], d),) if int(d) <= node.hi else None
        if kind == "N":
            node, text = self.nodes[top[1]], top[2]
            if ch == ".":
                return rest + (("N", top[1], text + "."),) if text and "." not in text else None
            if ch not in DIGITS:
                return None
            if "." in text:
                if len(text.split(".")[1]) >= 4:
                    return None
            elif text == "0":
                return None
            t = text + ch
            return rest + (("N", top[1], t),) if float(t) <= node.hi else None
        return None

    # -- public DFA interface
    def step(self, sid: int, ch: str) -> int:
        key = (sid, ch)
        r = self._step.get(key)
        if r is None:
            nxt: set = set()
            for st in self._states[sid]:
                if st:
                    new = self._consume(st, ch)
                    if new is not None:
                        nxt |= self._closure(new)
            r = self._intern(frozenset(nxt))
            self._step[key] = r
        return r

    def walk(self, sid: int, text: str) -> int:
        for ch in text:
            if sid < 0:
                return -1
            sid = self.step(sid, ch)
        return sid

    def is_final(self, sid: int) -> bool:
        return all(not st for st in self._states[sid])

    def accepting(self, sid: int) -> bool:
        return any(not st for st in self._states[sid])

    def in_string(self, sid: int) -> bool:
        """True when every configuration is inside a free string (the safe-token fast path applies)."""
        sts = self._states[sid]
        return bool(sts) and all(st and st[-1][0] == "S" and not self.nodes[st[-1][1]].nameset for st in sts)

    def enum_start(self, sid: int) -> int | None:
        """The enum node when every configuration has just opened a string of that enum, else None."""
        nids = set()
        for st in self._states[sid]:
            if not st or st[-1][0] != "E" or st[-1][2]:
                return None
            nids.add(st[-1][1])
        return nids.pop() if len(nids) == 1 else None

    def enum_names(self, nid: int) -> list[str]:
        return self.nodes[nid].names

    def string_room(self, sid: int, used: int) -> int:
        return min(int(self.nodes[st[-1][1]].hi) for st in self._states[sid]) - used

    def next_chars(self, sid: int) -> tuple[frozenset, bool]:
        """(literal next characters, whether any safe string character may come next)."""
        r = self._next.get(sid)
        if r is None:
            chars: set = set()
            pred = False
            for st in self._states[sid]:
                if not st:
                    continue
                top = st[-1]
                k = top[0]
                if k == "L":
                    chars.add(top[1][0])
                elif k == "S":
                    cs = self.nodes[top[1]].nameset
                    if cs:
                        chars |= cs
                    else:
                        pred = True
                    chars.add('"')
                elif k == "E":
                    names, prefix = self.nodes[top[1]].names, top[2]
                    lo = bisect.bisect_left(names, prefix)
                    hi = bisect.bisect_left(names, prefix + _MAXCH, lo)
                    for nm in names[lo:hi]:
                        if len(nm) > len(prefix):
                            chars.add(nm[len(prefix)])
                        else:
                            chars.add('"')
                elif k in ("I", "N"):
                    chars |= DIGITS | ({"."} if k == "N" else set())
            r = (frozenset(chars), pred)
            self._next[sid] = r
        return r

    def forced_chain(self, sid: int) -> tuple[str, int]:
        """Text the automaton forces from `sid` (one possible character at a time) and the state after it."""
        r = self._chain.get(sid)
        if r is None:
            text, cur = [], sid
            while not self.accepting(cur):
                chars, pred = self.next_chars(cur)
                if pred or len(chars) != 1:
                    break
                (ch,) = chars
                nxt = self.step(cur, ch)
                if nxt < 0:
                    break
                text.append(ch)
                cur = nxt
            r = ("".join(text), cur)
            self._chain[sid] = r
        return r

    def validate(self, text: str) -> bool:
        sid = self.walk(self.start, text)
        return sid >= 0 and self.accepting(sid)


# ---- vocabulary ------------------------------------------------------------------------------
class Vocab:
    """Token strings of a tokenizer, sorted for prefix walks, plus the free-string fast path."""

    def __init__(self, tokenizer):
        n = len(tokenizer)
        ids = list(range(n))
        strs = tokenizer.batch_decode([[i] for i in ids], skip_special_tokens=False,
                                      clean_up_tokenization_spaces=False)
        special = set(getattr(tokenizer, "all_special_ids", []) or [])
        added = set(getattr(tokenizer, "added_tokens_decoder", {}) or {})
        usable = [(s, i) for s, i in zip(strs, ids)
                  if s and i not in special and i not in added and all(c in SAFE_CHARS or c in '"\\' for c in s)]
        usable.sort()
        self.strs = [s for s, _ in usable]
        self.ids = np.array([i for _, i in usable], dtype=np.int64)
        self.text = {int(i): s for s, i in usable}
        self.tokenizer = tokenizer
        # free-string fast path
        safe_ids, safe_len, quote = [], [], []
        for s, i in usable:
            q = s.find('"')
            pre = s if q < 0 else s[:q]
            if "\\" in pre:
                continue
            if q < 0:
                safe_ids.append(i)
                safe_len.append(len(s))
            else:
                quote.append((i, q, s[q:]))
        self.safe_ids = np.array(safe_ids, dtype=np.int64)
        self.safe_len = np.array(safe_len, dtype=np.int64)
        self.quote = quote
        self.tok_len = np.zeros(n, dtype=np.int64)
        self.opens_quote = np.zeros(n, dtype=bool)  # tokens whose text starts with '"'
        for s, i in usable:
            self.tok_len[i] = len(s)
            self.opens_quote[i] = s.startswith('"')
        # candidates for free text inside a string: quote-free tokens, and tokens whose first quote ends it
        self.free_ids = np.concatenate([self.safe_ids, np.array([t for t, _, _ in quote], dtype=np.int64)])

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False)


@dataclass
class _Allowed:
    ids: np.ndarray
    chars: np.ndarray  # string characters each token adds (free-string states), else token length


class Decoder:
    """Allowed-token sets per automaton state (cached) and the constrained greedy loop."""

    def __init__(self, automaton: Automaton, vocab: Vocab, aliases: dict[str, str] | None = None):
        self.a = automaton
        self.v = vocab
        self.aliases = dict(aliases or {})
        self._allowed: dict[int, _Allowed] = {}
        self._snappers: dict[int, object] = {}

    def snapper(self, nid: int):
        """The entity snapper for an enum node (None for small enums: plain constrained decoding)."""
        if nid not in self._snappers:
            names = self.a.enum_names(nid)
            if len(names) < SNAP_MIN_NAMES:
                self._snappers[nid] = None
            else:
                from targetbot.rewrite.snap import Snapper

                self._snappers[nid] = Snapper(names, self.aliases)
        return self._snappers[nid]

    def allowed(self, sid: int) -> _Allowed:
        r = self._allowed.get(sid)
        if r is None:
            r = self._string_allowed(sid) if self.a.in_string(sid) else self._walk_allowed(sid)
            self._allowed[sid] = r
        return r

    def _walk_allowed(self, sid: int) -> _Allowed:
        strs, a = self.v.strs, self.a
        out: list[int] = []
        todo = [(sid, 0, 0, len(strs))]
        while todo:
            st, k, lo, hi = todo.pop()
            if k and len(strs[lo]) == k:
                out.append(lo)
                lo += 1
            if lo >= hi:
                continue
            prefix = strs[lo][:k]
            chars, pred = a.next_chars(st)
            if pred:  # enumerate the distinct next characters present in the range
                i = lo
                while i < hi:
                    c = strs[i][k]
                    j = bisect.bisect_left(strs, prefix + c + _MAXCH, i, hi)
                    ns = a.step(st, c)
                    if ns >= 0:
                        todo.append((ns, k + 1, i, j))
                    i = j
            else:
                for c in chars:
                    i = bisect.bisect_left(strs, prefix + c, lo, hi)
                    j = bisect.bisect_left(strs, prefix + c + _MAXCH, i, hi)
                    if i < j:
                        ns = a.step(st, c)
                        if ns >= 0:
                            todo.append((ns, k + 1, i, j))
        pos = np.array(sorted(out), dtype=np.int64)
        ids = self.v.ids[pos] if len(pos) else np.zeros(0, dtype=np.int64)
        return _Allowed(ids, self.v.tok_len[ids])

    def _string_allowed(self, sid: int) -> _Allowed:
        a = self.a
        started = all(st[-1][2] for st in a._states[sid])
        inner = a.step(sid, "a")  # the state after one more string character
        ids = [self.v.safe_ids]
        chars = [self.v.safe_len]
        qi, qc = [], []
        for tid, pre, rest in self.v.quote:
            if pre == 0 and not started:
                continue
            st = sid if pre == 0 else inner
            if a.walk(st, rest) >= 0:
                qi.append(tid)
                qc.append(pre)
        ids.append(np.array(qi, dtype=np.int64))
        chars.append(np.array(qc, dtype=np.int64))
        return _Allowed(np.concatenate(ids), np.concatenate(chars))

    def run(self, next_logits: Callable, max_steps: int = 400, free_string: Callable | None = None) -> tuple[str, dict]:
        """Greedy constrained decoding.

        `next_logits(feed_ids, candidate_ids)` appends feed_ids to the model's context and returns
        the next-token scores of candidate_ids (a 1-D tensor/array). Returns (text, stats).

        With `free_string(feed_ids, max_chars)` (appends feed_ids, lets the model write a string
        value unconstrained up to its closing quote, returns that text and forgets it again), the
        values of large enums (catalog entities) are snapped instead of decoded greedily: the model
        writes the phrase it means, `rewrite.snap` maps it onto the closest enum value, and decoding
        goes on from that value (fed as if the model had written it). When nothing is close enough
        the slot falls back to plain constrained decoding; the next `next_logits` call then gets an
        empty feed and must score the position `free_string` started from.
        """
        a, v = self.a, self.v
        sid = a.start
        pending: list[int] = []
        text: list[str] = []
        calls = forced_tokens = 0
        str_used = 0
        snaps: list[tuple[str, str | None, float]] = []
        close_quote = False
        no_snap = -1
        t0 = time.perf_counter()
        for _ in range(max_steps):
            if a.is_final(sid):
                break
            nid = a.enum_start(sid) if free_string is not None and sid != no_snap else None
            snapper = self.snapper(nid) if nid is not None else None
            if snapper is not None:
                phrase = free_string(pending, SNAP_MAX_CHARS)
                pending = []
                calls += 1
                name, score = snapper.snap(phrase)
                snaps.append((phrase, name, score))
                if name is None:
                    no_snap = sid
                    continue
                toks = v.encode(name)
                pending += toks
                forced_tokens += len(toks)
                text.append(name)
                sid = a.walk(sid, name)
                close_quote = True
                continue
            chain, end = a.forced_chain(sid)
            cover = 0
            if chain:
                toks = v.encode(chain)
                if a.is_final(end):
                    pending += toks
                    text.append(chain)
                    forced_tokens += len(toks)
                    sid = end
                    break
                head = toks[:-1]
                htxt = "".join(v.text.get(t, "") for t in head)
                if head and chain.startswith(htxt) and len(htxt) < len(chain):
                    pending += head
                    forced_tokens += len(head)
                    text.append(htxt)
                    sid = a.walk(sid, htxt)
                    cover = len(chain) - len(htxt)
                else:
                    cover = len(chain)
            al = self.allowed(sid)
            ids, chars = al.ids, al.chars
            mask = None
            if cover:
                mask = v.tok_len[ids] >= cover
            if close_quote:  # a snapped value is complete: the next token closes its string
                m2 = v.opens_quote[ids]
                mask = m2 if mask is None else (mask & m2)
                close_quote = False
            if a.in_string(sid):
                room = a.string_room(sid, str_used)
                m2 = chars <= room
                mask = m2 if mask is None else (mask & m2)
            if mask is not None:
                ids, chars = ids[mask], chars[mask]
            if len(ids) == 0:
                raise RuntimeError(f"constrained decoding reached a dead end after {''.join(text)[-60:]!r}")
            if len(ids) == 1:
                tok = int(ids[0])
                forced_tokens += 1
            else:
                scores = next_logits(pending, ids)
                pending = []
                calls += 1
                tok = int(ids[int(np.argmax(np.asarray(scores, dtype=np.float32)))])
            s = v.text[tok]
            was_string = a.in_string(sid)
            sid = a.walk(sid, s)
            if sid < 0:  # pragma: no cover - allowed sets guarantee this
                raise RuntimeError(f"token {s!r} left the schema")
            pending.append(tok)
            text.append(s)
            if a.in_string(sid):
                q = s.rfind('"')
                str_used = (str_used + len(s)) if (q < 0 and was_string) else len(s) - q - 1
            else:
                str_used = 0
        else:
            raise RuntimeError(f"constrained decoding did not finish in {max_steps} steps")
        out = "".join(text)
        return out, {"model_calls": calls, "forced_tokens": forced_tokens, "pending": pending,
                     "decode_seconds": time.perf_counter() - t0, "snaps": snaps}
