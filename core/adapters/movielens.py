"""MovieLens-100K (with its Freebase knowledge graph) as a targetbot workspace.

Source: `recbole/dataset_example/ml-100k/ml-100k.{inter,item,user,kg,link}` inside the
`recbole` package (`pip install --no-deps recbole==1.2.1`), read in place and never copied.
MovieLens is © GroupLens, University of Minnesota, for research use; cite Harper & Konstan
(2015) when publishing results.

Mapping onto the data contract:

* events — one per rating (100,000): user `ml<id>`, `ts` = rating time, `source="page"` (a
  rated movie is a watched page), `text` "Watched Toy Story (1995), an animation, children's and
  comedy movie, rated 4/5" (one text per movie × rating, so distinct texts stay bounded),
  `item` = the movie's entity name, `category` = its MovieLens genres joined by ", " (rules such
  as `category: {contains: Horror}` work), `amount` = the rating (1–5), `status` = liked
  (rating ≥ 4) / neutral (3) / disliked (≤ 2).
* windows — per user, in time order (ties broken by item id): the first 50 % of the user's
  ratings are `w0`, the next 20 % `w1`, the last 30 % `w2`, written as an explicit `window`
  column (so windows in workspace.yaml have no start/end). Roles: train_input [w0],
  train_target [w1], history [w0, w1], label [w2] — history/future = 70/30. Within a user, no
  w2 rating is earlier than any w0/w1 rating.
* profiles — age, age band, gender, occupation, zip code, a region derived from the zip code
  (US postal area by first digit, letters → Canada) and country.
* entities — movies (name "Title (year)" with a leading article restored, aliases: bare
  title, MovieLens spelling), the 18 MovieLens genres, and every knowledge-graph entity of
  `ml-100k.kg`. Linked movies (`ml-100k.link`) become the movie entities; other Freebase ids
  have no names in the files, so they are named "<type> <mid>" (e.g. "actor m.02vxxgs") with
  the type inferred from the relation they take part in (`film.film.actor` tail → actor,
  `film.film.directed_by` tail → director, …) and the mid kept as an alias.
* relations — the KG triples mapped onto entity names (relation = the Freebase relation,
  exact duplicates dropped) plus movie → genre (`has_genre`).
* scenarios — nine genre-interest demands ("users likely to watch horror movies") labelled
  from the label window, with hard negatives from look-alike genres; templates live in
  `movielens_scenarios/`. A label is the genre's *share* of the user's label-window ratings
  (at least s % and at least k ratings), written out per activity tier because the rule
  language has no share aggregate. Plain counts ("≥ 3 horror ratings") let rating volume alone
  rank users well, so every method would be measured on activity, not taste; with shares,
  history volume is close to chance.

Titles are parsed once per movie; everything per rating is vectorised.
"""

from __future__ import annotations

import csv
import re
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from targetbot.core.adapters.output import check_target, scenario_summaries, write_workspace
from targetbot.core.adapters.packaged import package_file
from targetbot.core.contract import ProfileSchema
from targetbot.core.errors import DataError
from targetbot.core.workspace import Roles, Window, WorkspaceMeta
from targetbot.core.resources import package_path

PACKAGE = "recbole"
PIP = "pip install --no-deps recbole==1.2.1"
DATA_DIR = "dataset_example/ml-100k"
FILES = ("inter", "item", "user", "kg", "link")
SCENARIO_DIR = package_path("targetbot.core", "adapters", "movielens_scenarios")

SPLIT = (("w0", 0.5), ("w1", 0.2), ("w2", 0.3))  # per-user, time-ordered shares

GENRE_WORDS = {"Children's": "children's", "Film-Noir": "film noir", "Sci-Fi": "sci-fi"}
GENRE_ALIASES = {
    "Children's": ["children's movie", "kids movie", "family movie"],
    "Film-Noir": ["film noir", "noir"],
    "Sci-Fi": ["sci-fi", "science fiction", "scifi"],
    "Documentary": ["documentary", "documentaries"],
    "Musical": ["musical", "musicals"],
}
ARTICLES = r"The|A|An|Il|La|Le|Les|L'|Der|Die|Das|Det|El|Lo|I|Os|As"

