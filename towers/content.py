"""The representation center (MIM): every distinct event text embedded once, keyed by content.

Behaviour and search texts repeat millions of times across users ("Opened DailyBasket
mini-program"), so the text encoder runs once per *distinct* text and every model reads the
vectors from here. A text's key is a stable hash of its content (blake2b-128 of the UTF-8
bytes), so the store does not depend on row order, workspace or machine.

Layout, one store per text encoder (a different encoder never mixes vectors):

    WS/artifacts/content/<encoder fingerprint>/
        index.json                    the commit record: encoder, dim, count, chunk list
        chunk-NNNNNN-XXXX.vectors.npy float32 (rows, dim), L2-normalised, memory-mappable
        chunk-NNNNNN-XXXX.keys.npy    uint64 (rows, 2): the content key of each row
        chunk-NNNNNN-XXXX.texts.parquet  the texts themselves (inspection, other models)
    WS/artifacts/content/.<fingerprint>.lock   held by writers only

Appending is crash-safe: the new chunk's files are written atomically (temp file, fsync,
rename), then `index.json` is atomically replaced; that rename is the commit. A crash before
it leaves unreferenced files that the next writer deletes; the stored rows never change.
Row ids are positions in chunk order and only grow, so they stay valid after appends and
compaction (merging many chunks into one keeps the order).

Use from a model:

    store = ContentStore.open(ws, encoder)          # or ContentStore.open(ws, spec=settings.text_encoder)
    rows = store.row_ids(events["text"])            # vectorised; categorical columns hash once
    vecs = store.matrix()[rows]                     # or store.lookup(texts, encoder=encoder)

`embed()` is the fast, equivalent replacement for `TextEncoder.encode` on large text sets
(length-bucketed batches without padding, one intra-op thread per worker thread); see
bench/content_throughput.py for the measurement against the sentence-transformers default.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
import time
import uuid
import weakref
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from targetbot.core.atomic import atomic_path, write_json, write_parquet
from targetbot.core.errors import DataError, TargetbotError
from targetbot.core.protocols import Encoder, ModelSource
from targetbot.core.workspace import Workspace

STAGE = "content"
FORMAT = 1
INDEX_FILE = "index.json"
COMMIT_TEXTS = 20_000  # texts per chunk: a crash loses at most this much embedding work
MAX_CHUNKS = 8  # past this many chunks, an append merges them into one (so does a multi-chunk add)
BATCH_TOKENS = 4096  # tokens per forward pass in the fast path; larger batches were no faster (docs/RESULTS.md)
FAST_PATH_MIN_COSINE = 0.9999  # self-check of the fast path against the encoder's own encode()


# ---- content keys ------------------------------------------------------------------------------
def content_keys(texts: Sequence[str]) -> np.ndarray:
    """(n, 2) uint64: blake2b-128 of each text's UTF-8 bytes. Same on every machine and version."""
    buf = b"".join(hashlib.blake2b(t.encode("utf-8"), digest_size=16).digest() for t in texts)
    return np.frombuffer(buf, dtype="<u8").reshape(-1, 2)


class _KeyIndex:
    """Vectorised key → row: a uint64 hash table on the first half, verified on the second."""

    def __init__(self, keys: np.ndarray):
        self.keys = keys
        self._hi = pd.Index(keys[:, 0])
        # Two stored keys sharing their first 64 bits (odds ~n²/2⁶⁵): fall back to a dict.
        self._exact = None if self._hi.is_unique else {k.tobytes(): i for i, k in enumerate(keys)}

    def get(self, query: np.ndarray) -> np.ndarray:
        """Row of each query key, -1 where absent."""
        if len(query) == 0 or len(self.keys) == 0:
            return np.full(len(query), -1, dtype=np.int64)
        if self._exact is not None:
            return np.fromiter((self._exact.get(k.tobytes(), -1) for k in query), dtype=np.int64, count=len(query))
        rows = self._hi.get_indexer(query[:, 0]).astype(np.int64)
        hit = np.flatnonzero(rows >= 0)
        rows[hit[self.keys[rows[hit], 1] != query[hit, 1]]] = -1
        return rows


