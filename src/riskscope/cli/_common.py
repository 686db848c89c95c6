"""What every command shares: settings from the root context, error handling, output."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import warnings
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from riskscope.config import Settings, load_config_file, resolve
from riskscope.exceptions import RiskscopeError

__all__ = ["AppState", "state", "set_state", "command", "out", "err", "RichStageProgress",
           "split_csv"]

F = TypeVar("F", bound=Callable[..., Any])

# Results go to stdout, errors and progress to stderr, so output can be piped.
out = Console(highlight=False, soft_wrap=True)  # paths must stay on one line
err = Console(stderr=True, highlight=False)


@dataclass
class AppState:
    """Global options as given on the command line, resolved into settings on demand."""

    cli: dict[str, Any] = field(default_factory=dict)
    config_file: Path | None = None
    debug: bool = False
    _settings: Settings | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            file = load_config_file(self.config_file)
            self._settings = resolve(Settings, cli=self.cli, env=os.environ, file=file)
        return self._settings

    def file_section(self, name: str) -> dict[str, Any]:
        """The ``[name]`` table of the config file (for pipeline settings)."""
        return dict(load_config_file(self.config_file).get(name) or {})


# Set by the root callback of each invocation; commands read it through state().
_STATE: ContextVar[AppState] = ContextVar("riskscope_cli_state")


def set_state(app_state: AppState) -> None:
    _STATE.set(app_state)


def state() -> AppState:
    """The global options of the current invocation (defaults when none were parsed)."""
    return _STATE.get(AppState())


def split_csv(value: str | None) -> tuple[str, ...] | None:
    """A comma list option as a tuple of its non-empty, stripped items (None stays None)."""
    if value is None:
        return None
    return tuple(v.strip() for v in value.split(",") if v.strip())


def one_line(text: str) -> str:
    """Collapse a message to one line: the CLI prints errors as a single line."""
    return re.sub(r"\s*\n\s*", " ", str(text)).strip()


def _fail(message: str, exc: BaseException, code: int = 1) -> None:
    if state().debug:
        err.print_exception(show_locals=False)
    err.print(f"[bold red]error:[/] {escape(one_line(message))}", markup=True, soft_wrap=True)
    raise typer.Exit(code) from None


_PACKAGE_DIR = str(Path(__file__).resolve().parents[1])


@contextlib.contextmanager
def _warnings_as_lines() -> Any:
    """Print riskscope's own warnings as one ``warning: ...`` line each (they say what to
    do, and are in the run's report too); other libraries' warnings are left as they are."""
    original = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        if str(Path(filename).resolve()).startswith(_PACKAGE_DIR):
            err.print(f"[bold yellow]warning:[/] {escape(one_line(str(message)))}",
                      markup=True, soft_wrap=True)
        else:
            original(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def command(fn: F) -> F:
    """Turn riskscope errors into ``error: ...`` + exit 1, with a traceback only with
    --debug; riskscope's warnings become ``warning: ...`` lines."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with _warnings_as_lines():
                return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except RiskscopeError as exc:
            _fail(str(exc), exc)
        except KeyboardInterrupt as exc:
            _fail("interrupted; a run in progress was marked 'interrupted' and not published",
                  exc, code=130)
        except MemoryError as exc:
            _fail("out of memory; use a smaller input or --sample-rows", exc)
        except Exception as exc:  # a bug: still one line, but say so
            _fail(f"internal error ({type(exc).__name__}: {exc}); rerun with --debug for the "
                  "traceback and report it", exc)
        return None

    return wrapper  # type: ignore[return-value]


class RichStageProgress:
    """A rich progress bar over a pipeline's named stages (quiet when not a terminal)."""

    def __init__(self, console: Console = err) -> None:
        self._console = console
        self._progress: Progress | None = None
        self._task: Any = None

    def start(self, pipeline: str, total: int) -> None:
        self._progress = Progress(
            SpinnerColumn(), TextColumn("[bold]{task.fields[pipeline]}[/] {task.description}"),
            BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=self._console, transient=False, disable=not self._console.is_terminal,
        )
        self._progress.start()
        self._task = self._progress.add_task("starting", total=total, pipeline=pipeline)
        self._started = False

    def stage(self, name: str) -> None:
        assert self._progress is not None
        if self._started:
            self._progress.advance(self._task)
        self._started = True
        self._progress.update(self._task, description=name)

    def done(self) -> None:
        # Called on success and on failure alike: stop where it stands, claim nothing.
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
