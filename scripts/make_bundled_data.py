"""Build the bundled dataset excerpts and their data cards from ``../shared/data``.

Run from the repository root::

    python scripts/make_bundled_data.py [--shared PATH] [--seed 2017]

The output under ``src/riskscope/datasets/<name>/`` is a pure function of the shared files,
the seed and the pinned pyarrow version (Parquet bytes carry the writer version), so a
rebuild reproduces the same sha256 sums in the cards.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from riskscope.datasets._loaders import (
    CICIDS2017_IMPROVED_COLUMNS,
    REBUILD,
    parse_german,
    validate_graph,
)
from riskscope.exceptions import InputError
from riskscope.io.shared import shared_data_dir
from riskscope.report import atomic

OUT = Path("src/riskscope/datasets")
BUILT_BY = "scripts/make_bundled_data.py"
DEFAULT_SEED = 2017

#: Hard limits from the packaging budget; the CICIDS target leaves room under its cap.
CICIDS_TARGET_BYTES = 2_500_000
CICIDS_MAX_BYTES = 3_000_000
TOTAL_MAX_BYTES = 4_000_000
#: Classes this small are kept whole: a stratified fraction would leave a handful of rows.
RARE_MAX_ROWS = 100
ZSTD_LEVEL = 19

CICIDS_CITATION = (
    'I. Sharafaldin, A. H. Lashkari, A. A. Ghorbani, "Toward Generating a New Intrusion '
    'Detection Dataset and Intrusion Traffic Characterization", ICISSP 2018; G. Engelen, '
    'V. Rimmer, W. Joosen, "Troubleshooting an Intrusion Detection Dataset: the CICIDS2017 '
    'Case Study", IEEE Security and Privacy Workshops (SPW) 2021.'
)
GERMAN_CITATION = (
    "H. Hofmann, Statlog (German Credit Data), UCI Machine Learning Repository, 1994, "
    "https://doi.org/10.24432/C5NC77."
)
CARBANAK_CITATION = (
    "REAPr provenance labelling project (A. Badia et al.), https://github.com/alexbadia1/CS598, "
    "host h3 of the MITRE Engenuity Carbanak adversary emulation, 2024."
)

#: The operator's log says "UTC" but runs exactly 5 hours behind the telemetry clock
#: (US Central Daylight Time): hostname.exe starts at 00:24:25 UTC for the logged 19:24,
#: java-update.exe is written at 00:48:38 for 19:49, the Run key at 00:50:45 for 19:51,
#: DefenderUpgradeExec.exe starts at 22:34:10 for 17:34.
LOG_TO_TELEMETRY = pd.Timedelta(hours=5)

#: Attack-log windows (log clock) of the Carbanak excerpt; each covers one attack step
#: from its first logged action to a minute after its last, so the step's writes and the
#: benign activity around them are both in the excerpt.
CARBANAK_WINDOWS = (
    {
        "step": "persistence: scp Java-Update.exe, write Java-Update.vbs, add Run key, reboot",
        "log_start": "2024-05-07 19:47:00",
        "log_end": "2024-05-07 19:53:00",
        "anchor": r"c:\users\public\java-update.exe",
    },
    {
        "step": "collection: upload and run the keylogger DefenderUpgradeExec.exe",
        "log_start": "2024-05-08 17:31:00",
        "log_end": "2024-05-08 17:38:00",
        "anchor": r"c:\users\h3_user.pangolin\appdata\local\temp\defenderupgradeexec.exe",
    },
)


def write_bytes(path: Path, data: bytes) -> Path:
    # atomic writes create 0600 temp files; package data must be world-readable once
    # installed.
    atomic.write_bytes(path, data).chmod(0o644)
    return path


def write_text(path: Path, text: str) -> Path:
    atomic.write_text(path, text).chmod(0o644)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def counts(values: pd.Series) -> dict[str, int]:
    # Largest first, ties by name, so cards diff cleanly between rebuilds.
    vc = values.astype(str).value_counts()
    return {k: int(v) for k, v in sorted(vc.items(), key=lambda kv: (-kv[1], kv[0]))}


def write_card(folder: Path, card: dict) -> None:
    write_text(folder / "card.json", json.dumps(card, indent=2, ensure_ascii=False) + "\n")


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd", compression_level=ZSTD_LEVEL)
    return sink.getvalue().to_pybytes()


# --- German credit -------------------------------------------------------------------


def build_german(shared: Path) -> dict:
    src = shared / "credit" / "german" / "german.data"
    folder = OUT / "german_credit"
    dest = write_bytes(folder / "german.data", src.read_bytes())
    df = parse_german(dest.read_text("ascii"), decode=True, where=str(dest), fix=REBUILD)
    card = {
        "name": "german_credit",
        "title": "Statlog German credit (UCI), all 1,000 applicants",
        "description": (
            "1,000 consumer-credit applicants of a German bank with 20 attributes "
            "(13 categorical, 7 numerical) and a good/bad credit-risk class. The loader "
            "names the columns and decodes the A-codes with the UCI attribute description."
        ),
        "source": {
            "shared": "credit/german/german.data",
            "upstream": "https://archive.ics.uci.edu/dataset/144/statlog+german+credit+data",
        },
        "licence": "CC BY 4.0",
        "citation": GERMAN_CITATION,
        "rows": len(df),
        "label_column": "class",
        "label_counts": counts(df["class"]),
        "columns": df.shape[1],
        "files": {"german.data": sha256(dest)},
        "built_by": BUILT_BY,
        "notes": [
            "The file is the unmodified UCI german.data (space separated, class 1 = good, "
            "2 = bad); no rows dropped, no values changed.",
            "UCI recommends a cost matrix: predicting good for a bad applicant costs 5, "
            "the reverse 1.",
            "Purpose code A47 (vacation) is documented but never occurs.",
        ],
    }
    write_card(folder, card)
    return card


# --- CICIDS2017 excerpt --------------------------------------------------------------


def sample_sizes(available: dict[str, int], fraction: float) -> dict[str, int]:
    return {
        label: n if n <= RARE_MAX_ROWS else max(1, round(fraction * n))
        for label, n in available.items()
    }


def sample_cicids(shared: Path, seed: int) -> tuple[bytes, dict]:
    """Return the excerpt's Parquet bytes and how it was sampled."""
    folder = shared / "cicids2017" / "improved_rnd5000"
    files = sorted(folder.glob("*.csv"))
    if len(files) != 16:
        raise InputError(f"Expected 16 CSVs in '{folder}', found {len(files)}; check the folder.")
    # Read with pyarrow's defaults, as riskscope.io.readers.read_table does, so the excerpt
    # has the same types as reading the shared CSVs (Timestamp -> timestamp[ns]).
    table = pa.concat_tables(
        [pacsv.read_csv(f) for f in files], promote_options="permissive"
    ).combine_chunks()
    if tuple(table.column_names) != CICIDS2017_IMPROVED_COLUMNS:
        raise InputError(f"CICIDS2017 CSVs in '{folder}' do not have the 91 expected columns.")

    labels = table.column("Label").to_numpy(zero_copy_only=False)
    order = sorted(set(labels))
    rows_of = {lab: np.flatnonzero(labels == lab) for lab in order}
    rng = np.random.default_rng(seed)
    # One permutation per class drawn up front: a larger fraction keeps every row of a
    # smaller one, so the excerpt's size grows monotonically and bisection is sound.
    perm = {lab: rng.permutation(rows_of[lab]) for lab in order}
    available = {lab: len(rows_of[lab]) for lab in order}

    def excerpt(fraction: float) -> pa.Table:
        sizes = sample_sizes(available, fraction)
        keep = np.sort(np.concatenate([perm[lab][: sizes[lab]] for lab in order]))
        return table.take(pa.array(keep))

    lo, hi, best = 0.0, 1.0, None
    for _ in range(16):
        mid = (lo + hi) / 2
        data = parquet_bytes(excerpt(mid))
        if len(data) <= CICIDS_TARGET_BYTES:
            lo, best = mid, (mid, data)
        else:
            hi = mid
    fraction, data = best
    if len(data) > CICIDS_MAX_BYTES:
        raise InputError(f"CICIDS excerpt is {len(data):,} bytes, over {CICIDS_MAX_BYTES:,}.")
    sizes = sample_sizes(available, fraction)
    sampling = {
        "seed": seed,
        "fraction": round(fraction, 6),
        "rare_max_rows": RARE_MAX_ROWS,
        "kept_of_available": {lab: [sizes[lab], available[lab]] for lab in order},
    }
    return data, sampling


