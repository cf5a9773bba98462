"""``%mlops`` and ``%%mlops``: the tracking and registry API as magics.

    %mlops experiment NAME                   log to experiment NAME
    %%mlops track [--name RUN]               run the cell as one tracked run: the parameters
                                             it reads or sets to literals, the numbers it assigns
    %mlops log NAME=VALUE ...                numbers as metrics, anything else as parameters
    %mlops run [NOTEBOOK] [-p NAME=VALUE]    run the notebook's pipeline, watched live
    %mlops sweep [NOTEBOOK] -p NAME=VALUES [--random N | --optuna N] [--metric M] (live)
    %mlops load STEP [NOTEBOOK] [--run RUN]  bind what STEP reads from a run: debug it here
    %mlops runs [-n N] [--experiment NAME]   recent runs, steps nested: sort, tick two, compare
    %mlops compare RUN RUN                   two runs side by side
    %mlops publish VAR NAME --metric M [--data DF] [--description TEXT]
    %mlops promote NAME --metric M [--lower-is-better] [--threshold T]
    %mlops registry [NAME]                   models, or one model's versions

Loading this module imports neither mlflow nor the rest of the API: each subcommand imports
what it needs when it runs. Bad input is one ``UsageError`` line, never a traceback.
"""

from __future__ import annotations

import argparse
import ast
import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

from jupyter_mlops import notebook_runs
from jupyter_mlops.credentials import one_line
from nb2pipe.errors import Nb2PipeError

