"""Tests for riskscope.io.provenance.truth (ground-truth labels for provenance graphs)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskscope.exceptions import InputError, SchemaError
from riskscope.graph.schema import ProvenanceGraph
from riskscope.io.provenance import edr, sysmon, truth
from riskscope.io.provenance.truth import AttackWindow

DATA = Path(__file__).resolve().parents[1] / "data" / "provenance"
EXCERPT = Path(str(files("riskscope.datasets") / "carbanak_excerpt"))
MIN = 60 * 10**9
YAML = """\
title: Invoke BypassUAC FodHelper
tags:
  - Registry Modification
description: adversaries bypass uac with a registry modification for FodHelper.
simulation:
  tools:
    - type: C2
      name: Empire
      script: https://example.org/Invoke-FodHelperBypass.ps1
  adversary_view: |-
    Name     La Internal IP     Machine Name      Username      Process     PID    Delay
    SP7B3U2X ps 172.18.39.5     WORKSTATION5      pgustavo      powershell  1376   5/0.0    2020
    [*] Tasked SP7B3U2X to run TASK_CMD_JOB
    (Empire: F2X6GE4R) > shell whoami
    [SC] CreateService SUCCESS
    the description of the script
    SUCCESS: The process "CreateNamedPipe.exe" with PID 4748 has been terminated.
references:
  - https://example.org/rundll32.exe/mshta
