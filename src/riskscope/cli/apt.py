"""``riskscope apt``: train a provenance-graph detector on benign logs, detect attacks in
new logs, record Linux activity with strace."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from riskscope.cli._common import RichStageProgress, command, out, state
from riskscope.cli.groups import GROUPS

__all__ = ["app"]

app = GROUPS["apt"]

FormatOpt = Annotated[str | None, typer.Option(
    "--format", help="auto (default: sniffed), strace, cdm, sysmon, edr, streamspot or graph.")]
WindowOpt = Annotated[float | None, typer.Option(
    "--window", help="Cut each log into windows of this many seconds (one graph each).")]


@app.command("train")
@command
def train(
    benign: Annotated[list[str], typer.Option(
        "--benign", help="Benign log file or folder (repeat for several).")],
    fmt: FormatOpt = None,
    window: WindowOpt = None,
    val_share: Annotated[float | None, typer.Option(
        "--val-share", help="Share of benign graphs held out to set thresholds (0.2).")] = None,
    no_prune: Annotated[bool, typer.Option(
        "--no-prune", help="Keep every event (pruning ablation).")] = False,
    node_fpr: Annotated[float | None, typer.Option(
        "--node-fpr", help="Share of benign validation nodes allowed above the node "
        "threshold (default: one per validation graph).")] = None,
) -> None:
    """Train on benign logs: encoders, GraphSAGE, LightGBM; thresholds on held-out graphs."""
    from riskscope.config import resolve
    from riskscope.pipelines.apt import AptTrainConfig, train_apt

    st = state()
    cli = {"benign": tuple(benign), "format": fmt, "window": window, "val_share": val_share,
           "prune": False if no_prune else None, "node_fpr": node_fpr}
    cfg = resolve(AptTrainConfig, cli=cli, file=st.file_section("apt"), section=None,
                  prefix="RISKSCOPE_APT_")
    run_dir = train_apt(cfg, st.settings(), progress=RichStageProgress())
    out.print(f"Model trained: {run_dir.name}")
    out.print(f"Run recorded: {run_dir.resolve()}")
    out.print(f"Open the report: {(run_dir / 'report.html').resolve()}")


@app.command("detect")
@command
def detect(
    model: Annotated[str, typer.Option(
        "--model", help="An apt-train run id (see `riskscope runs list`) or its folder.")],
    data: Annotated[list[str], typer.Option(
        "--data", help="Log file or folder to score (repeat for several).")],
    fmt: FormatOpt = None,
    window: WindowOpt = None,
) -> None:
    """Score logs: ranked alerts, a verdict per graph, attack subgraphs, metrics if truth."""
    from riskscope.pipelines.apt import AptDetectConfig, detect_apt

    st = state()
    cfg = AptDetectConfig(model=model, data=tuple(data), format=fmt or "auto", window=window)
    run_dir, s = detect_apt(cfg, st.settings(), progress=RichStageProgress())
    v = s["verdicts"]
    out.print(f"Scored {len(v)} graph(s): {int(v['anomalous'].sum())} anomalous, "
              f"{int(v['alerts'].sum())} alert(s).")
    if s.get("summary"):
        st_, le = s["summary"]["strict"], s["summary"]["lenient"]
        out.print(f"Node level: strict F1 {st_['f1']:.3f}, 2-hop F1 {le['f1']:.3f}.")
    out.print(f"Run recorded: {run_dir.resolve()}")
    out.print(f"Open the report: {(run_dir / 'report.html').resolve()}")


@app.command("record", context_settings={"allow_extra_args": True,
                                          "ignore_unknown_options": True})
@command
def record(
    ctx: typer.Context,
    out_path: Annotated[Path, typer.Option("--out", help="Log file to write.")],
    syscalls: Annotated[str | None, typer.Option(
        "--syscalls", help="strace -e trace= set (default: what the parser uses).")] = None,
) -> None:
    """Record a command with strace (Linux): riskscope apt record --out LOG -- CMD ..."""
    from riskscope.exceptions import ParameterError
    from riskscope.io.provenance.record import record as do_record

    cmd = list(ctx.args)
    if not cmd:
        raise ParameterError("apt record needs a command after `--`, e.g. riskscope apt "
                             "record --out run.log -- make -j2.")
    res = do_record(cmd, out_path, syscalls=syscalls)
    out.print(f"Recorded {' '.join(cmd)}: exit code {res.returncode}, "
              f"{res.lines:,} lines in {res.seconds:.1f} s -> {Path(out_path).resolve()}")