def cicids_quality(df: pd.DataFrame) -> dict:
    """Count what a cleaning step would act on; the excerpt itself stays uncleaned."""
    num = df.select_dtypes("number")
    identifying = {"id", "Flow ID", "Src IP", "Src Port", "Dst IP", "Dst Port", "Timestamp"}
    features = [c for c in df.columns if c not in identifying]
    return {
        "duplicate_rows": int(df.duplicated().sum()),
        "duplicate_rows_ignoring_id": int(df.drop(columns="id").duplicated().sum()),
        "duplicate_feature_rows": int(df[features].duplicated().sum()),
        "repeated_ids": int(df["id"].duplicated().sum()),
        "inf_counts": {c: int(v) for c, v in np.isinf(num).sum().items() if v},
        "nan_counts": {c: int(v) for c, v in df.isna().sum().items() if v},
    }


def build_cicids(shared: Path, seed: int) -> dict:
    data, sampling = sample_cicids(shared, seed)
    dest = write_bytes(OUT / "cicids2017_excerpt" / "flows.parquet", data)
    df = pq.read_table(dest).to_pandas()
    quality = cicids_quality(df)
    fraction = sampling["fraction"]
    card = {
        "name": "cicids2017_excerpt",
        "title": "CICIDS2017 (corrected, Engelen et al.) flow excerpt, all 16 labels",
        "description": (
            "Network flows from the corrected and relabelled CICIDS2017 release (CNS2022), "
            "raw columns and values: every row of the rare classes and a seeded "
            "class-proportional sample of the others."
        ),
        "source": {
            "shared": "cicids2017/improved_rnd5000/*.csv (16 CSVs, 43,419 flows)",
            "upstream": "https://intrusion-detection.distrinet-research.be/CNS2022/Datasets/",
        },
        "licence": "CIC dataset terms: free to use and redistribute with the citations below.",
        "citation": CICIDS_CITATION,
        "rows": len(df),
        "label_column": "Label",
        "label_counts": counts(df["Label"]),
        "columns": df.shape[1],
        "files": {"flows.parquet": sha256(dest)},
        "built_by": BUILT_BY,
        "sampling": sampling,
        "quality": quality,
        "notes": [
            f"Classes with at most {RARE_MAX_ROWS} rows are complete; every other class "
            f"keeps round({fraction:.4f} x its rows), the largest fraction that fits "
            f"{CICIDS_TARGET_BYTES:,} bytes of zstd Parquet.",
            "Rows are in source-file order (grouped by label): shuffle or stratify before "
            "splitting.",
            "Nothing is cleaned. 'id' is a per-day row number upstream, so it repeats across "
            f"days ({quality['repeated_ids']} repeats here); 'Attempted Category' is -1 "
            "throughout (attempted attacks were excluded upstream).",
            f"Found {quality['duplicate_rows']} exact duplicate rows, "
            f"{quality['duplicate_feature_rows']} rows whose flow features (all but id, "
            "Flow ID, IPs, ports and Timestamp) repeat an earlier row, "
            f"{sum(quality['inf_counts'].values())} Inf and "
            f"{sum(quality['nan_counts'].values())} NaN values.",
            "Timestamp is stored as a naive datetime (the CSV's wall-clock text parsed by "
            "pyarrow, microseconds kept).",
        ],
    }
    write_card(OUT / "cicids2017_excerpt", card)
    return card