# Freebase relation -> (head type, tail type); linked heads/tails become MovieLens movies.
RELATION_TYPES = {
    "film.film.actor": ("film", "actor"),
    "film.actor.film": ("actor", "film"),
    "film.film.genre": ("film", "film_genre"),
    "film.film_genre.films_in_this_genre": ("film_genre", "film"),
    "film.film.award_nomination": ("film", "award"),
    "film.film.award_won": ("film", "award"),
    "film.film.produced_by": ("film", "producer"),
    "film.producer.film": ("producer", "film"),
    "film.film.written_by": ("film", "writer"),
    "film.writer.film": ("writer", "film"),
    "film.film.directed_by": ("film", "director"),
    "film.director.film": ("director", "film"),
    "film.film.cinematography": ("film", "cinematographer"),
    "film.cinematographer.film": ("cinematographer", "film"),
    "film.film.production_companies": ("film", "production_company"),
    "film.production_company.films": ("production_company", "film"),
    "film.film.rating": ("film", "content_rating"),
    "film.content_rating.film": ("content_rating", "film"),
    "film.film.subjects": ("film", "film_subject"),
    "film.film_subject.films": ("film_subject", "film"),
    "film.film.language": ("film", "language"),
    "film.film.country": ("film", "country"),
    "film.film.sequel": ("film", "film"),
    "film.film.prequel": ("film", "film"),
}
# When one Freebase id plays several roles, the first in this order names its type.
TYPE_PRIORITY = ["film", "director", "writer", "producer", "cinematographer", "actor", "production_company",
                 "film_genre", "film_subject", "award", "content_rating", "language", "country", "kg_entity"]
ROLE_PHRASE = {
    "film": "film (not rated in MovieLens) linked to", "director": "director of", "writer": "writer of",
    "producer": "producer of", "cinematographer": "cinematographer of", "actor": "actor in",
    "production_company": "production company of", "film_genre": "Freebase genre of",
    "film_subject": "subject of", "award": "award won by or nominated for", "content_rating": "content rating of",
    "language": "language of", "country": "country of", "kg_entity": "entity related to",
}

# US postal areas by the zip code's first digit.
ZIP_REGIONS = {
    "0": "New England & New Jersey", "1": "New York & Pennsylvania", "2": "Mid-Atlantic South",
    "3": "Southeast", "4": "Great Lakes", "5": "Upper Midwest", "6": "Central Plains",
    "7": "South Central", "8": "Mountain", "9": "Pacific",
}
AGE_BANDS = ([0, 18, 25, 35, 45, 50, 56, 200], ["under 18", "18-24", "25-34", "35-44", "45-49", "50-55", "56+"])

PROFILE_COLUMNS = {
    "age": ("numeric", "Age in years at sign-up."),
    "age_band": ("categorical", "MovieLens age band (under 18, 18-24, …, 56+)."),
    "gender": ("categorical", "male | female."),
    "occupation": ("categorical", "Self-reported occupation (21 values, e.g. student, engineer, educator)."),
    "zip_code": ("categorical", "Zip / postal code as given."),
    "region": ("categorical", "US postal area from the zip code's first digit; Canada for letter codes."),
    "country": ("categorical", "US or Canada (from the zip code)."),
}


# ---- reading ---------------------------------------------------------------------------------
def source_paths() -> dict[str, Path]:
    """The five ML-100K files inside the installed recbole package."""
    return {k: package_file(PACKAGE, f"{DATA_DIR}/ml-100k.{k}", PIP) for k in FILES}


def read_atomic(path: Path) -> pd.DataFrame:
    """A RecBole atomic file: tab-separated, header `name:type`; every value read as text."""
    try:
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE, encoding="utf-8")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not a readable RecBole atomic file ({str(e).splitlines()[0][:120]})") from None
    df.columns = [c.split(":")[0] for c in df.columns]
    return df


