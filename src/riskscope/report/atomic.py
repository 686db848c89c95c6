"""Atomic file writes: temp file in the same folder, fsync, then ``os.replace``.

A reader therefore sees either the old file or the whole new one, never a torn write,
and an interrupted process leaves at most a ``.tmp-*`` file that nothing mistakes for a
finished artifact.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["atomic_path", "write_bytes", "write_parquet", "write_text"]

TMP_PREFIX = ".tmp-"

# mkstemp creates files 0600; published artifacts get the usual 0666 & ~umask instead, so
# reports can be shared or served. Read the umask once, at import, while single-threaded.
_UMASK = os.umask(0)
os.umask(_UMASK)
_FILE_MODE = 0o666 & ~_UMASK


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only on success.

    Use it for writers that want a file name (Parquet, DuckDB, matplotlib, model files).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "a.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (d / "a.txt").read_text()
    'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=TMP_PREFIX + path.name + ".", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write(
    path: str | os.PathLike[str], mode: str, fill: Callable[[IO], None], encoding: str | None = None
) -> Path:
    with atomic_path(path) as tmp, open(tmp, mode, encoding=encoding) as fh:
        fill(fh)
    return Path(path)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    return _write(path, "wb", lambda fh: fh.write(data))


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically and return the path."""
    return _write(path, "w", lambda fh: fh.write(text), encoding="utf-8")


def write_parquet(df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``df`` to ``path`` as Parquet (zstd, no index) atomically and return the path.

    Dictionary encoding is used for non-float columns only: on millions of measured
    floats (flow features) pyarrow tries a dictionary, fills its page limit and falls
    back, which costs ~40 % of the write time for ~10 % of size.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.parquet"
    >>> _ = write_parquet(pd.DataFrame({"x": [0.5, 1.5], "label": ["a", "b"]}), p)
    >>> pd.read_parquet(p)["label"].tolist()
    ['a', 'b']
    """
    import pandas as pd  # lazily: light callers of this module never need pandas

    dictionary = [str(c) for c in df.columns if not pd.api.types.is_float_dtype(df[c])]
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, compression="zstd", index=False, use_dictionary=dictionary)
    return Path(path)