# --- Carbanak provenance excerpt -----------------------------------------------------


def _us(ts: pd.Timestamp) -> int:
    return int(ts.value // 1_000)


def select_carbanak(shared: Path) -> tuple[pa.Table, pa.Table, pd.DataFrame, list[dict]]:
    """Return the windows' edges, the nodes they touch, their attack-log rows, the windows."""
    folder = shared / "provenance" / "carbanak_h3"
    nodes = pq.read_table(folder / "h3_attack_nodes.parquet").replace_schema_metadata(None)
    edges = pq.read_table(folder / "h3_attack_edges.parquet").replace_schema_metadata(None)
    log = pd.read_csv(folder / "attack_log.csv", dtype=str, keep_default_na=False)

    windows = []
    mask = pa.array(np.zeros(edges.num_rows, dtype=bool))
    etime = edges.column("time")
    for w in CARBANAK_WINDOWS:
        start = pd.Timestamp(w["log_start"], tz="UTC") + LOG_TO_TELEMETRY
        end = pd.Timestamp(w["log_end"], tz="UTC") + LOG_TO_TELEMETRY
        inside = pc.and_(pc.greater_equal(etime, _us(start)), pc.less(etime, _us(end)))
        windows.append(
            {
                "step": w["step"],
                "attack_log_start": w["log_start"],
                "attack_log_end": w["log_end"],
                "telemetry_start_utc": start.isoformat(),
                "telemetry_end_utc": end.isoformat(),
                "start_us": _us(start),
                "end_us": _us(end),
                "edges": int(pc.sum(inside).as_py()),
            }
        )
        mask = pc.or_(mask, inside)
    sub_edges = edges.filter(mask)
    ends = [sub_edges.column(c).combine_chunks() for c in ("src", "dst")]
    ids = pc.unique(pa.concat_arrays(ends))
    sub_nodes = nodes.filter(pc.is_in(nodes.column("id"), value_set=ids))

    # Guard the clock-offset reasoning: each step's file must appear in its own window.
    names = set(sub_nodes.column("name").to_pylist())
    for w in CARBANAK_WINDOWS:
        if w["anchor"] not in names:
            raise InputError(f"Carbanak anchor {w['anchor']!r} is not in its window.")

    log_t = pd.to_datetime(log["Time (UTC)"], format="%Y-%m-%d %H:%M:%S %z", errors="coerce")
    log["telemetry_time_us"] = [_us(t + LOG_TO_TELEMETRY) if pd.notna(t) else -1 for t in log_t]
    t = log["telemetry_time_us"]
    in_window = np.zeros(len(log), dtype=bool)
    for w in windows:
        in_window |= ((t >= w["start_us"]) & (t < w["end_us"])).to_numpy()
    return sub_nodes, sub_edges, log[in_window], windows


def build_carbanak(shared: Path) -> dict:
    sub_nodes, sub_edges, sub_log, windows = select_carbanak(shared)
    out = OUT / "carbanak_excerpt"
    dn = write_bytes(out / "nodes.parquet", parquet_bytes(sub_nodes))
    de = write_bytes(out / "edges.parquet", parquet_bytes(sub_edges))
    dl = write_text(out / "attack_log.csv", sub_log.to_csv(index=False))

    n_df = pq.read_table(dn).to_pandas()
    e_df = pq.read_table(de).to_pandas()
    validate_graph(n_df, e_df, where=str(out), fix=REBUILD)
    card = {
        "name": "carbanak_excerpt",
        "title": "Carbanak host provenance graph (h3), two attack-step windows",
        "description": (
            "Every EDR edge recorded on the CFO workstation h3 in two short windows of the "
            "MITRE Carbanak emulation (persistence via Java-Update Run key; keylogger "
            "DefenderUpgradeExec.exe), the nodes they touch and the matching attack-log rows."
        ),
        "source": {
            "shared": "provenance/carbanak_h3/h3_attack_{nodes,edges}.parquet, attack_log.csv",
            "upstream": "https://github.com/alexbadia1/CS598 (REAPr labelling project); "
            "attack plan: https://github.com/center-for-threat-informed-defense/"
            "adversary_emulation_library/tree/master/carbanak",
        },
        "licence": "No licence stated upstream; redistributed here for research use.",
        "citation": CARBANAK_CITATION,
        "nodes": len(n_df),
        "edges": len(e_df),
        "label_column": "type",
        "label_counts": {"nodes": counts(n_df["type"]), "edges": counts(e_df["type"])},
        "columns": {"nodes": n_df.shape[1], "edges": e_df.shape[1]},
        "files": {
            "nodes.parquet": sha256(dn),
            "edges.parquet": sha256(de),
            "attack_log.csv": sha256(dl),
        },
        "built_by": BUILT_BY,
        "windows": windows,
        "quality": {"duplicate_edges": int(e_df.duplicated().sum())},
        "notes": [
            "Edge and node 'time' are UNIX microseconds (UTC). The attack log's 'Time (UTC)' "
            "is in fact 5 hours behind the telemetry (US Central Daylight Time); "
            "attack_log.csv adds 'telemetry_time_us', the log time on the graph's clock.",
            "There are no per-node labels: label by the windows and by the names the steps "
            "use (java-update.exe/.vbs, the Run key java-update, defenderupgradeexec.exe, "
            "klog2.txt).",
            "Node ids are those of the full graph (shared carbanak_h3), so results map back.",
            f"Edges are as recorded, {int(e_df.duplicated().sum())} exact repeats included; "
            "filemod edges often appear in both directions with the same uuid.",
            "label_column 'type' is the edge type, the label riskscope.io.registry uses "
            "for graphs.",
        ],
    }
    write_card(out, card)
    return card


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", help="shared data folder (default: ../shared/data)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    shared = shared_data_dir(args.shared)
    if shared is None:
        print("error: shared data folder not found; pass --shared PATH", file=sys.stderr)
        return 1
    if not OUT.is_dir():
        print(f"error: run from the repository root ({OUT} not found)", file=sys.stderr)
        return 1
    cards = [build_german(shared), build_cicids(shared, args.seed), build_carbanak(shared)]
    total = 0
    for card in cards:
        for name in card["files"]:
            size = (OUT / card["name"] / name).stat().st_size
            total += size
            print(f"{card['name']}/{name}: {size:,} bytes")
    print(f"total: {total:,} bytes")
    if total >= TOTAL_MAX_BYTES:
        print(f"error: bundled data exceeds {TOTAL_MAX_BYTES:,} bytes", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