def _need(df: pd.DataFrame, cols: list[str], path: Path) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataError(f"{path}: missing column '{missing[0]}' (found {', '.join(df.columns)})")


# ---- movies and genres ----------------------------------------------------------------------
def readable_title(title: str) -> str:
    """'Usual Suspects, The' -> 'The Usual Suspects'; an alternative title in parentheses stays."""
    main, sep, rest = title.partition(" (")
    m = re.fullmatch(rf"(.*), ({ARTICLES})", main)
    if m:
        art = m.group(2)
        main = f"{art}{m.group(1)}" if art.endswith("'") else f"{art} {m.group(1)}"
    return main + sep + rest


def genre_phrase(genres: list[str]) -> str:
    words = [GENRE_WORDS.get(g, g.lower()) for g in genres]
    if not words:
        return ""
    body = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    article = "an" if body[0] in "aeiou" else "a"
    return f"{article} {body} movie"


def build_movies(item: pd.DataFrame) -> pd.DataFrame:
    """One row per MovieLens item: id, entity name, aliases, genres, description, text phrase."""
    rows = []
    for item_id, title, year, cls in item[["item_id", "movie_title", "release_year", "class"]].itertuples(index=False):
        genres = [g for g in cls.split() if g and g != "unknown"]
        known_title = title.strip() and title.strip().lower() not in ("unknown", "unkonwn")
        known_year = bool(re.fullmatch(r"\d{4}", year.strip()))
        if known_title:
            full = readable_title(title.strip())
            name = f"{full} ({year})" if known_year else full
            bare = full.partition(" (")[0]
            aliases = list(dict.fromkeys(a for a in (bare, full, title.strip()) if a and a != name))
        else:
            name, bare, aliases = f"Unknown movie (MovieLens item {item_id})", "an unknown movie", []
        phrase = genre_phrase(genres)
        desc = f"{bare} is a{' ' + year if known_year else ''} movie" if known_title else "A movie with no title in MovieLens"
        if genres:
            desc += " (" + ", ".join(genres) + ")"
        desc += f"; MovieLens-100K item {item_id}."
        rows.append({"item_id": item_id, "entity": name, "aliases": aliases, "genres": genres,
                     "category": ", ".join(genres) if genres else None,
                     "watched": f"Watched {name}" + (f", {phrase}" if phrase else ""), "description": desc})
    return pd.DataFrame(rows)


# ---- knowledge graph -------------------------------------------------------------------------
def _grouped_lists(df: pd.DataFrame, col: str) -> dict:
    """mid -> list of `col` values in frame order (one pass; pandas' per-group agg is slow here)."""
    out: dict = {}
    for key, value in zip(df["mid"].to_numpy(), df[col].to_numpy()):
        out.setdefault(key, []).append(value)
    return out