"""
LOG = """\
Time (UTC),Machine,Logs
2024-05-07 19:24:00 +0000,h3,Ran `hostname` on command prompt
2024-05-07 19:49:00 +0000,h3,Scp'd `Java-Update.exe` onto h3 Machine
2024-05-07 19:50:00 +0000,h1+ h3,"Ran the command to create file `Java-Update.vbs` (logon)"
2024-05-07 19:51:00 +0000,h1,Uploaded smrs.exe
2024-05-08 17:34:00 +0000,h3,Executed DefenderUpgradeExec.exe and read klog2.txt
"""


def _log(tmp_path: Path, text: str = LOG) -> Path:
    p = tmp_path / "attack_log.csv"
    p.write_text(text)
    return p


def _utc(text: str) -> int:
    return int(pd.Timestamp(text, tz="UTC").value)


def _graph(names: list[str], types: list[str], edges: list[tuple[int, int, str, int]],
           ts: list[int | None] | None = None, time: str = "ns") -> ProvenanceGraph:
    nodes = pd.DataFrame({"id": [f"n{i}" for i in range(len(names))], "type": types,
                          "name": names})
    if ts is not None:
        nodes["ts"] = pd.array(ts, dtype="Int64")
    e = pd.DataFrame(edges, columns=["src", "dst", "type", "ts"])
    return ProvenanceGraph.from_frames(nodes, e, meta={"time": time})


# --- OTRF -------------------------------------------------------------------------------
def test_otrf_names(tmp_path: Path) -> None:
    p = tmp_path / "d.yaml"
    p.write_text(YAML)
    # *.exe anywhere, the agent table's Process, FodHelper (inside a word: long name),
    # whoami and SC (whole words); not cmd inside TASK_CMD_JOB, not sc inside "script" or
    # "description", nothing from the references
    assert truth.otrf_attack_processes(p) == {
        "createnamedpipe.exe", "powershell.exe", "fodhelper.exe", "whoami.exe", "sc.exe"}


def test_otrf_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        truth.otrf_attack_processes(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: [unclosed\n")
    with pytest.raises(InputError, match=r"bad\.yaml: not YAML") as err:
        truth.otrf_attack_processes(bad)
    assert "\n" not in str(err.value)
    bad.write_text("- a list\n")
    with pytest.raises(InputError, match="expected a YAML mapping"):
        truth.otrf_attack_processes(bad)


def test_label_by_process_names_on_sysmon_log() -> None:
    (g,) = sysmon.read(DATA / "sysmon" / "events.jsonl")
    mask = truth.label_by_process_names(g, ["POWERSHELL.EXE", "C:\\x\\lsass.exe"])
    ids = g.nodes["id"].to_numpy(zero_copy_only=False)
    assert sorted(ids[mask]) == ["ws1|1a2b3c4d-0003-5f51-0100-000000000500",
                                 "ws1|1a2b3c4d-0004-5f51-0100-000000000500"]
    assert mask.dtype == bool and mask.shape == (g.n_nodes,)
    files_too = truth.label_by_process_names(g, ["payload.dll"], types=None)
    assert ids[files_too].tolist() == ["ws1|c:\\users\\public\\payload.dll"]
    assert not truth.label_by_process_names(g, ["payload.dll"]).any()


# --- attack log windows -------------------------------------------------------------------
def test_attack_windows(tmp_path: Path) -> None:
    w = truth.attack_windows(_log(tmp_path), "H3")
    assert [x.step for x in w] == [0, 1, 2, 4]  # row 2 is "h1+ h3"; row 3 is h1 only
    # log time + 5 h (the log's clock), opened 2 min before and 10 min after
    assert w[0].start == _utc("2024-05-08 00:22:00") and w[0].end == _utc("2024-05-08 00:34")
    assert [sorted(x.names) for x in w] == [
        ["hostname.exe"], ["java-update.exe"], ["java-update.vbs"],
        ["defenderupgradeexec.exe", "klog2.txt"]]
    w2 = truth.attack_windows(_log(tmp_path), "h3", before=0, after=1, clock_offset=0)
    assert (w2[0].start, w2[0].end) == (_utc("2024-05-07 19:24"), _utc("2024-05-07 19:25"))


def test_attack_windows_prefer_telemetry_clock(tmp_path: Path) -> None:
    log = _log(tmp_path, "Time (UTC),Machine,Logs,telemetry_time_us\n"
                         "2024-05-07 19:49:00 +0000,h3,Scp'd `Java-Update.exe`,"
                         "1715129340000000\n")
    (w,) = truth.attack_windows(log, "h3")
    assert w.start == 1715129340 * 10**9 - 2 * MIN


def test_attack_windows_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no attack step for machine 'h9'; the log names "
                                         r"\['h1', 'h3'\]"):
        truth.attack_windows(_log(tmp_path), "h9")
    with pytest.raises(InputError, match=r"needs columns \['Logs', 'Machine', 'Time \(UTC\)'\]"):
        truth.attack_windows(_log(tmp_path, "when,what\n1,2\n"), "h3")
    with pytest.raises(InputError, match=r"row 2 has time 'yesterday'"):
        truth.attack_windows(_log(tmp_path, "Time (UTC),Machine,Logs\nyesterday,h3,x\n"), "h3")
    with pytest.raises(InputError, match="no such file"):
        truth.attack_windows(tmp_path / "absent.csv", "h3")


def test_label_by_windows_rules() -> None:
    # n0 named, edge in window; n1 named, only outside; n2 unnamed, in window; n3 named,
    # no edge but first seen in window; n4 a file with a named path; n5 child of n0
    g = _graph(
        names=["c:\\t\\hostname.exe", "c:\\t\\hostname.exe", "c:\\cmd.exe",
               "c:\\t\\java-update.exe", "c:\\t\\java-update.exe", "c:\\conhost.exe"],
        types=["process", "process", "process", "process", "file", "process"],
        edges=[(2, 0, "start", 100), (2, 1, "start", 900), (2, 4, "write", 120),
               (0, 5, "start", 950)],
        ts=[100, 900, 50, 150, 120, 950])
    w = [AttackWindow(start=90, end=200, step=0, text="", names=frozenset({"hostname.exe"})),
         AttackWindow(start=140, end=160, step=1, text="",
                      names=frozenset({"java-update.exe"}))]
    assert truth.label_by_windows(g, w).tolist() == [True, False, False, True, False, False]
    assert truth.label_by_windows(g, w, types=None).tolist() == [
        True, False, False, True, True, False]
    assert truth.label_by_windows(g, w, descendants=True).tolist() == [
        True, False, False, True, False, True]
    assert not truth.label_by_windows(g, w, names=["cmd.exe.bak"]).any()
    assert not truth.label_by_windows(g, []).any()


def test_label_by_windows_needs_clock_times() -> None:
    g = _graph(["a"], ["process"], [(0, 0, "exit", 1)], time="order")
    w = [AttackWindow(start=0, end=5, step=0, text="", names=frozenset({"a"}))]
    with pytest.raises(SchemaError, match=r"numbers its events .*time windows need clock"):
        truth.label_by_windows(g, w)


def test_excerpt_labels() -> None:
    (g,) = edr.read(EXCERPT)
    w = truth.attack_windows(EXCERPT / "attack_log.csv", "h3")
    assert len(w) == 6
    mask = truth.label_by_windows(g, w)
    names = g.nodes["name"].to_numpy(zero_copy_only=False)
    assert sorted(names[mask]) == [
        "c:\\users\\h3_user.pangolin\\appdata\\local\\temp\\defenderupgradeexec.exe",
        "c:\\users\\public\\java-update.exe"]
    everything = truth.label_by_windows(g, w, types=None)
    assert everything.sum() == 5 and (everything >= mask).all()
    labelled = truth.attach_labels(g, mask)
    assert labelled.nodes["label"].to_pylist().count(True) == 2
    labelled.validate()


# --- DARPA TC ground truth ----------------------------------------------------------------
def test_read_uuid_lists(tmp_path: Path) -> None:
    txt = tmp_path / "cadets.txt"
    txt.write_bytes(b"9EF37E2E-3E80-11E8-A5CB-3FA3753A265A\r\n\r\n"
                    b"A4DD7C60-3E80-11E8-A5CB-3FA3753A265A\n9EF37E2E-3E80-11E8-A5CB-3FA3753A265A\n")
    sub = tmp_path / "orthrus"
    sub.mkdir()
    (sub / "node_a.csv").write_text(
        "674D8313-390A-11E8-BF66-D9AA8AFF4A69,{'subject': 'None nginx, -g'},211776\n")
    (sub / "node_empty.csv").write_text("")
    assert truth.read_uuid_list(txt) == {"9EF37E2E-3E80-11E8-A5CB-3FA3753A265A",
                                         "A4DD7C60-3E80-11E8-A5CB-3FA3753A265A"}
    assert truth.read_uuid_list(sub) == {"674D8313-390A-11E8-BF66-D9AA8AFF4A69"}
    assert len(truth.read_uuid_list(tmp_path)) == 3
    with pytest.raises(InputError, match="no such file"):
        truth.read_uuid_list(tmp_path / "absent.txt")
    empty = tmp_path / "e"
    empty.mkdir()
    with pytest.raises(InputError, match=r"no \.txt or \.csv ground-truth list"):
        truth.read_uuid_list(empty)


def test_label_by_ids() -> None:
    g = _graph(["a", "b", "c"], ["process", "file", "netflow"], [(0, 1, "read", 1)])
    g = g.with_node_column("uuid", ["AA-1", "bb-2", None])
    assert truth.label_by_ids(g, {"N0", "n2"}).tolist() == [True, False, True]
    assert truth.label_by_ids(g, {"N0"}, case_sensitive=True).tolist() == [False] * 3
    assert truth.label_by_ids(g, {"aa-1", "BB-2"}, column="uuid").tolist() == [
        True, True, False]
    with pytest.raises(SchemaError, match=r"has no node column 'guid'"):
        truth.label_by_ids(g, {"x"}, column="guid")


def test_attach_labels_checks_length() -> None:
    g = _graph(["a", "b"], ["process", "file"], [(0, 1, "read", 1)])
    out = truth.attach_labels(g, np.array([0, 1]), column="attack")
    assert out.nodes["attack"].to_pylist() == [False, True]
    with pytest.raises(SchemaError, match=r"needs one value per node \(2\); got shape \(3,\)"):
        truth.attach_labels(g, np.ones(3, bool))


# --- the real data ------------------------------------------------------------------------
OTRF = {  # yaml: (zip, names found in the YAML, of them process nodes in the log)
    "SDWIN-190518210652.yaml": ("empire_psexec_dcerpc_tcp_svcctl.zip",
                                {"powershell.exe", "psexec.exe", "whoami.exe"},
                                {"powershell.exe", "whoami.exe"}),
    "SDWIN-200904032946.yaml": ("empire_uac_shellapi_fodhelper.zip",
                                {"fodhelper.exe", "powershell.exe", "whoami.exe"},
                                {"fodhelper.exe", "powershell.exe", "whoami.exe"}),
    "SDWIN-210611210814.yaml": ("aptsimulator_cobaltstrike.zip",
                                {"createnamedpipe.exe", "sc.exe"},
                                {"createnamedpipe.exe", "sc.exe"}),
}


@pytest.mark.needs_shared_data
@pytest.mark.parametrize("yaml_name", sorted(OTRF))
def test_otrf_attack_processes_are_in_the_logs(shared_data: Path, yaml_name: str) -> None:
    folder = shared_data / "provenance" / "otrf"
    zip_name, expected, present = OTRF[yaml_name]
    names = truth.otrf_attack_processes(folder / yaml_name)
    assert names == expected
    (g,) = sysmon.read(folder / zip_name)
    mask = truth.label_by_process_names(g, names)
    hit = {n.rsplit("\\", 1)[-1] for n in g.nodes["name"].to_numpy(zero_copy_only=False)[mask]}
    assert hit == present
    assert 0 < mask.sum() < 0.2 * (g.node_types() == "process").sum()


@pytest.mark.needs_shared_data
def test_carbanak_labels(shared_data: Path) -> None:
    folder = shared_data / "provenance" / "carbanak_h3"
    (g,) = edr.read(folder / "h3_attack_nodes.parquet")
    w = truth.attack_windows(folder / "attack_log.csv", "h3")
    assert len(w) == 43
    mask = truth.label_by_windows(g, w)
    names = g.nodes["name"].to_numpy(zero_copy_only=False)[mask]
    assert sorted(n.rsplit("\\", 1)[-1] for n in names) == [
        "defenderupgradeexec.exe", "hostname.exe", "infosmin48.exe", "java-update.exe",
        "java-update.exe", "java-update.exe"]
    tree = truth.label_by_windows(g, w, descendants=True)
    assert tree.sum() == 8 and (tree >= mask).all()


@pytest.mark.needs_shared_data
def test_darpa_lists(shared_data: Path) -> None:
    gt = shared_data / "provenance" / "ground_truth"
    counts = {name: len(truth.read_uuid_list(gt / "threatrace" / "groundtruth" / f"{name}.txt"))
              for name in ("cadets", "fivedirections", "theia", "trace")}
    # unique UUIDs (the files repeat some lines: fivedirections holds 18,420 for 762)
    assert counts == {"cadets": 12858, "fivedirections": 762, "theia": 25358,
                      "trace": 68172}
    assert len(truth.read_uuid_list(gt / "orthrus" / "E3-CADETS")) == 76
