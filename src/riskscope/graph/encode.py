"""Semantic node encoder: Word2Vec over a node's attributes and its time-ordered events,
with a rotary positional encoding of the order.

Each node becomes a sentence: the tokens of its name and command line, then one token
per event it takes part in, in time order (``>write`` when the node acts, ``<write``
when it is acted on), at most ``max_events`` of them. Word2Vec (gensim, skip-gram) learns
token vectors from the training graphs' sentences; a node's vector is the mean of its
tokens' vectors, each rotated by its position in the sentence (:func:`~riskscope.graph.rope.rope`),
so "read then write" and "write then read" give different vectors.

The node's own type is never a token: it is what the detector predicts.

Reproducibility: gensim seeds its vectors from Python's ``hash`` of each word, which
changes with ``PYTHONHASHSEED``; we pass a stable hash (CRC-32) and train on one worker
thread, so the same seed gives the same vectors in every process.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from riskscope.exceptions import NotFittedError, ParameterError
from riskscope.graph.rope import rope
from riskscope.graph.schema import ProvenanceGraph
from riskscope.models._base import check_params

__all__ = ["SemanticEncoder", "argument_tokens", "name_tokens"]

_TOKEN = re.compile(r"[^\\/\s.:=,;\"'()\[\]{}@|<>&*?!$`]+")
_LONG_DIGITS = re.compile(r"\d{4,}")
_MAX_NAME_TOKENS = 16


def name_tokens(name: str | None, cmdline: str | None = None, max_cmd_tokens: int = 8
                ) -> list[str]:
    """Lower-case tokens of a node's name and of the first ``max_cmd_tokens``
    whitespace-separated words of its command line.

    Runs of four or more digits (pids, timestamps, random suffixes) become ``#`` so that
    execution-specific numbers do not make every node unique; short numbers such as
    ports and IP octets stay.

    Examples
    --------
    >>> name_tokens("/proc/48211/status")
    ['proc', '#', 'status']
    >>> name_tokens("/usr/bin/curl", "curl -s http://127.0.0.1:8080/x.sh")
    ['usr', 'bin', 'curl', 'curl', '-s', 'http', '127', '0', '0', '1', '#', 'x', 'sh']
    """
    # one substitution per string, not per token: this runs for every node at detection
    out = _TOKEN.findall(_LONG_DIGITS.sub("#", (name or "").lower()))
    out = out[-_MAX_NAME_TOKENS:]
    if cmdline and max_cmd_tokens:
        words = cmdline.lower().split(maxsplit=max_cmd_tokens)[:max_cmd_tokens]
        out += _TOKEN.findall(_LONG_DIGITS.sub("#", " ".join(words)))
    return out


def argument_tokens(cmdline: str | None, max_cmd_tokens: int = 8) -> list[str]:
    r"""Tokens of a command line's arguments: the words after the executable (a quoted
    executable path may hold spaces), up to word ``max_cmd_tokens`` of the command line,
    paths left out, tokenised as :func:`name_tokens` does.

    Paths (words with ``/`` or ``\``) are the data a command works on, with fresh
    names in every run; options and inline values say how it was invoked. On the
    recorded suite, counting paths made benign ``cat``/``grep`` runs over randomly named
    files alert; without them the benign validation graphs raised no argument alert.

    Examples
    --------
    >>> argument_tokens(r'"C:\Program Files\x.exe" -w hidden -enc SQBmACgA')
    ['-w', 'hidden', '-enc', 'sqbmacga']
    >>> argument_tokens("tar czf /tmp/out.tgz src")
    ['czf', 'src']
    """
    text = (cmdline or "").strip()
    if text.startswith('"'):
        end = text.find('"', 1)
        text = text[end + 1:] if end > 0 else ""
        words = text.lower().split(maxsplit=max_cmd_tokens - 1)[:max_cmd_tokens - 1]
    else:
        words = text.lower().split(maxsplit=max_cmd_tokens)[1:max_cmd_tokens]
    # paths are the data a command works on (random names in every run), not how it
    # was invoked: only options and inline values count
    words = [w for w in words if "/" not in w and "\\" not in w]
    return _TOKEN.findall(_LONG_DIGITS.sub("#", " ".join(words)))


def _stable_hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


class SemanticEncoder:
    """Word2Vec + rotary positional encoding of each node's attributes and events.

    Parameters
    ----------
    vector_size : int
        Length of the token and node vectors (even: RoPE rotates pairs).
    window, epochs, min_count : int
        Word2Vec's context window, passes and minimum token count.
    max_events : int
        Events per node kept in its sentence (the earliest ones).
    max_cmd_tokens : int
        Command-line words (whitespace-separated) kept.
    seed : int
        Word2Vec seed.

    Attributes
    ----------
    vocab_ : dict of str to int
        Token -> row of ``vectors_``.
    vectors_ : ndarray of shape (n_tokens, vector_size)

    Examples
    --------
    >>> from riskscope.graph.schema import GraphBuilder
    >>> b = GraphBuilder()
    >>> p = b.node("p", "process", "/bin/cat"); f = b.node("f", "file", "/etc/hosts")
    >>> b.edge(p, f, "read", 1)
    >>> enc = SemanticEncoder(vector_size=8, epochs=2).fit([b.build()])
    >>> enc.transform(b.build()).shape
    (2, 8)
    """

    _rules = {
        "vector_size": ("int", 2, 4096),
        "window": ("int", 1, None),
        "epochs": ("int", 1, None),
        "min_count": ("int", 1, None),
        "max_events": ("int", 0, None),
        "max_cmd_tokens": ("int", 0, None),
        "seed": ("int", 0, None),
    }

    def __init__(self, *, vector_size: int = 32, window: int = 5, epochs: int = 10,
                 min_count: int = 1, max_events: int = 32, max_cmd_tokens: int = 8,
                 seed: int = 0) -> None:
        self.vector_size = vector_size
        self.window = window
        self.epochs = epochs
        self.min_count = min_count
        self.max_events = max_events
        self.max_cmd_tokens = max_cmd_tokens
        self.seed = seed

    # --- sentences ---------------------------------------------------------------------
    def _attr_tokens(self, graph: ProvenanceGraph) -> list[list[str]]:
        names = graph.nodes["name"].to_pylist()
        cmds = (graph.nodes["cmdline"].to_pylist() if "cmdline" in graph.nodes.column_names
                else [None] * graph.n_nodes)
        cache: dict[tuple, list[str]] = {}
        out = []
        for key in zip(names, cmds, strict=True):
            toks = cache.get(key)
            if toks is None:
                toks = cache[key] = name_tokens(key[0], key[1], self.max_cmd_tokens)
            out.append(toks)
        return out

    def _events(self, graph: ProvenanceGraph
                ) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
        """(node, token code, token names, rank) of each node's first ``max_events``
        events, sorted by node and time."""
        if graph.n_edges == 0 or self.max_events == 0:
            empty = np.zeros(0, np.int64)
            return empty, empty, [], empty
        import pyarrow.compute as pc

        enc = pc.dictionary_encode(graph.edges["type"]).combine_chunks()
        kinds = enc.dictionary.to_pylist()
        code = enc.indices.to_numpy().astype(np.int64)
        src = graph.edges["src"].to_numpy().astype(np.int64)
        dst = graph.edges["dst"].to_numpy().astype(np.int64)
        ts = graph.edges["ts"].to_numpy()
        row = np.arange(graph.n_edges)
        node = np.r_[src, dst]
        tok = np.r_[2 * code, 2 * code + 1]  # even: the node acts (>), odd: acted on (<)
        order = np.lexsort((np.r_[row, row], np.r_[ts, ts], node))
        node, tok = node[order], tok[order]
        starts = np.r_[0, np.flatnonzero(node[1:] != node[:-1]) + 1]
        rank = np.arange(len(node)) - np.repeat(starts, np.diff(np.r_[starts, len(node)]))
        keep = rank < self.max_events
        names = [p + k for k in kinds for p in (">", "<")]
        return node[keep], tok[keep], names, rank[keep]

    def sentences(self, graph: ProvenanceGraph) -> list[list[str]]:
        """Each node's sentence (attribute tokens, then event tokens in time order)."""
        out = [list(a) for a in self._attr_tokens(graph)]  # copies: the cache shares lists
        node, tok, names, _ = self._events(graph)
        for i, t in zip(node.tolist(), tok.tolist(), strict=True):
            out[i].append(names[t])
        return out

    # --- fit / transform -----------------------------------------------------------------
    def fit(self, graphs: Sequence[ProvenanceGraph], y=None) -> SemanticEncoder:
        """Train Word2Vec on the sentences of ``graphs`` (benign training graphs)."""
        check_params(self, self._rules)
        if self.vector_size % 2:
            raise ParameterError(f"`vector_size` of SemanticEncoder must be even (RoPE "
                                 f"rotates pairs); got {self.vector_size}.")
        from gensim.models import Word2Vec

        corpus = [s for g in graphs for s in self.sentences(g) if s]
        if not corpus:
            raise ParameterError("SemanticEncoder.fit needs at least one node with a name "
                                 "or an event; the training graphs are empty.")
        w2v = Word2Vec(corpus, vector_size=self.vector_size, window=self.window,
                       min_count=self.min_count, sg=1, workers=1, seed=self.seed,
                       epochs=self.epochs, hashfxn=_stable_hash, sorted_vocab=1)
        self.vocab_ = {w: i for i, w in enumerate(w2v.wv.index_to_key)}
        self.vectors_ = np.asarray(w2v.wv.vectors, dtype=np.float32)
        return self

    def transform(self, graph: ProvenanceGraph) -> np.ndarray:
        """Node vectors, ``(n_nodes, vector_size)`` float32; unknown tokens are skipped
        and a node with no known token gets the zero vector.

        Shapes:
            output: (graph.n_nodes, vector_size)
        """
        if not hasattr(self, "vectors_"):
            raise NotFittedError("SemanticEncoder is not fitted; call fit(graphs) first.")
        n = graph.n_nodes
        vocab = self.vocab_
        # attribute tokens: positions 0..a-1 of each node's sentence
        attrs = self._attr_tokens(graph)
        n_attr = np.fromiter(map(len, attrs), np.int64, count=n)
        flat = np.fromiter((vocab.get(t, -1) for toks in attrs for t in toks), np.int64,
                           count=int(n_attr.sum()))
        node = np.repeat(np.arange(n), n_attr)
        pos = np.arange(len(flat)) - np.repeat(np.cumsum(n_attr) - n_attr, n_attr)
        ok = flat >= 0
        out = np.zeros((n, self.vector_size), np.float32)
        # both token lists are grouped by node already: sum each, no sort needed
        _grouped_add(out, node[ok], rope(self.vectors_[flat[ok]], pos[ok]))
        e_node, e_code, names, rank = self._events(graph)
        if len(e_node):
            lut = np.array([vocab.get(w, -1) for w in names], np.int64)
            e_tok = lut[e_code]
            ok2 = e_tok >= 0
            e_node = e_node[ok2]
            _grouped_add(out, e_node, rope(self.vectors_[e_tok[ok2]],
                                           n_attr[e_node] + rank[ok2]))
        else:
            e_node = np.zeros(0, np.int64)
        counts = np.bincount(node[ok], minlength=n) + np.bincount(e_node, minlength=n)
        out /= np.maximum(counts, 1).astype(np.float32)[:, None]
        return out

    def unseen_arguments(self, graph: ProvenanceGraph) -> np.ndarray:
        """Share of each node's command-line argument tokens (:func:`argument_tokens`)
        that no training sentence held; NaN for a node without arguments.

        Word2Vec skips unknown tokens, so a known program run with arguments it never had
        in training (an encoded PowerShell command, a new C2 address) would otherwise look
        like any run of that program.
        """
        if not hasattr(self, "vocab_"):
            raise NotFittedError("SemanticEncoder is not fitted; call fit(graphs) first.")
        out = np.full(graph.n_nodes, np.nan)
        if "cmdline" not in graph.nodes.column_names:
            return out
        cache: dict[str, float] = {}
        for i, cmd in enumerate(graph.nodes["cmdline"].to_pylist()):
            if not cmd:
                continue
            share = cache.get(cmd)
            if share is None:
                toks = argument_tokens(cmd, self.max_cmd_tokens)
                share = cache[cmd] = (sum(t not in self.vocab_ for t in toks) / len(toks)
                                      if toks else np.nan)
            out[i] = share
        return out

    # --- persistence ---------------------------------------------------------------------
    def save(self, folder: str | Path) -> None:
        """``semantic.json`` (parameters, vocabulary) and ``semantic.npy`` (vectors)."""
        from riskscope.report.atomic import atomic_path, write_text

        folder = Path(folder)
        with atomic_path(folder / "semantic.npy") as tmp, open(tmp, "wb") as fh:
            np.save(fh, self.vectors_, allow_pickle=False)
        params = {k: getattr(self, k) for k in self._rules}
        write_text(folder / "semantic.json",
                   json.dumps({"params": params, "vocab": list(self.vocab_)}))

    @classmethod
    def load(cls, folder: str | Path) -> SemanticEncoder:
        folder = Path(folder)
        info = json.loads((folder / "semantic.json").read_text())
        enc = cls(**info["params"])
        enc.vocab_ = {w: i for i, w in enumerate(info["vocab"])}
        enc.vectors_ = np.load(folder / "semantic.npy", allow_pickle=False)
        return enc


def _grouped_add(out: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """``out[rows] += values`` for ``rows`` sorted (grouped), as a sparse product: a CSR
    matrix of ones over the runs of equal rows times ``values`` (1.1M x 32: 0.03 s,
    against 0.45 s for ``np.add.reduceat`` and 0.40 s for ``np.add.at``)."""
    if len(rows) == 0:
        return
    import scipy.sparse as sp

    n = out.shape[0]
    indptr = np.searchsorted(rows, np.arange(n + 1))
    ones = sp.csr_matrix((np.ones(len(rows), values.dtype), np.arange(len(rows)), indptr),
                         shape=(n, len(rows)))
    out += ones @ values
