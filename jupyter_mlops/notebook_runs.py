"""The pipeline subcommands of `%mlops`: run, sweep, and load (a step debugged live).

    %mlops run [NOTEBOOK] [-p NAME=VALUE] [--force]      the pipeline, watched live
    %mlops sweep [NOTEBOOK] -p NAME=VALUES ... [--random N | --optuna N] [--metric M]
                 [--direction max|min] [--seed S] [--force]
    %mlops load STEP [NOTEBOOK] [--run RUN]               bind what STEP reads, from a run

`load` runs, in this kernel, the cells the compiled step notebook begins with — parameters with
the run's values, imports, helpers, replayed statements, the load cell — after every artifact
they read was checked against its sha256 (nb2pipe.runner.debug); the step's own cells can then
be run and changed by hand.
"""

from __future__ import annotations

import argparse
from typing import Any

from IPython.core.error import UsageError

SUBCOMMANDS = ("run", "sweep", "load")


def add_parsers(sub) -> None:
    p = sub.add_parser("run", prog="mlops run")
    p.add_argument("notebook", nargs="?", default=None)
    p.add_argument("-p", dest="params", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--force", action="store_true")
    p = sub.add_parser("sweep", prog="mlops sweep")
    p.add_argument("notebook", nargs="?", default=None)
    p.add_argument("-p", dest="params", action="append", default=[], metavar="NAME=VALUES")
    way = p.add_mutually_exclusive_group()
    way.add_argument("--random", type=_positive, default=None, metavar="N")
    way.add_argument("--optuna", type=_positive, default=None, metavar="N")
    p.add_argument("--metric", default=None)
    p.add_argument("--direction", choices=["max", "min"], default="max")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true")
    p = sub.add_parser("load", prog="mlops load")
    p.add_argument("step")
    p.add_argument("notebook", nargs="?", default=None)
    p.add_argument("--run", default=None, metavar="RUN")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: at least 1")
    return value


def run(shell, args) -> None:
    from jupyter_mlops.widgets.live_run import pairs, run

    view = run(args.notebook, force=args.force, **pairs(args.params))
    if view.status != "succeeded":
        raise UsageError(f"%mlops run: run {view.run_id} {view.status} (see the view above)")


def sweep(shell, args) -> None:
    from jupyter_mlops.widgets.live_run import pairs
    from jupyter_mlops.widgets.live_sweep import sweep

    options: dict[str, Any] = {"mode": "grid", "trials": None}
    if args.random:
        options = {"mode": "random", "trials": args.random}
    elif args.optuna:
        options = {"mode": "optuna", "trials": args.optuna}
    view = sweep(
        args.notebook,
        pairs(args.params),
        metric=args.metric,
        direction=args.direction,
        seed=args.seed,
        force=args.force,
        **options,
    )
    if view.status != "succeeded":
        raise UsageError(f"%mlops sweep: sweep {view.sweep.id} {view.status} (see the view above)")


def load(shell, args) -> None:
    from jupyter_mlops.widgets.live_run import _notebook
    from nb2pipe.runner.debug import plan_load

    plan = plan_load(_notebook(args.notebook), args.step, args.run)
    for role, source in plan.cells:
        code = shell.transform_cell(source)
        try:
            exec(compile(code, f"<%mlops load {args.step}: {role}>", "exec"), shell.user_ns)
        except Exception as e:
            raise UsageError(
                f"%mlops load {args.step}: the step's {role} cell failed: {type(e).__name__}: {e}"
            ) from None
    print(plan.summary())
