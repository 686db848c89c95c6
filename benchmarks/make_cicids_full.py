"""Build the bootstrap-expanded real sample of CICIDS2017 at full size for scale benchmarks.

The full CICIDS2017 release (2,830,743 flows) cannot be obtained here, so this script
expands the real rows of the corrected sample (``../shared/data/cicids2017/
improved_rnd5000``, Engelen et al.) to the original release's class mix and writes them in
the original MachineLearningCVE layout, one file per capture day-part as published:

* every real row of a class appears once (classes with fewer target rows than real rows
  get a seeded sample without replacement, unchanged);
* the remaining rows are drawn with replacement; most get small multiplicative noise
  (Gaussian, sd ``--noise``, integer counters rounded back to integers; ports, flags and
  window sizes untouched) and ``--exact-share`` of them are exact copies, which keeps the
  duplicate share near the real release's 10.9 %;
* corrected labels are mapped to the original class names, web attacks with the damaged
  dash (U+FFFD) the published files show; "Infiltration - Portscan" has no counterpart in
  the original mix and is not used;
* ``Flow Bytes/s`` / ``Flow Packets/s`` get ``NaN`` / ``Infinity`` at the original
  release's counts (1,358 NaN and 1,509 Infinity; 2,867 Infinity), scaled;
* CSV: 79 columns, header with leading spaces and ``Fwd Header Length`` twice; Parquet:
  the same table with the second copy named ``" Fwd Header Length.1"`` (what pandas gives
  when it reads the CSV).

Say "bootstrap-expanded real sample" wherever figures measured on this data are reported.

Usage::

    python benchmarks/make_cicids_full.py --out /tmp/riskscope-bench [--seed 42] [--scale 1]

Writes ``OUT/csv/*.csv``, ``OUT/parquet/*.parquet`` and ``OUT/manifest.json`` (class
counts per file, duplicate share, seed, source). Same seed and scale, same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

from riskscope.io._flow_schema import (
    FEATURE_ALIASES,
    IMPROVED_HEADER,
    MACHINE_LEARNING_CVE_HEADER,
    name_key,
)
from riskscope.io.shared import shared_data_dir

#: Original CICIDS2017 class mix (MachineLearningCVE, 2,830,743 flows).
CLASS_MIX: dict[str, int] = {
    "BENIGN": 2_273_097,
    "DoS Hulk": 231_073,
    "PortScan": 158_930,
    "DDoS": 128_027,
    "DoS GoldenEye": 10_293,
    "FTP-Patator": 7_938,
    "SSH-Patator": 5_897,
    "DoS slowloris": 5_796,
    "DoS Slowhttptest": 5_499,
    "Bot": 1_966,
    "Web Attack \ufffd Brute Force": 1_507,
    "Web Attack \ufffd XSS": 652,
    "Infiltration": 36,
    "Web Attack \ufffd Sql Injection": 21,
    "Heartbleed": 11,
}

#: Corrected-release label -> original class name.
SOURCE_LABEL: dict[str, str] = {
    "BENIGN": "BENIGN",
    "DoS Hulk": "DoS Hulk",
    "Portscan": "PortScan",
    "DDoS": "DDoS",
    "DoS GoldenEye": "DoS GoldenEye",
    "FTP-Patator": "FTP-Patator",
    "SSH-Patator": "SSH-Patator",
    "DoS Slowloris": "DoS slowloris",
    "DoS Slowhttptest": "DoS Slowhttptest",
    "Botnet": "Bot",
    "Web Attack - Brute Force": "Web Attack \ufffd Brute Force",
    "Web Attack - XSS": "Web Attack \ufffd XSS",
    "Infiltration": "Infiltration",
    "Web Attack - SQL Injection": "Web Attack \ufffd Sql Injection",
    "Heartbleed": "Heartbleed",
}

#: The published day files: BENIGN rows in each and the attacks recorded that day-part.
DAY_FILES: dict[str, tuple[int, tuple[str, ...]]] = {
    "Monday-WorkingHours.pcap_ISCX": (529_918, ()),
    "Tuesday-WorkingHours.pcap_ISCX": (432_074, ("FTP-Patator", "SSH-Patator")),
    "Wednesday-workingHours.pcap_ISCX": (
        440_031,
        ("DoS Hulk", "DoS GoldenEye", "DoS slowloris", "DoS Slowhttptest", "Heartbleed"),
    ),
    "Thursday-WorkingHours-Morning-WebAttacks.pcap_ISCX": (
        168_186,
        (
            "Web Attack \ufffd Brute Force",
            "Web Attack \ufffd XSS",
            "Web Attack \ufffd Sql Injection",
        ),
    ),
    "Thursday-WorkingHours-Afternoon-Infilteration.pcap_ISCX": (288_566, ("Infiltration",)),
    "Friday-WorkingHours-Morning.pcap_ISCX": (189_067, ("Bot",)),
    "Friday-WorkingHours-Afternoon-PortScan.pcap_ISCX": (127_537, ("PortScan",)),
    "Friday-WorkingHours-Afternoon-DDos.pcap_ISCX": (97_718, ("DDoS",)),
}

# Original release: Flow Bytes/s has 1,358 NaN and 1,509 Infinity; Flow Packets/s has
# Infinity in all 2,867 of those rows (zero-duration flows).
N_NAN_BYTES, N_INF_BYTES = 1_358, 1_509

# Columns whose values are identifiers or small codes: noise would make them unrealistic.
NOT_NOISED = {
    "Destination Port", "Init_Win_bytes_forward", "Init_Win_bytes_backward",
    "min_seg_size_forward", "Fwd PSH Flags", "Bwd PSH Flags", "Fwd URG Flags",
    "Bwd URG Flags", "FIN Flag Count", "SYN Flag Count", "RST Flag Count", "PSH Flag Count",
    "ACK Flag Count", "URG Flag Count", "CWE Flag Count", "ECE Flag Count",
}  # fmt: skip

#: Stripped MachineLearningCVE names without the label and the repeated column.
COLUMNS: list[str] = list(dict.fromkeys(c.strip() for c in MACHINE_LEARNING_CVE_HEADER[:-1]))
FWD_HEADER = "Fwd Header Length"


def load_source(folder: Path) -> tuple[dict[str, np.ndarray], list[bool]]:
    """Real rows per original class name, columns in :data:`COLUMNS` order."""
    files = sorted(folder.glob("*.csv"))
    if not files:
        sys.exit(f"error: no CSV files in {folder}; pass --source")
    frame = pl.concat([pl.read_csv(f, infer_schema_length=None) for f in files], how="vertical")
    if tuple(frame.columns) != IMPROVED_HEADER:
        sys.exit(f"error: {folder} is not in the corrected CICIDS2017 layout")
    to_canonical = {
        name_key(alias): canon for canon, aliases in FEATURE_ALIASES.items() for alias in aliases
    }
    rename = {c: to_canonical.get(name_key(c), c) for c in frame.columns}
    rename["Dst Port"] = "Destination Port"
    frame = frame.rename(rename)
    data = frame.select([pl.col(c).cast(pl.Float64) for c in COLUMNS]).to_numpy()
    integral = [bool(np.all(np.isfinite(col) & (col == np.round(col)))) for col in data.T]
    labels = frame["Label"].to_numpy()
    out: dict[str, np.ndarray] = {}
    for src, name in SOURCE_LABEL.items():
        rows = data[labels == src]
        if len(rows) == 0:
            sys.exit(f"error: the source has no rows labelled {src!r}")
        out[name] = rows
    return out, integral


def expand(
    rows: np.ndarray,
    n: int,
    *,
    first: bool,
    rng: np.random.Generator,
    noise: float,
    exact_share: float,
    noised_cols: np.ndarray,
    integral: np.ndarray,
) -> np.ndarray:
    """``n`` rows of one class: the real rows once (if ``first``), then noisy bootstrap."""
    n_real = len(rows)
    if first and n <= n_real:
        return rows[np.sort(rng.choice(n_real, size=n, replace=False))]
    base = np.arange(n_real) if first else np.empty(0, dtype=np.int64)
    extra = rng.integers(n_real, size=n - len(base))
    out = rows[np.concatenate([base, extra])].copy()
    noisy = np.flatnonzero(rng.random(len(extra)) >= exact_share) + len(base)
    block = out[np.ix_(noisy, noised_cols)]
    block *= 1.0 + rng.normal(0.0, noise, size=block.shape)
    out[np.ix_(noisy, noised_cols)] = block
    out[:, integral] = np.rint(out[:, integral])
    out[:, ~integral] = np.round(out[:, ~integral], 4)
    return out


def build_day(
    stem: str,
    counts: dict[str, int],
    source: dict[str, np.ndarray],
    used: set[str],
    n_bad: tuple[int, int],
    rng: np.random.Generator,
    args: argparse.Namespace,
    integral: np.ndarray,
) -> pl.DataFrame:
    noised_cols = np.array([i for i, c in enumerate(COLUMNS) if c not in NOT_NOISED])
    parts, labels = [], []
    for label, n in counts.items():
        block = expand(
            source[label], n, first=label not in used, rng=rng, noise=args.noise,
            exact_share=args.exact_share, noised_cols=noised_cols, integral=integral,
        )  # fmt: skip
        used.add(label)
        parts.append(block)
        labels.append(np.full(n, label, dtype=object))
    data = np.concatenate(parts)
    label = np.concatenate(labels)
    order = rng.permutation(len(data))
    data, label = data[order], label[order]
    n_nan, n_inf = n_bad
    bad = rng.choice(len(data), size=min(len(data), n_nan + n_inf), replace=False)
    bytes_col, packets_col = COLUMNS.index("Flow Bytes/s"), COLUMNS.index("Flow Packets/s")
    data[bad[:n_nan], bytes_col] = np.nan
    data[bad[n_nan:], bytes_col] = np.inf
    data[bad, packets_col] = np.inf
    columns = {}
    for j, name in enumerate(COLUMNS):
        col = data[:, j]
        columns[name] = col.astype(np.int64) if integral[j] else col
    frame = pl.DataFrame(columns)
    return frame.with_columns(pl.Series("Label", label, dtype=pl.String))


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    # The published files spell the bad values "NaN" and "Infinity", and repeat the
    # Fwd Header Length column; polars cannot hold two equal names, so the header is ours.
    def spelled(name: str) -> pl.Expr:
        col = pl.col(name)
        return (
            pl.when(col.is_nan())
            .then(pl.lit("NaN"))
            .when(col.is_infinite())
            .then(pl.when(col > 0).then(pl.lit("Infinity")).otherwise(pl.lit("-Infinity")))
            .otherwise(col.cast(pl.String))
            .alias(name)
        )

    out = frame.with_columns(spelled("Flow Bytes/s"), spelled("Flow Packets/s"))
    out = out.with_columns(pl.col(FWD_HEADER).alias("__fwd_header_2"))
    order = [c.strip() if c.strip() != FWD_HEADER else FWD_HEADER for c in
             MACHINE_LEARNING_CVE_HEADER]  # fmt: skip
    second = [i for i, c in enumerate(order) if c == FWD_HEADER][1]
    order[second] = "__fwd_header_2"
    with path.open("wb") as fh:
        fh.write((",".join(MACHINE_LEARNING_CVE_HEADER) + "\n").encode("utf-8"))
        out.select(order).write_csv(fh, include_header=False)


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    names, seen = [], set()
    for raw in MACHINE_LEARNING_CVE_HEADER:
        names.append(raw + ".1" if raw.strip() in seen else raw)
        seen.add(raw.strip())
    cols = [c.strip() for c in MACHINE_LEARNING_CVE_HEADER]
    exprs = [pl.col(c).alias(n) for c, n in zip(cols, names, strict=True)]
    frame.select(exprs).write_parquet(path, compression="zstd", statistics=False)


def scaled(n: int, scale: float) -> int:
    return max(1, round(n * scale))


def day_counts(scale: float) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for stem, (benign, attacks) in DAY_FILES.items():
        out[stem] = {"BENIGN": scaled(benign, scale)}
        for a in attacks:
            out[stem][a] = scaled(CLASS_MIX[a], scale)
    return out


def duplicate_share(files: list[Path]) -> tuple[int, int]:
    frame = pl.scan_parquet(files).collect()
    return frame.height, frame.height - frame.n_unique()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/riskscope-bench"))
    ap.add_argument("--source", type=Path, default=None, help="improved_rnd5000 folder")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the full size")
    ap.add_argument("--noise", type=float, default=0.01, help="sd of the multiplicative noise")
    ap.add_argument("--exact-share", type=float, default=0.10,
                    help="share of bootstrapped rows copied without noise")  # fmt: skip
    ap.add_argument("--formats", default="csv,parquet")
    args = ap.parse_args(argv)
    source_dir = args.source
    if source_dir is None:
        shared = shared_data_dir()
        if shared is None:
            sys.exit("error: ../shared/data not found; pass --source")
        source_dir = shared / "cicids2017" / "improved_rnd5000"
    formats = {f.strip() for f in args.formats.split(",") if f.strip()}
    t0 = time.perf_counter()
    source, integral_list = load_source(source_dir)
    integral = np.array(integral_list)
    counts = day_counts(args.scale)
    total = sum(sum(c.values()) for c in counts.values())
    n_nan, n_inf = scaled(N_NAN_BYTES, args.scale), scaled(N_INF_BYTES, args.scale)
    (args.out / "csv").mkdir(parents=True, exist_ok=True)
    (args.out / "parquet").mkdir(parents=True, exist_ok=True)
    seeds = np.random.SeedSequence(args.seed).spawn(len(counts))
    used: set[str] = set()
    parquet_files: list[Path] = []
    for (stem, file_counts), seed in zip(counts.items(), seeds, strict=True):
        rows = sum(file_counts.values())
        # NaN/Infinity rows spread over the files in proportion to their size.
        bad = (round(n_nan * rows / total), round(n_inf * rows / total))
        frame = build_day(
            stem, file_counts, source, used, bad, np.random.default_rng(seed), args, integral
        )
        if "csv" in formats:
            write_csv(frame, args.out / "csv" / f"{stem}.csv")
        pq_path = args.out / "parquet" / f"{stem}.parquet"
        write_parquet(frame, pq_path)
        parquet_files.append(pq_path)
        print(f"{stem}: {rows:,} rows", flush=True)
    n_rows, n_dup = duplicate_share(parquet_files)
    if "parquet" not in formats:
        for p in parquet_files:
            p.unlink()
    manifest = {
        "what": "bootstrap-expanded real sample of CICIDS2017 (MachineLearningCVE layout)",
        "source": str(source_dir),
        "seed": args.seed,
        "scale": args.scale,
        "noise_sd": args.noise,
        "exact_share": args.exact_share,
        "rows": n_rows,
        "duplicate_rows": n_dup,
        "duplicate_share": round(n_dup / n_rows, 4),
        "files": counts,
        "formats": sorted(formats),
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    print(
        f"wrote {n_rows:,} rows ({n_dup:,} duplicates, {n_dup / n_rows:.1%}) to {args.out} "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
