"""``riskscope explain``: explained decisions (credit, ids, apt) and questions about them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from riskscope.cli._common import command, out, split_csv, state
from riskscope.cli.groups import GROUPS

__all__ = ["app"]

app = GROUPS["explain"]

BaseUrlOpt = Annotated[str | None, typer.Option(
    "--llm-base-url", help="OpenAI-compatible endpoint (e.g. http://127.0.0.1:8080/v1) that "
    "may reword the template report; the checker must pass its text.")]
ModelOpt = Annotated[str | None, typer.Option("--llm-model", help="Model name at the endpoint.")]
TimeoutOpt = Annotated[float, typer.Option("--llm-timeout", min=0.1,
                                           help="Seconds to wait for the LLM.")]
RemoteOpt = Annotated[bool, typer.Option(
    "--llm-allow-remote", help="Allow a non-loopback endpoint (record data leaves the host).")]
LocalOpt = Annotated[bool, typer.Option(
    "--llm-local", help="In-process llama.cpp with the small packaged model (extra `llm`).")]


def _llm(base_url, model, timeout, allow_remote, local):
    from riskscope.pipelines.explain import LLMSettings

    return LLMSettings(base_url=base_url, model=model, timeout=timeout,
                       allow_remote=allow_remote, local=local)


def _print(result) -> None:
    for e in result.reports:
        out.print(f"{e['subject']}: {e['decision']} (text from {e['used']}) -> {e['html']}")
        out.print(f"  review id: {e['report_id']} (draft)")
    out.print(f"Run recorded: {result.run_path.resolve()}")


@app.command("credit")
@command
def credit(
    model: Annotated[str, typer.Option("--model", help="A credit run id or folder.")],
    data: Annotated[Path | None, typer.Option(
        "--data", help="Applicants file (default: the model's training data).")] = None,
    applicant: Annotated[list[int] | None, typer.Option(
        "--applicant", help="Row number (1-based, as `credit score` numbers rows); "
        "repeatable.")] = None,
    record: Annotated[str | None, typer.Option(
        "--record", help="One applicant as a JSON object (or a .json file).")] = None,
    denied: Annotated[int, typer.Option("--denied", min=0,
                                        help="Explain the first N denied applicants.")] = 0,
    method: Annotated[str, typer.Option(
        "--method", help="reg_b_cutoff (default), reg_b_mean or points_below_max.")
    ] = "reg_b_cutoff",
    pii: Annotated[str | None, typer.Option(
        "--pii", help="Comma list of columns that are PII (besides those detected).")] = None,
    llm_base_url: BaseUrlOpt = None, llm_model: ModelOpt = None, llm_timeout: TimeoutOpt = 10.0,
    llm_allow_remote: RemoteOpt = False, llm_local: LocalOpt = False,
) -> None:
    """Explain credit decisions: facts, reason codes, a checked report, a review draft."""
    from riskscope.pipelines.explain import explain_credit

    res = explain_credit(model, data=data, applicants=tuple(applicant or ()), record=record,
                         denied=denied, method=method, pii=split_csv(pii) or (),
                         llm=_llm(llm_base_url, llm_model, llm_timeout, llm_allow_remote,
                                  llm_local), settings=state().settings())
    _print(res)


@app.command("flow")
@command
def flow(
    model: Annotated[str, typer.Option("--model", help="An ids run id or folder.")],
    data: Annotated[Path, typer.Option("--data", help="Flows file, folder or glob.")],
    row: Annotated[list[int] | None, typer.Option(
        "--row", help="Flow row number (1-based); repeatable.")] = None,
    alerts: Annotated[int, typer.Option("--alerts", min=0,
                                        help="Explain the first N alerted flows.")] = 0,
    llm_base_url: BaseUrlOpt = None, llm_model: ModelOpt = None, llm_timeout: TimeoutOpt = 10.0,
    llm_allow_remote: RemoteOpt = False, llm_local: LocalOpt = False,
) -> None:
    """Explain ids decisions on flows (TreeSHAP contributions, addresses pseudonymised)."""
    from riskscope.pipelines.explain import explain_flows

    res = explain_flows(model, data, rows=tuple(row or ()), alerts=alerts,
                        llm=_llm(llm_base_url, llm_model, llm_timeout, llm_allow_remote,
                                 llm_local), settings=state().settings())
    _print(res)


@app.command("alert")
@command
def alert(
    run: Annotated[str, typer.Option("--run", help="An apt-detect run id or folder.")],
    rank: Annotated[list[int] | None, typer.Option(
        "--rank", help="Alert rank in the graph (default 1); repeatable.")] = None,
    graph: Annotated[str | None, typer.Option(
        "--graph", help="Which graph (default: the one with the most alerts).")] = None,
    llm_base_url: BaseUrlOpt = None, llm_model: ModelOpt = None, llm_timeout: TimeoutOpt = 10.0,
    llm_allow_remote: RemoteOpt = False, llm_local: LocalOpt = False,
) -> None:
    """Explain apt alerts of a detection run."""
    from riskscope.pipelines.explain import explain_alerts

    res = explain_alerts(run, ranks=tuple(rank or (1,)), graph=graph,
                         llm=_llm(llm_base_url, llm_model, llm_timeout, llm_allow_remote,
                                  llm_local), settings=state().settings())
    _print(res)


@app.command("ask")
@command
def ask(
    question: Annotated[str, typer.Argument(help="The question, in plain words.")],
    run: Annotated[str, typer.Option("--run", help="An explain run id or folder.")],
    subject: Annotated[str | None, typer.Option(
        "--subject", help="Which decision of the run (e.g. 'applicant 3').")] = None,
    llm_base_url: BaseUrlOpt = None, llm_model: ModelOpt = None, llm_timeout: TimeoutOpt = 10.0,
    llm_allow_remote: RemoteOpt = False, llm_local: LocalOpt = False,
) -> None:
    """Answer a question about an explained decision (whitelisted intents; an LLM only picks one).
    """
    from riskscope.pipelines.explain import ask as ask_

    ans = ask_(question, run, subject=subject,
               llm=_llm(llm_base_url, llm_model, llm_timeout, llm_allow_remote, llm_local),
               settings=state().settings())
    out.print(ans.text)
    if ans.fact_ids:
        out.print(f"(facts: {', '.join(ans.fact_ids)})")
