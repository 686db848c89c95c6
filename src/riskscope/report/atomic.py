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

__all__ = ["FRAME_SUFFIXES", "atomic_path", "frame_format", "write_bytes", "write_frame",
           "write_parquet", "write_text"]

TMP_PREFIX = ".tmp-"
#: File endings :func:`write_frame` understands.
FRAME_SUFFIXES = (".parquet", ".csv", ".csv.gz")

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


def frame_format(path: str | os.PathLike[str], *, option: str = "--out") -> str:
    """The ending of ``path`` among :data:`FRAME_SUFFIXES`, or a one-line ParameterError.

    ``option`` names the setting the path came from, for the error message.
    """
    from riskscope.exceptions import ParameterError

    path = Path(path)
    suffix = next((x for x in FRAME_SUFFIXES if path.name.lower().endswith(x)), None)
    if suffix is None:
        raise ParameterError(f"{option} '{path}' must end in .parquet, .csv or .csv.gz; got "
                             f"'{path.suffix}'.")
    return suffix


def write_frame(df: pd.DataFrame, path: str | os.PathLike[str], *, option: str = "--out") -> Path:
    """Write ``df`` atomically as Parquet, CSV or gzipped CSV, chosen by the file ending.

    ``option`` names the setting the path came from, for the error message.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "scores.csv"
    >>> _ = write_frame(pd.DataFrame({"score": [612.5]}), p)
    >>> p.read_text().splitlines()
    ['score', '612.5']
    """
    path = Path(path)
    suffix = frame_format(path, option=option)
    if suffix == ".parquet":
        return write_parquet(df, path)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, compression="gzip" if suffix == ".csv.gz" else None)
    return path
