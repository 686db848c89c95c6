"""Rebuild the flow fixtures in this folder from ../shared/data/cicids2017 (see README.md).

Run from the repository root: ``python tests/data/flows/make_flow_fixtures.py``. Rows are
copied as text, byte for byte, so the fixtures keep the originals' quirks.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (file, 0-based data row) of the MachineLearningCVE rows: the first ten BENIGN rows of
# f1 (rows 6 and 8 differ only in the destination port) and its Infinity row; NaN,
# Infinity and duplicate rows of tu1; two identical triples of m1; the seven web
# attacks of th1.
ORIGINAL_ROWS = (
    [("f1.csv", i) for i in range(10)] + [("f1.csv", 65)]
    + [("tu1.csv", i) for i in (90, 127, 167, 172, 894, 895)]
    + [("m1.csv", i) for i in (1, 2, 3, 5, 6, 7)]
    + [("th1.csv", i) for i in range(999, 1006)]
)  # fmt: skip

# Corrected release: one or two rows of every class file, an exact BENIGN triple and an
# exact Portscan triple (2 duplicates each), and one conflicting pair (the same features
# labelled "Portscan" and "Infiltration - Portscan").
IMPROVED_ROWS = (
    [(f, 0) for f in (
        "BENIGN_5000.csv", "Botnet_736.csv", "DDoS_5000.csv", "DoS_GoldenEye_5000.csv",
        "DoS_Hulk_5000.csv", "DoS_Slowhttptest_1740.csv", "DoS_Slowloris_3859.csv",
        "FTP-Patator_3972.csv", "Heartbleed_11.csv", "Infiltration_36.csv",
        "SSH-Patator_2961.csv", "Web_Attack_-_Brute_Force_73.csv",
        "Web_Attack_-_SQL_Injection_13.csv", "Web_Attack_-_XSS_18.csv",
    )]
    + [("DDoS_5000.csv", 1), ("DoS_Hulk_5000.csv", 1), ("Web_Attack_-_Brute_Force_73.csv", 1)]
    + [("BENIGN_5000.csv", i) for i in (1416, 1420, 1893)]
    + [("Portscan_5000.csv", i) for i in (1492, 2329, 4977)]
)  # fmt: skip

# TrafficLabelling: the published 85-column header (CICFlowMeter's "Flow ID, Source IP,
# Source Port, Destination IP, Destination Port, Protocol, Timestamp, ..." written with
# ", " separators) over real MachineLearningCVE feature values, with made-up but
# plausible identifiers and times. Labels are cp1252 bytes, as in the published files.
TRAFFIC_ROWS = [("f1.csv", i) for i in range(8)] + [("th1.csv", i) for i in range(999, 1004)]


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def main() -> int:
    root = HERE.parents[2].parent / "shared" / "data" / "cicids2017"
    if not root.is_dir():
        sys.exit(f"error: {root} not found")
    cache: dict[Path, list[bytes]] = {}

    def row(folder: str, name: str, i: int) -> bytes:
        p = root / folder / name
        cache.setdefault(p, lines(p))
        return cache[p][i + 1]

    header = lines(root / "original_format" / "f1.csv")[0]
    out = [header] + [row("original_format", f, i) for f, i in ORIGINAL_ROWS]
    (HERE / "machine_learning_cve.csv").write_bytes(b"\n".join(out) + b"\n")

    header = lines(root / "improved_rnd5000" / "BENIGN_5000.csv")[0]
    conflict = [
        row("improved_rnd5000", "Portscan_5000.csv", _conflict_row(root, "Portscan")),
        row("improved_rnd5000", "Infiltration_-_Portscan_5000.csv",
            _conflict_row(root, "Infiltration - Portscan")),
    ]  # fmt: skip
    body = [row("improved_rnd5000", f, i) for f, i in IMPROVED_ROWS] + conflict
    (HERE / "cicids2017_improved.csv").write_bytes(b"\n".join([header, *body]) + b"\n")

    ml_header = lines(root / "original_format" / "f1.csv")[0].split(b",")
    tl_header = [b"Flow ID", b" Source IP", b" Source Port", b" Destination IP",
                 b" Destination Port", b" Protocol", b" Timestamp", *ml_header[1:]]  # fmt: skip
    times = [b"5/7/2017 8:55", b"5/7/2017 8:56", b"05/07/2017 09:02:11", b"5/7/2017 11:59",
             b"5/7/2017 12:30", b"5/7/2017 1:12", b"5/7/2017 3:47", b"5/7/2017 5:02",
             b"6/7/2017 9:20", b"6/7/2017 9:21", b"6/7/2017 9:47", b"6/7/2017 10:05",
             b"6/7/2017 10:12"]  # fmt: skip
    body = []
    for k, (f, i) in enumerate(TRAFFIC_ROWS):
        fields = row("original_format", f, i).split(b",")
        dport = fields[0]
        proto = b"17" if dport in (b"53", b"123", b"137") else b"6"
        src, sport = b"192.168.10.%d" % (5 + k % 12), b"%d" % (49152 + 37 * k)
        dst = b"192.168.10.50" if f == "th1.csv" else b"192.168.10.3"
        flow_id = b"-".join([src, dst, sport, dport, proto])
        label = fields[-1].replace("\ufffd".encode(), b"\x96")  # back to the cp1252 dash
        body.append(b",".join([flow_id, src, sport, dst, dport, proto, times[k],
                               *fields[1:-1], label]))  # fmt: skip
    blank = b"," * (len(tl_header) - 1)
    data = [b",".join(tl_header), *body, blank, blank, blank]
    (HERE / "traffic_labelling.csv").write_bytes(b"\r\n".join(data) + b"\r\n")
    return 0


def _conflict_row(root: Path, label: str) -> int:
    """Row (in its class file) of the first feature vector labelled both ways."""
    import polars as pl

    frames = []
    for name in ("Portscan_5000.csv", "Infiltration_-_Portscan_5000.csv"):
        frames.append(
            pl.read_csv(root / "improved_rnd5000" / name, infer_schema_length=0)
            .with_row_index("row")
        )
    df = pl.concat(frames)
    meta = {"row", "id", "Flow ID", "Src IP", "Src Port", "Dst IP", "Dst Port", "Timestamp",
            "Attempted Category", "Label"}  # fmt: skip
    feats = [c for c in df.columns if c not in meta]
    groups = (
        df.group_by(feats, maintain_order=True)
        .agg(pl.col("Label"), pl.col("row"))
        .filter(pl.col("Label").list.n_unique() > 1)
        .sort(pl.col("row").list.min())
    )
    first = groups.row(0, named=True)
    return int(first["row"][first["Label"].index(label)])


if __name__ == "__main__":
    raise SystemExit(main())
