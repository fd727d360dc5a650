"""Real public datasets mapped onto the data contract.

Each adapter reads files that ship inside an installed package (never copied into this
repository), builds the contract tables in memory, and writes a complete workspace:

* `movielens` — MovieLens-100K ratings, users, movies and its Freebase knowledge graph, from
  `recbole` (install with `pip install --no-deps recbole==1.2.1`); genre-interest scenarios.
* `caravan` — the CoIL 2000 Caravan insurance customers (a real marketing purchase label),
  from `ISLP` (`pip install --no-deps ISLP==0.6.0`).

`packaged` locates the files without importing the packages; `output` holds the shared write
step (overwrite handling, scenario templates, summary).
"""
