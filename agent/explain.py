"""The explanation of an audience, as data (JSON) and as text a marketer reads.

It says what was searched for (the template sentences and the future behaviour FIND's
forecaster matched them to), which entities and why (reasoning paths), which filters and exclusions cut the audience and by how much, how the scores are
distributed, how far FIND and EGL agree, and shows a few example users with the behaviour
snippets that made them match: history events naming the plan's entities, else the events
sharing the most words with the demand sentences.
"""

from __future__ import annotations

import re

import numpy as np

_FILLER = set("""the user users purchased paid bought searched looked used opened clicked viewed with for and more than
amounting dollars total payment successful failed mini-programs mini programs program app that this from into""".split())


def _quantiles(x: np.ndarray) -> dict:
    if not len(x):
        return {}
    q = np.quantile(x, [0, 0.25, 0.5, 0.75, 1])
    return {k: round(float(v), 4) for k, v in zip(("min", "p25", "median", "p75", "max"), q)}


def _words(sentences: list[str]) -> set[str]:
    return {w for s in sentences for w in re.findall(r"[a-z][a-z\-]{3,}", s.lower()) if w not in _FILLER}


def _snippets(session, user_ids: list[str], entities: list[str], sentences: list[str], n: int) -> dict[str, list[dict]]:
    res = session.res
    ev = res.user_events(user_ids)
    out: dict[str, list[dict]] = {u: [] for u in user_ids}
    if ev.empty or n == 0:
        return out
    ev = ev.assign(text_code=ev["text"].cat.codes)
    codes = ev["text_code"].to_numpy()
    naming: dict[int, list[str]] = {}
    g = res.graph()
    if g is not None and entities:
        wanted = {g.index[e] for e in entities if e in g.index}
        te = res.text_entities
        for c in np.unique(codes[codes >= 0]):
            hit = [g.names[j] for j in te.indices[te.indptr[c]:te.indptr[c + 1]] if j in wanted]
            if hit:
                naming[int(c)] = hit
    words = _words(sentences)
    lower = res.history_texts_lower
    for u, grp in ev.groupby(ev["user_id"].astype(str), observed=True):
        grp = grp.sort_values("ts", ascending=False)
        picked, seen = [], set()
        for row in grp.itertuples(index=False):
            c = int(row.text_code)
            if c in naming and c not in seen:
                seen.add(c)
                picked.append({"text": str(row.text), "source": str(row.source), "ts": str(row.ts)[:10],
                               "entities": naming[c][:3]})
            if len(picked) >= n:
                break
        if len(picked) < n and words:
            scored = []
            for row in grp.itertuples(index=False):
                c = int(row.text_code)
                if c in seen:
                    continue
                k = len(words & set(re.findall(r"[a-z][a-z\-]{3,}", lower.iloc[c])))
                if k:
                    seen.add(c)
                    scored.append((-k, {"text": str(row.text), "source": str(row.source), "ts": str(row.ts)[:10],
                                        "words": sorted(words & set(re.findall(r"[a-z][a-z\-]{3,}", lower.iloc[c])))[:4]}))
            picked += [s for _, s in sorted(scored, key=lambda t: t[0])[: n - len(picked)]]
        out[str(u)] = picked
    return out


def explanation(session, examples: int, snippets: int) -> dict:
    from targetbot.agent.fusion import rank_normalise

    res, state = session.res, session.state
    plan = state.plan
    rows = state.audience.rows
    fused = session.scores["fused"]
    size = state.size
    entity_rows = state.entity_rows
    exp: dict = {
        "sentences": state.find_sentences or plan.sentences(),
        "find_matched": state.find_evidence,
        "entities": [{k: r[k] for k in ("entity", "type", "hop", "score", "path")} for r in entity_rows[:12]],
        "unmatched_phrases": [u["phrase"] for u in state.unmatched],
        "filters": plan.condition_string(),
        "filter_counts": size.get("conditions", []),
        "exclusions": size.get("excluded_by_entity", {}),
        "funnel": {k: size.get(k) for k in ("users", "after_filters", "after_exclusions", "selected")},
        "rule": state.audience.rule,
        "fusion": state.fusion,
        "scores": {"audience": _quantiles(fused[rows]), "all_users": _quantiles(fused),
                   "histogram": np.histogram(fused[rows], bins=10, range=(0, 1))[0].tolist() if len(rows) else []},
        "reach": size.get("reach", {}),
        "agreement": state.agreement,
        "notes": list(state.notes),
        "examples": [],
    }
    if state.refusal:
        exp["notes"].append(state.refusal)
        return exp
    top = rows[:examples]
    ids = [str(res.users[i]) for i in top]
    pct = {k: rank_normalise(v) for k, v in session.scores.items() if k in ("find", "graph", "mentions")}
    snips = _snippets(session, ids, [r["entity"] for r in entity_rows[:20]], exp["sentences"], snippets)
    for i, uid in zip(top, ids):
        exp["examples"].append({"user_id": uid, "score": round(float(fused[i]), 4),
                                **{f"{k}_rank": round(float(v[i]), 4) for k, v in pct.items()},
                                "snippets": snips.get(uid, [])})
    return exp


