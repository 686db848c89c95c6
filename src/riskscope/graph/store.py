"""Embedding store: node vectors in DuckDB, keyed by graph and node id.

Training writes every benign node's semantic and context vectors here; detection adds
the vectors of the graphs it scores. Analysts (and the explain assistant) query it:
a node's vectors, or the stored nodes most similar to a vector (cosine similarity,
optionally of one type), e.g. "which benign processes look like this alert?".

One table, ``embeddings(graph, node_id, type, name, semantic FLOAT[d], context FLOAT[h],
split)``, primary key ``(graph, node_id)``; writing a graph again replaces its rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from riskscope.exceptions import SchemaError
from riskscope.graph.schema import ProvenanceGraph

__all__ = ["EmbeddingStore"]


class EmbeddingStore:
    """A DuckDB file (or ``":memory:"``) holding node embeddings.

    Examples
    --------
    >>> import numpy as np
    >>> from riskscope.graph.schema import GraphBuilder
    >>> b = GraphBuilder(name="g1")
    >>> p = b.node("p", "process", "/bin/sh"); f = b.node("f", "file", "/etc/passwd")
    >>> b.edge(p, f, "read", 1)
    >>> g = b.build()
    >>> with EmbeddingStore(":memory:") as store:
    ...     _ = store.put(g, np.eye(2, 4, dtype="float32"), np.ones((2, 2), "float32"))
    ...     store.count(), store.similar(np.array([1, 0, 0, 0], "float32"), k=1)["node_id"].tolist()
    (2, ['p'])
    """

    def __init__(self, path: str | Path = ":memory:", *, read_only: bool = False) -> None:
        import duckdb

        self.path = str(path)
        if self.path != ":memory:":
            p = Path(self.path)
            p.parent.mkdir(parents=True, exist_ok=True)
            if p.is_file() and p.stat().st_size == 0 and not read_only:
                p.unlink()  # an empty file (an atomic writer's placeholder) is a new store
        self._con = duckdb.connect(self.path, read_only=read_only)
        self._dims: tuple[int, int] | None = None
        tables = self._con.execute("select table_name from information_schema.tables").fetchall()
        if ("embeddings",) in tables:
            cols = dict(self._con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_name = 'embeddings'").fetchall())
            self._dims = (_dim(cols["semantic"]), _dim(cols["context"]))

    def __enter__(self) -> EmbeddingStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._con.close()

    def _create(self, d: int, h: int) -> None:
        self._con.execute(
            f"create table embeddings (graph varchar not null, node_id varchar not null, "
            f"type varchar, name varchar, split varchar, semantic float[{d}], "
            f"context float[{h}], primary key (graph, node_id))")
        self._dims = (d, h)

    def put(self, graph: ProvenanceGraph, semantic: np.ndarray, context: np.ndarray, *,
            split: str = "") -> int:
        """Store (replace) the vectors of every node of ``graph``; returns rows written."""
        semantic = np.ascontiguousarray(semantic, dtype=np.float32)
        context = np.ascontiguousarray(context, dtype=np.float32)
        n = graph.n_nodes
        if semantic.shape[0] != n or context.shape[0] != n:
            raise SchemaError(f"EmbeddingStore.put: graph {graph.name!r} has {n} nodes but "
                              f"{semantic.shape[0]} semantic and {context.shape[0]} context "
                              "vectors; pass one vector per node.")
        d, h = semantic.shape[1], context.shape[1]
        if self._dims is None:
            self._create(d, h)
        elif self._dims != (d, h):
            raise SchemaError(f"EmbeddingStore {self.path}: holds vectors of sizes "
                              f"{self._dims}, got ({d}, {h}); use a new store for a new model.")
        table = pa.table({
            "graph": pa.array([graph.name] * n, pa.string()),
            "node_id": graph.nodes["id"],
            "type": graph.nodes["type"],
            "name": graph.nodes["name"],
            "split": pa.array([split] * n, pa.string()),
            "semantic": pa.FixedSizeListArray.from_arrays(pa.array(semantic.ravel()), d),
            "context": pa.FixedSizeListArray.from_arrays(pa.array(context.ravel()), h),
        })
        con = self._con
        con.execute("begin")
        try:
            con.execute("delete from embeddings where graph = ?", [graph.name])
            con.register("incoming", table)
            con.execute("insert into embeddings select * from incoming")
            con.unregister("incoming")
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
        return n

    def count(self, graph: str | None = None) -> int:
        if self._dims is None:
            return 0
        if graph is None:
            return self._con.execute("select count(*) from embeddings").fetchone()[0]
        return self._con.execute("select count(*) from embeddings where graph = ?",
                                 [graph]).fetchone()[0]

    def graphs(self) -> list[str]:
        if self._dims is None:
            return []
        return [r[0] for r in self._con.execute(
            "select distinct graph from embeddings order by graph").fetchall()]

    def get(self, graph: str, node_ids: list[str] | None = None
            ) -> tuple[list[str], np.ndarray, np.ndarray]:
        """``(node_ids, semantic, context)`` of a stored graph (or of the given nodes)."""
        if self._dims is None:
            return [], np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32)
        q = "select node_id, semantic, context from embeddings where graph = ?"
        params: list = [graph]
        if node_ids is not None:
            q += " and list_contains(?, node_id)"
            params.append(list(node_ids))
        t = self._con.sql(q + " order by node_id", params=params).to_arrow_table()
        d, h = self._dims
        sem = t["semantic"].combine_chunks().flatten().to_numpy().reshape(-1, d)
        ctx = t["context"].combine_chunks().flatten().to_numpy().reshape(-1, h)
        return t["node_id"].to_pylist(), sem, ctx

    def similar(self, vector: np.ndarray, *, k: int = 5, column: str = "semantic",
                type: str | None = None, split: str | None = None) -> pd.DataFrame:
        """The ``k`` stored nodes whose ``column`` vector is most cosine-similar."""
        if self._dims is None:
            return pd.DataFrame(columns=["graph", "node_id", "type", "name", "similarity"])
        if column not in ("semantic", "context"):
            raise SchemaError(f"column must be 'semantic' or 'context'; got {column!r}.")
        dim = self._dims[0 if column == "semantic" else 1]
        vec = [float(v) for v in np.asarray(vector, np.float32).ravel()]
        where, params = [], [vec]
        if type is not None:
            where.append("type = ?")
            params.append(type)
        if split is not None:
            where.append("split = ?")
            params.append(split)
        q = (f"select graph, node_id, type, name, array_cosine_similarity({column}, "
             f"?::float[{dim}]) as similarity from embeddings "
             f"{'where ' + ' and '.join(where) if where else ''} "
             f"order by similarity desc nulls last, graph, node_id limit {int(k)}")
        return self._con.execute(q, params).df()


def _dim(sql_type: str) -> int:
    return int(sql_type[sql_type.index("[") + 1: sql_type.index("]")])