SUBCOMMANDS = tuple(
    "experiment track log run sweep load runs compare publish promote registry".split()
)
SCALARS = (int, float, str, bool)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a mistake as one UsageError line instead of exiting."""

    def error(self, message: str):
        raise UsageError(f"%{self.prog}: {message}")

    def exit(self, status: int = 0, message: str | None = None):
        if message:
            raise UsageError(message.strip())
        raise _HelpShown


class _HelpShown(Exception):
    pass


def _parser() -> _Parser:
    parser = _Parser(
        prog="mlops",
        description=__doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        exit_on_error=False,
    )
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="SUBCOMMAND")
    sub.required = True
    p = sub.add_parser("experiment", prog="mlops experiment")
    p.add_argument("name")
    p = sub.add_parser("track", prog="mlops track")
    p.add_argument("--name", default=None, help="name of the run")
    p = sub.add_parser("log", prog="mlops log")
    p.add_argument("pairs", nargs="+", metavar="NAME=VALUE")
    notebook_runs.add_parsers(sub)
    p = sub.add_parser("runs", prog="mlops runs")
    p.add_argument("-n", type=int, default=10)
    p.add_argument("--experiment", default=None)
    p = sub.add_parser("compare", prog="mlops compare")
    p.add_argument("runs", nargs=2, metavar="RUN")
    p = sub.add_parser("publish", prog="mlops publish")
    p.add_argument("var")
    p.add_argument("name")
    p.add_argument("--metric", required=True)
    p.add_argument("--data", default=None, help="variable holding the input DataFrame")
    p.add_argument("--description", default=None)
    p = sub.add_parser("promote", prog="mlops promote")
    p.add_argument("name")
    p.add_argument("--metric", required=True)
    p.add_argument("--lower-is-better", action="store_true")
    p.add_argument("--threshold", type=float, default=0.0)
    p = sub.add_parser("registry", prog="mlops registry")
    p.add_argument("name", nargs="?")
    return parser


def analyse_cell(code: str) -> tuple[dict[str, Any], set[str], set[str]]:
    """``(literal assignments, names written, names read)`` of a cell's code, as nb2pipe's
    compiler sees them (IPython syntax included): parameters, results, and what it reads."""
    from nb2pipe.compile.analysis import analyse
    from nb2pipe.errors import Nb2PipeError

    try:
        facts = analyse([(code, None)])
        tree = ast.parse(code)
    except (Nb2PipeError, SyntaxError):
        return {}, set(), set()
    literals: dict[str, Any] = {}
    for node in tree.body:
        targets, value = [], None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        if value is None or not all(isinstance(t, ast.Name) for t in targets):
            continue
        try:
            literal = ast.literal_eval(value)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(literal, (*SCALARS, list, tuple, dict)):
            for target in targets:
                literals[target.id] = literal
    return literals, set(facts.writes), {r.name for r in facts.reads}


def _from_the_store(error: BaseException) -> bool:
    """An error raised by MLflow or the libraries it reaches its store with."""
    module = type(error).__module__.split(".", 1)[0]
    return module in ("mlflow", "requests", "urllib3", "sqlalchemy", "sqlite3", "psycopg2")


@magics_class
class MlopsMagics(Magics):
    @line_cell_magic
    def mlops(self, line: str, cell: str | None = None):
        """Tracking and the model registry: %mlops SUBCOMMAND ... (see `%mlops -h`)."""
        try:
            words = shlex.split(line)
        except ValueError as e:
            raise UsageError(f"%mlops: {e}") from None
        if not words:
            raise UsageError(f"%mlops: a subcommand is needed: {', '.join(SUBCOMMANDS)}")
        try:
            args = _parser().parse_args(words)
        except _HelpShown:
            return None
        except argparse.ArgumentError as e:
            raise UsageError(f"%mlops: {e}") from None
        if args.command != "track" and cell is not None:
            raise UsageError(f"%%mlops {args.command}: use it as a line magic (%mlops)")
        try:
            if args.command in notebook_runs.SUBCOMMANDS:  # run, sweep, load: the pipeline's
                return getattr(notebook_runs, args.command)(self.shell, args)
            return getattr(self, f"_{args.command}")(args, cell)
        except Nb2PipeError as e:
            raise UsageError(str(e)) from None
        except Exception as e:
            # The store's own errors quote its URL, password included, and a traceback is
            # saved with the notebook: one line, masked. The cell's own errors stay as they are.
            if args.command == "track" or not _from_the_store(e):
                raise
            raise UsageError(f"%mlops {args.command}: {one_line(e)}") from None

    # --- subcommands ---------------------------------------------------------------------
    def _experiment(self, args, cell):
        from jupyter_mlops.tracking import api

        api.set_experiment(args.name)
        print(f"experiment: {args.name}")

    def _track(self, args, cell):
        if cell is None:
            raise UsageError("%mlops track: a cell magic: put %%mlops track on a cell's first line")
        from jupyter_mlops.tracking import api, store

        code = self.shell.transform_cell(cell)
        tree = ast.parse(code)  # a SyntaxError is the user's to see, before any run starts
        literals, stored, read = analyse_cell(code)
        ns = self.shell.user_ns
        params = {
            name: ns[name]
            for name in sorted(read)
            if name in ns and type(ns[name]) in SCALARS and not name.startswith("_")
        }
        params.update(literals)
        failure: BaseException | None = None
        value = None
        with api.start_run(args.name) as run:
            try:
                value = self._execute(tree)
            except BaseException as e:  # Ctrl-C too: log what the cell got to, then re-raise
                failure = e
            metrics = {
                name: ns[name]
                for name in sorted(stored - set(literals))
                if name in ns and not name.startswith("_") and store.as_number(ns[name]) is not None
            }
            api.log_params(params)
            logged = api.log_metrics(metrics)
            run_id = run.id  # creates the MLflow run even if the cell logged nothing
            if failure is not None:
                api.end_run(run, "FAILED")
        where = f"run {run_id}" if run_id else "this pipeline step"
        state = " (the cell failed)" if failure is not None else ""
        print(
            f"tracked {where}{state}: {len(params)} parameters ({', '.join(params) or '-'}), "
            f"{len(logged)} metrics ({', '.join(logged) or '-'})"
        )
        if failure is not None:
            raise failure  # the cell fails as it would without the magic (papermill stops)
        return value

    def _execute(self, tree: ast.Module) -> Any:
        """Run the cell's code in the user namespace; return its last expression's value.

        Not `run_cell`: a nested run_cell reports the cell's exception itself and lets the
        magic's cell succeed, so a failing tracked cell would not stop a pipeline step.
        """
        tree = self.shell.transform_ast(tree)
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        ns = self.shell.user_ns
        exec(compile(tree, "<%%mlops track>", "exec"), ns)
        return eval(compile(last, "<%%mlops track>", "eval"), ns) if last is not None else None

    def _log(self, args, cell):
        from jupyter_mlops.tracking import api, store

        params, metrics = {}, {}
        for pair in args.pairs:
            name, eq, text = pair.partition("=")
            if not eq or not name.isidentifier():
                raise UsageError(f"%mlops log: expected NAME=VALUE, got {pair!r}")
            value = self._value(text)
            if store.as_number(value) is not None:
                metrics[name] = value
            else:
                params[name] = value
        api.log_params(params)
        api.log_metrics(metrics)
        print(f"logged {len(metrics)} metrics, {len(params)} parameters")

    def _value(self, text: str) -> Any:
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            pass
        try:
            return self.shell.ev(text)  # a variable or expression of the user's namespace
        except Exception:
            return text

    def _runs(self, args, cell):
        from jupyter_mlops.tracking import api
        from jupyter_mlops.tracking.session import SESSION
        from jupyter_mlops.widgets.runs_table import show_runs

        experiment = args.experiment or SESSION.runs_experiment()
        runs = api.recent_runs(args.n, experiment)
        if not runs:
            print(f"no runs yet in experiment {experiment!r}")
            return
        show_runs(runs, f"the {len(runs)} latest runs of experiment {experiment!r}")

    def _compare(self, args, cell):
        from jupyter_mlops.display import show_table
        from jupyter_mlops.tracking.compare import compare_runs

        headers, rows = compare_runs(*args.runs)
        show_table(headers, rows, "* marks values that differ")

    def _publish(self, args, cell):
        from jupyter_mlops.registry.publish import publish_model
        from jupyter_mlops.tracking import store

        ns = self.shell.user_ns
        if args.var not in ns:
            raise UsageError(f"%mlops publish: no variable named {args.var!r}")
        data = None
        if args.data is not None:
            if args.data not in ns:
                raise UsageError(f"%mlops publish: no variable named {args.data!r}")
            data = ns[args.data]
        value = store.as_number(ns.get(args.metric))
        metrics = {args.metric: value} if value is not None else None
        published = publish_model(
            ns[args.var], args.name, metric=args.metric, metrics=metrics, data=data,
            description=args.description,
        )  # fmt: skip
        print(
            f"published {published.name} version {published.version} as "
            f"{published.alias!r} ({published.model_uri})"
        )

    def _promote(self, args, cell):
        from jupyter_mlops.registry.promote import promote

        decision = promote(
            args.name,
            args.metric,
            greater_is_better=not args.lower_is_better,
            threshold=args.threshold,
        )
        print(decision)

    def _registry(self, args, cell):
        from jupyter_mlops.display import fmt, show_table, when
        from jupyter_mlops.registry import read
        from jupyter_mlops.tracking import store
        from jupyter_mlops.tracking.session import SESSION

        client = store.client(SESSION.uri)
        if args.name is None:
            models = read.list_models(client)["models"]
            if not models:
                print("the registry is empty")
                return
            rows = [
                [
                    m["name"],
                    m["latest_version"],
                    ", ".join(f"{a}→{v}" for a, v in m["aliases"].items()),
                    when(m["last_update"]),
                ]
                for m in models
            ]
            show_table(["model", "latest", "aliases", "updated"], rows, "registered models")
            return
        versions = read.model_detail(client, args.name)["versions"]
        metric_names = sorted({k for v in versions for k in v["metrics"]})[:6]
        rows = [
            [
                v["version"],
                ", ".join(v["aliases"]),
                (v["gate"] or {}).get("decision", ""),
                when(v["created"]),
                *(fmt(v["metrics"].get(m)) for m in metric_names),
            ]
            for v in versions
        ]
        show_table(
            ["version", "aliases", "gate", "created", *metric_names], rows, f"model {args.name}"
        )