def render(result: dict, console) -> None:
    """The human answer to an ask: plan, tool calls, audience, explanation."""
    from rich.table import Table

    from targetbot.core.terminal import for_console as safe

    exp, aud = result["explanation"], result["audience"]
    console.print(f"[bold]request[/]: {safe(result['request'])}")
    console.print(f"[bold]plan[/] ({safe(result.get('plan_source', 'rewriter'))}): {safe(result['plan_json'])}")
    console.print("[bold]template sentences[/] (what FIND scored users against):")
    for s in exp["sentences"]:
        console.print(f"  · {safe(s)}")
    if exp.get("find_matched"):
        console.print("[bold]future behaviour FIND forecasts[/] (training users who later did this are its examples):")
        for m in exp["find_matched"]:
            via = f" via category '{m['category']}'" if m.get("category") else ""
            console.print(f"  · {safe(m['text'])}  [dim](similarity {m['similarity']:.2f}{safe(via)})[/]", highlight=False)
    if exp["entities"]:
        t = Table("hop", "entity", "type", "score", "why (reasoning path)", title="entities (EGL)", title_justify="left")
        for r in exp["entities"][:8]:
            t.add_row(str(r["hop"]), r["entity"], r["type"], f"{r['score']:.3f}", " → ".join(r["path"]))
        console.print(t)
    for u in exp["unmatched_phrases"]:
        console.print(f"  [yellow]no entity matches '{safe(u)}'[/]")
    f = exp["funnel"]
    console.print(f"[bold]filters[/]: {exp['filters'] or 'none'}"
                  + (f" → {f['after_filters']:,} of {f['users']:,} users pass" if f.get("users") else ""))
    for c in exp["filter_counts"]:
        console.print(f"  {c['condition']}: {c['users']:,} users")
    if exp["exclusions"]:
        console.print("[bold]excluded[/] (history names the entity): "
                      + ", ".join(f"{k} ({v:,} users)" for k, v in exp["exclusions"].items()))
    console.print("[bold]tool calls[/]: " + " → ".join(c["tool"] for c in result["tool_calls"]))
    fu = exp["fusion"]
    if fu:
        console.print(f"[bold]scoring[/]: {fu.get('method')} · weights "
                      + ", ".join(f"{k} {v:g}" for k, v in fu.get("weights", {}).items()))
    if exp.get("agreement"):
        a = exp["agreement"]
        console.print(f"  FIND and EGL top-{a['a_size']:,} overlap: {a['overlap']:,} users (Jaccard {a['jaccard']:.2f})")
    console.print(f"[bold]audience[/]: {aud['size']:,} users ({exp['rule']})"
                  + (f" → exported to {aud['export_path']}" if aud.get("export_path") else ""))
    q = exp["scores"].get("audience")
    if q:
        console.print(f"  fused score min {q['min']:.3f} · median {q['median']:.3f} · max {q['max']:.3f}"
                      f"   histogram 0→1: {' '.join(str(h) for h in exp['scores']['histogram'])}")
    if exp["reach"]:
        console.print("  reach (eligible users above a fused score): "
                      + ", ".join(f"≥{k}: {v:,}" for k, v in exp["reach"].items()))
    if exp["examples"]:
        console.print("[bold]example users[/] and the behaviour that made them match:")
        for ex in exp["examples"]:
            ranks = ", ".join(f"{k.split('_')[0]} top {100 * (1 - v):.1f}%" for k, v in ex.items() if k.endswith("_rank"))
            console.print(f"  {ex['user_id']}  score {ex['score']:.3f}  ({ranks})")
            for s in ex["snippets"]:
                why = s.get("entities") or s.get("words") or []
                console.print(f"      {s['ts']} \\[{safe(s['source'])}] {safe(s['text'])}"
                              + (f"  ← {safe(', '.join(why))}" if why else ""), highlight=False)
    for n in exp["notes"]:
        console.print(f"[yellow]note[/]: {safe(n)}")