# ---- which texts --------------------------------------------------------------------------------
def event_texts(ws: Workspace) -> list[str]:
    """Every distinct non-null `text` of the workspace's events (all windows), sorted.

    All windows are embedded: a text's vector depends on the text alone, so storing label-window
    texts leaks nothing; which windows a model reads stays that model's business.
    Reads one row group at a time as dictionary codes, so memory stays flat with event count.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    path = ws.table_path("events")
    if not path.exists():
        raise TargetbotError(f"{path} not found: this workspace has no 'events' table")
    try:
        pf = pq.ParquetFile(path, read_dictionary=["text"])
        if "text" not in pf.schema_arrow.names:
            raise DataError(f"{path}: no 'text' column (every event needs its natural-language text)")
        parts = []
        for i in range(pf.num_row_groups):
            col = pf.read_row_group(i, columns=["text"]).column("text")
            for chunk in col.chunks:
                if not pa.types.is_dictionary(chunk.type):
                    chunk = pc.dictionary_encode(chunk)
                # only the entries in use: a dictionary may hold values no row refers to
                used = pc.unique(chunk.indices).drop_null()
                parts.append(pc.unique(chunk.dictionary.take(used)))
    except TargetbotError:
        raise
    except Exception as e:  # pyarrow raises many types for a corrupt file
        raise DataError(f"{path}: not a readable Parquet file ({e.__class__.__name__}: {str(e)[:120]})") from None
    if not parts:
        return []
    values = pc.unique(pa.concat_arrays([p.cast(pa.large_string()) for p in parts]))
    return sorted(v for v in values.to_pylist() if v is not None)


# ---- embedding ----------------------------------------------------------------------------------
def usable_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


_PROBE = [
    "Opened DailyBasket mini-program",
    "monthly phone payment",
    "Paid first month's rental for Veron X5 to FlexiPhone",
    "Order from TechHub Store: Morsola Ultra, 2 units, paid by instalment with the store card",
    "ok",
    "Ünïcödé café — 手机 租赁 ✓",
    "where to buy a used car " * 60,  # past max_seq_length: exercises truncation
]


class _FastPath:
    """sentence-transformers [Transformer → mean Pooling (→ Normalize)] without its overheads.

    Texts are tokenized once, grouped by exact token length (so no padding and no attention
    mask), cut into batches of about `batch_tokens` tokens, and run under inference_mode by
    `workers` Python threads with cpus // workers intra-op threads each (torch releases the
    GIL; independent single-threaded GEMMs avoid the OpenMP barriers that stall a shared CPU);
    then mean pooling and L2 normalisation, exactly as the original pipeline. Used only after a
    self-check against the encoder's own `encode` on probe texts.
    """

    _cache: "weakref.WeakKeyDictionary[Any, _FastPath | None]" = weakref.WeakKeyDictionary()

    def __init__(self, st):
        self.tokenizer = st[0].tokenizer
        self.model = st[0].auto_model
        self.max_len = int(st[0].max_seq_length)
        self.dim = int(st.get_embedding_dimension())

    @classmethod
    def get(cls, encoder) -> "_FastPath | None":
        try:
            return cls._cache[encoder]
        except (KeyError, TypeError):
            pass
        fast = cls._build(encoder)
        try:
            cls._cache[encoder] = fast
        except TypeError:
            pass
        return fast

    @classmethod
    def _build(cls, encoder) -> "_FastPath | None":
        st = getattr(encoder, "model", None)
        lib = sys.modules.get("sentence_transformers")  # not imported: st cannot be one of its models
        if lib is None or not isinstance(st, lib.SentenceTransformer):
            return None
        mods = list(st)
        names = [type(m).__name__ for m in mods]
        if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
            return None
        if getattr(mods[1], "pooling_mode", None) != "mean" or getattr(mods[0], "tokenizer", None) is None:
            return None
        if any(p for p in (getattr(st, "prompts", None) or {}).values()) or getattr(st, "default_prompt_name", None):
            return None
        if next(st.parameters()).device.type != "cpu":
            return None
        try:
            fast = cls(st)
            # the long probe alone, so the reference does not pad the short ones to its length
            ref = np.concatenate([np.asarray(encoder.encode(_PROBE[:-1]), dtype=np.float32),
                                  np.asarray(encoder.encode(_PROBE[-1:]), dtype=np.float32)])
            got = fast.encode(_PROBE, workers=1)
        except Exception:
            return None
        if float((ref * got).sum(1).min()) < FAST_PATH_MIN_COSINE:
            return None
        return fast

    def _batches(self, lengths: np.ndarray, batch_tokens: int) -> list[np.ndarray]:
        order = np.argsort(lengths, kind="stable")
        ls = lengths[order]
        starts = np.flatnonzero(np.r_[True, ls[1:] != ls[:-1]])
        ends = np.r_[starts[1:], len(ls)]
        out = []
        for a, b in zip(starts.tolist(), ends.tolist()):
            size = max(1, batch_tokens // int(ls[a]))
            out.extend(order[s:min(b, s + size)] for s in range(a, b, size))
        # biggest work first, so the threads finish together
        out.sort(key=lambda idx: -len(idx) * int(lengths[idx[0]]))
        return out

    def encode(self, texts: list[str], batch_tokens: int = BATCH_TOKENS, workers: int | None = None,
               progress: Callable[[int], Any] | None = None) -> np.ndarray:
        import torch
        from concurrent.futures import ThreadPoolExecutor

        ids = self.tokenizer(texts, truncation=True, max_length=self.max_len, return_attention_mask=False,
                             return_token_type_ids=False)["input_ids"]
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        batches = self._batches(lengths, batch_tokens)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        cpus = usable_cpus()
        workers = max(1, min(workers or cpus, len(batches)))
        model = self.model
        if model.training:
            model.eval()

        def run(idx: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                x = torch.tensor([ids[k] for k in idx], dtype=torch.long)
                h = model(input_ids=x).last_hidden_state.mean(dim=1)
                return torch.nn.functional.normalize(h, p=2, dim=1).numpy()

        prev = torch.get_num_threads()
        torch.set_num_threads(max(1, cpus // workers))
        try:
            if workers == 1:
                for idx in batches:
                    out[idx] = run(idx)
                    if progress:
                        progress(len(idx))
            else:
                with ThreadPoolExecutor(workers, thread_name_prefix="embed") as pool:
                    for idx, vec in zip(batches, pool.map(run, batches)):
                        out[idx] = vec
                        if progress:
                            progress(len(idx))
        finally:
            torch.set_num_threads(prev)
        return out


def embed(encoder: Encoder, texts: Sequence[str], *, batch_tokens: int = BATCH_TOKENS, workers: int | None = None,
          progress: Callable[[int], Any] | None = None) -> np.ndarray:
    """Embed `texts` with `encoder`: (n, dim) float32, L2-normalised, same vectors as encoder.encode.

    Sentence-transformers mean-pooling encoders (the bundled MiniLM) take the fast path;
    anything else calls `encoder.encode` in slices. `progress(k)` is told about every k done.
    """
    texts = list(texts)
    if not texts:
        return np.zeros((0, int(encoder.dim)), dtype=np.float32)
    fast = _FastPath.get(encoder)
    if fast is not None:
        return fast.encode(texts, batch_tokens=batch_tokens, workers=workers, progress=progress)
    parts = []
    for s in range(0, len(texts), 1024):
        part = texts[s:s + 1024]
        parts.append(np.asarray(encoder.encode(part), dtype=np.float32))
        if progress:
            progress(len(part))
    return np.concatenate(parts)


# ---- the store ----------------------------------------------------------------------------------
def store_root(ws: Workspace, fingerprint: str) -> Path:
    return ws.artifacts_dir / STAGE / fingerprint


@contextmanager
def _locked(root: Path) -> Iterator[None]:
    """Exclusive lock for writers of one store (a sibling file, so the store dir can be swapped)."""
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _save_npy(path: Path, arr: np.ndarray) -> None:
    with atomic_path(path, suffix=".npy") as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, arr, allow_pickle=False)
            fh.flush()
            os.fsync(fh.fileno())


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _empty_index(encoder: Encoder) -> dict:
    return {"format": FORMAT, "encoder": getattr(encoder, "spec", type(encoder).__name__),
            "fingerprint": encoder.fingerprint, "dim": int(encoder.dim), "count": 0, "next_chunk": 0,
            "chunks": [], "created": _now(), "updated": _now()}


class ContentStore:
    """The content vectors of one encoder in one workspace. Reads need no lock; writes take one."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._load()

    # ---- opening -----------------------------------------------------------------------------
    @classmethod
    def for_encoder(cls, ws: Workspace, encoder: Encoder) -> "ContentStore":
        """The store of `encoder` in `ws`, created empty when missing."""
        root = store_root(ws, encoder.fingerprint)
        if not (root / INDEX_FILE).exists():
            with _locked(root):
                if not (root / INDEX_FILE).exists():
                    root.mkdir(parents=True, exist_ok=True)
                    write_json(root / INDEX_FILE, _empty_index(encoder))
        return cls(root)

    @classmethod
    def open(cls, ws: Workspace, encoder: Encoder | None = None, *, spec: str | None = None) -> "ContentStore":
        """An existing store: `encoder`'s, else the newest one built with encoder `spec` (loads no model)."""
        if encoder is not None:
            root = store_root(ws, encoder.fingerprint)
            if not (root / INDEX_FILE).exists():
                raise TargetbotError(f"{ws.root}: no content vectors for text encoder "
                                     f"{getattr(encoder, 'spec', '')} ({encoder.fingerprint}); run "
                                     f"`targetbot build -w {ws.root} --stage content`")
            return cls(root)
        if spec is None:
            raise TypeError("ContentStore.open needs an encoder or its spec")
        store = cls.find(ws, spec)
        if store is None:
            raise TargetbotError(f"{ws.root}: no content vectors for text encoder {spec}; run "
                                 f"`targetbot build -w {ws.root} --stage content`")
        return store

    @classmethod
    def find(cls, ws: Workspace, spec: str) -> "ContentStore | None":
        """The newest store built with encoder `spec`, or None; loads no model."""
        best: tuple[str, Path] | None = None
        for index in (ws.artifacts_dir / STAGE).glob(f"*/{INDEX_FILE}"):
            try:
                info = json.loads(index.read_text())
            except (OSError, ValueError):
                continue
            if info.get("encoder") == spec and (best is None or str(info.get("updated")) > best[0]):
                best = (str(info.get("updated")), index.parent)
        return None if best is None else cls(best[1])

    def _load(self) -> None:
        path = self.root / INDEX_FILE
        if not path.exists():
            raise TargetbotError(f"{self.root}: no content store here (no {INDEX_FILE}); run "
                                 "`targetbot build -w WS --stage content`")
        try:
            info = json.loads(path.read_text())
        except ValueError:
            raise DataError(f"{path}: not valid JSON") from None
        if info.get("format") != FORMAT:
            raise DataError(f"{path}: content store format {info.get('format')!r}, expected {FORMAT}; "
                            "rebuild with `targetbot build --stage content --force`")
        self.info = info
        self.dim = int(info["dim"])
        self.fingerprint = str(info["fingerprint"])
        self.encoder_spec = str(info["encoder"])
        vectors, keys = [], []
        for chunk in info["chunks"]:
            name, rows = chunk["name"], int(chunk["rows"])
            try:
                v = np.load(self.root / f"{name}.vectors.npy", mmap_mode="r")
                k = np.load(self.root / f"{name}.keys.npy")
            except (OSError, ValueError) as e:
                raise DataError(f"{self.root}: chunk {name} unreadable ({e.__class__.__name__}); "
                                "rebuild with `targetbot build --stage content --force`") from None
            if v.shape != (rows, self.dim) or k.shape != (rows, 2) or v.dtype != np.float32:
                raise DataError(f"{self.root}: chunk {name} has shape {v.shape}/{k.shape}, index says "
                                f"({rows}, {self.dim}); rebuild with `targetbot build --stage content --force`")
            vectors.append(v)
            keys.append(k)
        self._vectors = vectors
        self._keys = np.concatenate(keys) if keys else np.zeros((0, 2), dtype="<u8")
        self._index = _KeyIndex(self._keys)
        self._matrix: np.ndarray | None = None
        self._texts: list[str] | None = None

    # ---- reading -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"ContentStore({str(self.root)!r}, {len(self):,} texts, dim {self.dim})"

    def matrix(self) -> np.ndarray:
        """All vectors, (len, dim) float32, row = row id. A read-only memory map when one chunk."""
        if self._matrix is None:
            if len(self._vectors) == 1:
                self._matrix = self._vectors[0]
            elif not self._vectors:
                self._matrix = np.zeros((0, self.dim), dtype=np.float32)
            else:
                self._matrix = np.concatenate(self._vectors)
        return self._matrix

    def keys(self) -> np.ndarray:
        """(len, 2) uint64 content keys, row = row id."""
        return self._keys

    def texts(self) -> list[str]:
        """The stored texts, row = row id."""
        if self._texts is None:
            import pyarrow.parquet as pq

            out: list[str] = []
            for chunk in self.info["chunks"]:
                out.extend(pq.read_table(self.root / f"{chunk['name']}.texts.parquet").column("text").to_pylist())
            self._texts = out
        return self._texts

    def row_ids(self, values: Iterable[str] | pd.Series, missing: str = "raise") -> np.ndarray:
        """Row id of every value, int64. Each distinct value is hashed once (categoricals: their categories).

        Nulls map to -1. Texts not stored raise (missing="raise") or map to -1 (missing="ignore").
        """
        if missing not in ("raise", "ignore"):
            raise ValueError("missing must be 'raise' or 'ignore'")
        s = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
        if isinstance(s.dtype, pd.CategoricalDtype):
            codes = s.cat.codes.to_numpy().astype(np.int64)
            cats = s.cat.categories
        else:
            codes, cats = pd.factorize(s, use_na_sentinel=True)
            codes = codes.astype(np.int64)
        cat_rows = self._index.get(content_keys([str(c) for c in cats]))
        rows = np.full(len(codes), -1, dtype=np.int64)
        valid = codes >= 0
        rows[valid] = cat_rows[codes[valid]]
        if missing == "raise":
            unknown = np.flatnonzero(valid & (rows < 0))
            if len(unknown):
                raise self._unknown_error(len(unknown), len(codes), str(s.iloc[unknown[0]]))
        return rows

    def missing(self, texts: Sequence[str]) -> list[str]:
        """The distinct texts of `texts` that are not stored, in first-seen order."""
        uniq = list(dict.fromkeys(texts))
        rows = self._index.get(content_keys(uniq))
        return [t for t, r in zip(uniq, rows.tolist()) if r < 0]

    def __contains__(self, text: str) -> bool:
        return bool(self._index.get(content_keys([text]))[0] >= 0)

    def lookup(self, texts: Sequence[str], encoder: Encoder | None = None, *, store: bool = False) -> np.ndarray:
        """Vectors of `texts`, (n, dim) float32. Unknown texts are embedded on the fly with `encoder`
        (and kept in the store when `store=True`); without an encoder they are an error."""
        texts = [t if isinstance(t, str) else str(t) for t in texts]
        rows = self.row_ids(texts, missing="ignore")
        unknown = rows < 0
        if not unknown.any():
            return np.asarray(self.matrix()[rows], dtype=np.float32)
        new = list(dict.fromkeys(t for t, u in zip(texts, unknown.tolist()) if u))
        if encoder is None:
            raise self._unknown_error(int(unknown.sum()), len(texts), new[0], hint="or pass an encoder to embed them on the fly")
        self._check_encoder(encoder)
        if store:
            self.add(new, encoder)
            return self.lookup(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        known = ~unknown
        out[known] = self.matrix()[rows[known]]
        new_vec = embed(encoder, new)
        pos = {t: i for i, t in enumerate(new)}
        out[unknown] = new_vec[[pos[t] for t, u in zip(texts, unknown.tolist()) if u]]
        return out

    def _unknown_error(self, k: int, n: int, example: str, hint: str = "") -> TargetbotError:
        more = f" {hint}" if hint else ""
        return TargetbotError(f"{k:,} of {n:,} texts are not in the content store {self.root} "
                              f"(first: {example[:80]!r}); run `targetbot build --stage content`{more}")

    def _check_encoder(self, encoder: Encoder) -> None:
        if encoder.fingerprint != self.fingerprint:
            raise TargetbotError(f"text encoder {getattr(encoder, 'spec', '')} ({encoder.fingerprint}) does not match "
                                 f"the content store {self.root} ({self.encoder_spec}, {self.fingerprint})")

    # ---- writing -----------------------------------------------------------------------------
    def add(self, texts: Iterable[str], encoder: Encoder, *, progress: bool = False, commit_every: int = COMMIT_TEXTS,
            batch_tokens: int = BATCH_TOKENS, workers: int | None = None) -> dict:
        """Embed and store the texts not stored yet; returns what it did.

        Commits every `commit_every` texts, so an interrupted run keeps its finished chunks.
        """
        self._check_encoder(encoder)
        with _locked(self.root):
            return self._add_locked(list(texts), encoder, progress=progress, commit_every=commit_every,
                                    batch_tokens=batch_tokens, workers=workers)

    def _add_locked(self, texts: list[str], encoder: Encoder, *, progress: bool, commit_every: int,
                    batch_tokens: int, workers: int | None) -> dict:
        from tqdm.auto import tqdm

        t0 = time.perf_counter()
        self._load()  # another writer may have appended since we opened
        self._collect_garbage()
        uniq = list(dict.fromkeys(t for t in texts if t is not None))
        keys = content_keys(uniq)
        new = np.flatnonzero(self._index.get(keys) < 0)
        new_texts = [uniq[i] for i in new.tolist()]
        new_keys = keys[new]
        embed_s = 0.0
        with tqdm(total=len(new_texts), unit="text", desc="embedding texts", disable=True if not progress else None,
                  file=sys.stderr, dynamic_ncols=True, mininterval=1.0) as bar:
            for s in range(0, len(new_texts), max(1, commit_every)):
                part = new_texts[s:s + commit_every]
                t = time.perf_counter()
                vec = embed(encoder, part, batch_tokens=batch_tokens, workers=workers, progress=bar.update)
                embed_s += time.perf_counter() - t
                self._append(part, new_keys[s:s + commit_every], vec)
        # merge when chunks pile up, or after a big add (cheap next to the embedding it just did),
        # so the usual store is one memory-mapped matrix
        written = -(-len(new_texts) // max(1, commit_every))
        compacted = len(self.info["chunks"]) > MAX_CHUNKS or (written > 1 and len(self.info["chunks"]) > 1)
        if compacted:
            self._compact()
        seconds = time.perf_counter() - t0
        return {"requested": len(uniq), "new": len(new_texts), "stored": len(self), "seconds": seconds,
                "embed_seconds": embed_s, "texts_per_s": len(new_texts) / seconds if new_texts and seconds > 0 else None,
                "chunks": len(self.info["chunks"]), "compacted": compacted}

    def _append(self, texts: list[str], keys: np.ndarray, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape != (len(texts), self.dim):
            raise TargetbotError(f"text encoder returned shape {vectors.shape} for {len(texts)} texts, expected dim {self.dim}")
        if not np.isfinite(vectors).all():
            raise TargetbotError("text encoder returned non-finite values; nothing was stored")
        info = dict(self.info)
        name = f"chunk-{int(info['next_chunk']):06d}-{uuid.uuid4().hex[:8]}"
        self._write_chunk(name, texts, np.ascontiguousarray(keys, dtype="<u8"), vectors)
        info["chunks"] = [*info["chunks"], {"name": name, "rows": len(texts)}]
        info["count"] = int(info["count"]) + len(texts)
        info["next_chunk"] = int(info["next_chunk"]) + 1
        info["updated"] = _now()
        write_json(self.root / INDEX_FILE, info)  # the commit point
        self._load()

    def _write_chunk(self, name: str, texts: list[str], keys: np.ndarray, vectors: np.ndarray) -> None:
        _save_npy(self.root / f"{name}.vectors.npy", vectors)
        _save_npy(self.root / f"{name}.keys.npy", keys)
        write_parquet(self.root / f"{name}.texts.parquet", pd.DataFrame({"text": pd.Series(texts, dtype=object)}))

    def _compact(self) -> None:
        """Merge all chunks into one (same row order), then drop the old files."""
        old = [c["name"] for c in self.info["chunks"]]
        info = dict(self.info)
        name = f"chunk-{int(info['next_chunk']):06d}-{uuid.uuid4().hex[:8]}"
        self._write_chunk(name, self.texts(), np.ascontiguousarray(self._keys), np.ascontiguousarray(self.matrix()))
        info["chunks"] = [{"name": name, "rows": len(self)}]
        info["next_chunk"] = int(info["next_chunk"]) + 1
        info["updated"] = _now()
        write_json(self.root / INDEX_FILE, info)
        self._load()
        for n in old:
            for suffix in (".vectors.npy", ".keys.npy", ".texts.parquet"):
                (self.root / f"{n}{suffix}").unlink(missing_ok=True)

    def _collect_garbage(self) -> None:
        """Delete what a crashed writer left behind: unreferenced chunk files and temp files."""
        live = {c["name"] for c in self.info["chunks"]}
        for p in self.root.iterdir():
            if p.name.startswith("chunk-") and p.name.split(".", 1)[0] not in live:
                p.unlink(missing_ok=True)
            elif p.name.startswith(".") and p.name.endswith(".tmp"):
                shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)

    @classmethod
    def rebuild(cls, ws: Workspace, encoder: Encoder, texts: Iterable[str], **kwargs) -> tuple["ContentStore", dict]:
        """A fresh store of `texts`, built aside and swapped in; the old one serves until the swap."""
        root = store_root(ws, encoder.fingerprint)
        texts = list(texts)
        with _locked(root):
            for stale in root.parent.glob(f".{root.name}.*.tmp"):
                shutil.rmtree(stale, ignore_errors=True)
            with atomic_path(root) as tmp:
                tmp.mkdir(parents=True)
                write_json(tmp / INDEX_FILE, _empty_index(encoder))
                result = cls(tmp)._add_locked(texts, encoder, commit_every=kwargs.pop("commit_every", COMMIT_TEXTS),
                                               batch_tokens=kwargs.pop("batch_tokens", BATCH_TOKENS),
                                               workers=kwargs.pop("workers", None), progress=kwargs.pop("progress", False))
        return cls(root), result


# ---- the build stage ------------------------------------------------------------------------------
def build_stage(ws: Workspace, *, models: ModelSource, force: bool = False, progress: Any = True, **_: Any) -> dict:
    """`targetbot build --stage content`: embed every distinct event text not stored yet.

    Up to date (nothing new) is decided without loading the encoder. `--force` rebuilds from
    scratch. The build profile does not apply: every text is needed by every later stage.
    A truthy `progress` (the build command passes its news printer) draws a progress bar on
    stderr when that is a terminal.
    """
    settings = models.settings
    t = time.perf_counter()
    texts = event_texts(ws)
    scan_s = time.perf_counter() - t
    base = {"texts": len(texts), "scan_seconds": round(scan_s, 3)}
    if not force:
        store = ContentStore.find(ws, settings.text_encoder)
        if store is not None and not store.missing(texts):
            return {"status": "skipped", "summary": f"up to date: all {len(texts):,} distinct texts stored",
                    **base, "new": 0, "stored": len(store), "encoder": store.encoder_spec,
                    "fingerprint": store.fingerprint, "path": str(store.root)}
    t = time.perf_counter()
    encoder = models.text_encoder()
    load_s = time.perf_counter() - t
    if force:
        store, r = ContentStore.rebuild(ws, encoder, texts, progress=bool(progress))
    else:
        store = ContentStore.for_encoder(ws, encoder)
        r = store.add(texts, encoder, progress=bool(progress))
    rate = f" at {r['texts_per_s']:,.0f} texts/s" if r["texts_per_s"] else ""
    return {"status": "built",
            "summary": f"embedded {r['new']:,} new of {len(texts):,} distinct texts{rate}; {r['stored']:,} stored",
            **base, "new": r["new"], "stored": r["stored"], "texts_per_s": r["texts_per_s"],
            "embed_seconds": round(r["embed_seconds"], 3), "encoder_load_seconds": round(load_s, 3),
            "encoder": store.encoder_spec, "fingerprint": store.fingerprint, "path": str(store.root)}