def build_graph(kg: pd.DataFrame, link: pd.DataFrame, movies: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """KG entities (readable names and inferred types) and the triples mapped onto entity names."""
    mid_to_movie = link.merge(movies[["item_id", "entity"]], on="item_id", how="inner").drop_duplicates("entity_id")
    mid_to_movie = pd.Series(mid_to_movie["entity"].to_numpy(), index=mid_to_movie["entity_id"].to_numpy())
    kg = kg.drop_duplicates()
    types = kg["relation_id"].map(lambda r: RELATION_TYPES.get(r, ("kg_entity", "kg_entity")))
    roles = pd.concat([
        pd.DataFrame({"mid": kg["head_id"].to_numpy(), "type": [t[0] for t in types], "other": kg["tail_id"].to_numpy()}),
        pd.DataFrame({"mid": kg["tail_id"].to_numpy(), "type": [t[1] for t in types], "other": kg["head_id"].to_numpy()}),
    ], ignore_index=True)
    roles = roles[~roles["mid"].isin(mid_to_movie.index)]
    roles["rank"] = roles["type"].map({t: i for i, t in enumerate(TYPE_PRIORITY)}).fillna(len(TYPE_PRIORITY))
    roles["movie"] = roles["other"].map(mid_to_movie)

    main = roles.sort_values(["mid", "rank"]).drop_duplicates("mid").set_index("mid")["type"]
    all_types = _grouped_lists(roles.drop_duplicates(["mid", "type"]).sort_values(["mid", "rank"]), "type")
    linked = roles.dropna(subset=["movie"]).drop_duplicates(["mid", "movie"])
    n_movies = linked["mid"].value_counts().to_dict()
    examples = _grouped_lists(linked.sort_values(["mid", "movie"]).groupby("mid").head(3), "movie")

    # Freebase genres: say which MovieLens genre their films mostly have.
    genre_of = movies.drop_duplicates("entity").set_index("entity")["genres"]
    fg = linked[linked["mid"].isin(main.index[main == "film_genre"])]
    fg = fg.assign(genre=fg["movie"].map(genre_of)).explode("genre").dropna(subset=["genre"])
    top = fg.groupby(["mid", "genre"]).size().rename("n").reset_index().sort_values(
        ["mid", "n", "genre"], ascending=[True, False, True]).drop_duplicates("mid")
    top_genre = dict(zip(top["mid"], zip(top["genre"], top["n"])))

    mids = main.index.to_numpy()
    names = pd.Series([f"{t.replace('_', ' ')} {m}" for m, t in zip(mids, main.to_numpy())], index=mids)
    descriptions = []
    for mid in mids:
        head = " and ".join(ROLE_PHRASE[x] for x in all_types[mid][:2])
        ex = examples.get(mid, [])
        n = int(n_movies.get(mid, 0))
        if ex:
            more = n - len(ex)
            shown = ", ".join(ex) + (f" and {more} more MovieLens film{'s' if more > 1 else ''}" if more > 0 else "")
        else:
            shown = "films outside MovieLens"
        text = f"{head[0].upper()}{head[1:]} {shown} (Freebase {mid})."
        if mid in top_genre:
            g, k = top_genre[mid]
            text += f" Most common MovieLens genre of its films: {g} ({int(k)} of {n})."
        descriptions.append(text)
    entities = pd.DataFrame({"entity": names.to_numpy(), "type": main.to_numpy(),
                             "aliases": [[m] for m in mids], "description": descriptions})

    name_of = pd.concat([mid_to_movie, names])
    rel = pd.DataFrame({"head": kg["head_id"].map(name_of), "relation": kg["relation_id"],
                        "tail": kg["tail_id"].map(name_of)}).dropna()
    return entities, rel


# ---- events and split ------------------------------------------------------------------------
def split_windows(user: np.ndarray, ts: np.ndarray, item: np.ndarray) -> np.ndarray:
    """Per user, time order (ties by item): first 50 % -> w0, next 20 % -> w1, rest -> w2."""
    order = np.lexsort((item, ts, user))
    u_sorted = user[order]
    starts = np.flatnonzero(np.r_[True, u_sorted[1:] != u_sorted[:-1]])
    sizes = np.diff(np.r_[starts, len(u_sorted)])
    n = np.repeat(sizes, sizes)
    rank = np.arange(len(u_sorted)) - np.repeat(starts, sizes)
    cut0 = np.floor(n * SPLIT[0][1] + 0.5)
    cut1 = np.floor(n * (SPLIT[0][1] + SPLIT[1][1]) + 0.5)
    w_sorted = np.where(rank < cut0, 0, np.where(rank < cut1, 1, 2))
    out = np.empty(len(user), dtype=np.int8)
    out[order] = w_sorted
    return out


def build_events(inter: pd.DataFrame, movies: pd.DataFrame) -> pd.DataFrame:
    idx = pd.Index(movies["item_id"]).get_indexer(inter["item_id"])
    if (idx < 0).any():
        row = int(np.flatnonzero(idx < 0)[0])
        raise DataError(f"ml-100k.inter row {row + 1}: item_id '{inter['item_id'].iloc[row]}' is not in ml-100k.item")
    rating = pd.to_numeric(inter["rating"], errors="coerce")
    ts = pd.to_numeric(inter["timestamp"], errors="coerce")
    for col, values in (("rating", rating), ("timestamp", ts)):
        bad = values.isna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(f"ml-100k.inter row {row + 1} column '{col}': not a number")
    r = rating.to_numpy().round().astype(np.int64).clip(1, 5)
    user_num = pd.to_numeric(inter["user_id"]).to_numpy()

    # One text per (movie, rating): categorical codes instead of 100k string concatenations.
    texts = np.array([f"{w}, rated {k}/5" for w in movies["watched"] for k in range(1, 6)], dtype=object)
    uniq, inverse = np.unique(texts, return_inverse=True)  # merged duplicate movies share texts
    text = pd.Categorical.from_codes(inverse[idx * 5 + (r - 1)], categories=uniq)
    win = split_windows(user_num, ts.to_numpy(), pd.to_numeric(inter["item_id"]).to_numpy())
    ev = pd.DataFrame({
        "user_id": pd.Categorical("ml" + inter["user_id"]),
        "ts": pd.to_datetime(ts.to_numpy().astype(np.int64), unit="s"),
        "source": pd.Categorical.from_codes(np.zeros(len(inter), dtype=np.int8), categories=["page"]),
        "text": text.remove_unused_categories(),
        "item": pd.Categorical(movies["entity"].to_numpy()[idx]),
        "category": pd.Categorical(movies["category"].to_numpy()[idx]),
        "amount": r.astype(np.float64),
        "status": pd.Categorical(np.select([r >= 4, r == 3], ["liked", "neutral"], "disliked")),
        "window": pd.Categorical.from_codes(win, categories=[w for w, _ in SPLIT]),
    })
    return ev.sort_values(["user_id", "ts", "item"], kind="stable").reset_index(drop=True)


def build_profiles(user: pd.DataFrame) -> pd.DataFrame:
    age = pd.to_numeric(user["age"], errors="coerce")
    if age.isna().any():
        row = int(np.flatnonzero(age.isna().to_numpy())[0])
        raise DataError(f"ml-100k.user row {row + 1} column 'age': not a number")
    zip_code = user["zip_code"].str.strip().str.upper()
    first = zip_code.str[:1]
    canada = first.str.match(r"[A-Z]")
    region = first.map(ZIP_REGIONS).where(~canada, "Canada").fillna("unknown")
    return pd.DataFrame({
        "user_id": "ml" + user["user_id"],
        "age": age.astype(np.int64),
        "age_band": pd.cut(age, AGE_BANDS[0], right=False, labels=AGE_BANDS[1]).astype(str),
        "gender": user["gender"].map({"M": "male", "F": "female"}).fillna(user["gender"]),
        "occupation": user["occupation"],
        "zip_code": zip_code,
        "region": region,
        "country": np.where(canada, "Canada", "US"),
    })


# ---- the adapter -----------------------------------------------------------------------------
def build_movielens() -> dict:
    """Read the packaged files and build every contract table in memory."""
    paths = source_paths()
    raw = {k: read_atomic(p) for k, p in paths.items()}
    _need(raw["inter"], ["user_id", "item_id", "rating", "timestamp"], paths["inter"])
    _need(raw["item"], ["item_id", "movie_title", "release_year", "class"], paths["item"])
    _need(raw["user"], ["user_id", "age", "gender", "occupation", "zip_code"], paths["user"])
    _need(raw["kg"], ["head_id", "relation_id", "tail_id"], paths["kg"])
    _need(raw["link"], ["item_id", "entity_id"], paths["link"])

    movies = build_movies(raw["item"])
    events = build_events(raw["inter"], movies)
    profiles = build_profiles(raw["user"])

    all_genres = sorted({g for gs in movies["genres"] for g in gs})
    n_per_genre = movies.drop_duplicates("entity")["genres"].explode().value_counts()
    genre_entities = pd.DataFrame({
        "entity": all_genres, "type": "genre",
        "aliases": [list(dict.fromkeys([GENRE_WORDS.get(g, g.lower()), *GENRE_ALIASES.get(g, []),
                                        f"{GENRE_WORDS.get(g, g.lower())} movies", f"{GENRE_WORDS.get(g, g.lower())} films"]))
                    for g in all_genres],
        "description": [f"MovieLens movie genre with {int(n_per_genre.get(g, 0))} movies." for g in all_genres],
    })
    movie_entities = movies.drop_duplicates("entity")[["entity", "aliases", "description"]].assign(type="movie")
    kg_entities, kg_relations = build_graph(raw["kg"], raw["link"], movies)
    entities = pd.concat([movie_entities[["entity", "type", "aliases", "description"]], genre_entities, kg_entities],
                         ignore_index=True).drop_duplicates("entity").reset_index(drop=True)
    has_genre = movies.drop_duplicates("entity")[["entity", "genres"]].explode("genres").dropna()
    genre_rel = pd.DataFrame({"head": has_genre["entity"].to_numpy(), "relation": "has_genre",
                              "tail": has_genre["genres"].to_numpy()})
    relations = pd.concat([kg_relations, genre_rel], ignore_index=True).drop_duplicates().reset_index(drop=True)
    return {"events": events, "profiles": profiles, "entities": entities, "relations": relations,
            "paths": paths, "movies": len(movies)}


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def create_movielens_workspace(root: str | Path, overwrite: bool = False) -> dict:
    """Build the MovieLens workspace at `root`; returns sizes, scenario prevalences and timings."""
    check_target(root, overwrite)
    t0 = time.perf_counter()
    tables = build_movielens()
    t_build = time.perf_counter() - t0
    names = [w for w, _ in SPLIT]
    meta = WorkspaceMeta(
        name="movielens-100k", origin="movielens",
        windows=[Window(name=w) for w in names],
        roles=Roles(train_input=["w0"], train_target=["w1"], history=["w0", "w1"], label=["w2"]),
        eval_fraction=0.5, seed=0,
        info={"dataset": "MovieLens-100K with the RecBole Freebase KG link",
              "package": f"{PACKAGE}=={_version(PACKAGE)}",
              "files": {k: f"{PACKAGE}/{DATA_DIR}/{p.name}" for k, p in tables["paths"].items()},
              "licence": "MovieLens: GroupLens research-use licence (cite Harper & Konstan 2015)",
              "split": "per user, time order: first 50% of ratings w0, next 20% w1, last 30% w2 (explicit window column)"},
    )
    t = time.perf_counter()
    ws = write_workspace(root, meta, {k: tables[k] for k in ("events", "profiles", "entities", "relations")},
                         ProfileSchema(columns={c: k for c, (k, _) in PROFILE_COLUMNS.items()},
                                       descriptions={c: d for c, (_, d) in PROFILE_COLUMNS.items()}),
                         sorted(SCENARIO_DIR.glob("*.yaml")), overwrite=overwrite)
    t_write = time.perf_counter() - t
    t = time.perf_counter()
    scenarios = scenario_summaries(ws)
    t_label = time.perf_counter() - t
    ev = tables["events"]
    return {
        "workspace": str(ws.root), "origin": "movielens", "users": int(len(tables["profiles"])),
        "events": int(len(ev)), "distinct_texts": int(ev["text"].cat.categories.size),
        "events_per_window": {str(k): int(v) for k, v in ev["window"].value_counts(sort=False).items()},
        "movies": int(tables["movies"]), "entities": int(len(tables["entities"])),
        "entity_types": int(tables["entities"]["type"].nunique()), "relations": int(len(tables["relations"])),
        "scenarios": scenarios,
        "timings_s": {"build": round(t_build, 2), "write": round(t_write, 2), "label": round(t_label, 2),
                      "total": round(time.perf_counter() - t0, 2)},
    }
