"""The ``minidl-lab`` command: the lab with no arguments, ``replay`` and friends headless.

Imports of torch and the framework happen inside the commands, so
``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

EXIT_OK, EXIT_EXPECTATION_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
# a run ended by a signal exits 128 + its number: SIGINT 130, SIGTERM 143, SIGHUP 129
STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")

# bidirectional-text controls reorder what a terminal shows: escaped like control characters
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F)}


def printable(text: object, keep_newlines: bool = True) -> str:
    """``text`` with control characters (ANSI escapes, bells, bidi overrides) written as
    ``\\x1b``-style escapes, so a name or message cannot drive the terminal."""
    import unicodedata

    out = []
    for char in str(text):
        if char == "\n" and keep_newlines:
            out.append(char)
        elif unicodedata.category(char) == "Cc" or char in _BIDI:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


class Signalled(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP arrived while no run was under way: unwinds like Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_pending_signal: list[int] = []  # the first stop signal seen before training began


def _record_signal(signum: int, _frame: object) -> None:
    if not _pending_signal:
        _pending_signal.append(signum)


def _raise_signalled(signum: int, _frame: object) -> None:
    _record_signal(signum, _frame)
    raise Signalled(signum)


def pending_signal() -> int | None:
    """The first SIGINT, SIGTERM or SIGHUP that arrived since the command started."""
    return _pending_signal[0] if _pending_signal else None


def _set_handlers(handler: object) -> dict[int, object]:
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for name in STOP_SIGNALS:
        if hasattr(signal, name):
            number = getattr(signal, name)
            previous[number] = signal.signal(number, handler)
    return previous


def _install_start_up_handlers() -> dict[int, object]:
    """During start-up SIGINT, SIGTERM and SIGHUP are only noted, not raised.

    An exception raised inside an import can be swallowed by a library and
    leave it half-imported (numpy then refuses to load again), so the
    command checks ``pending_signal()`` once its imports and the scenario
    are loaded, and exits quietly with 128 + the signal. Returns the
    handlers replaced, for ``main`` to put back.
    """
    _pending_signal.clear()
    return _set_handlers(_record_signal)


def raise_on_signals() -> None:
    """From here on SIGINT, SIGTERM and SIGHUP raise ``Signalled`` (a KeyboardInterrupt)."""
    _set_handlers(_raise_signalled)


def report_interrupt(signum: int) -> int:
    """Say which signal ended the command; return its exit status, 128 + the signal."""
    print(f"minidl-lab: interrupted (signal {signum})", file=sys.stderr)
    return 128 + signum


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minidl-lab",
        description=(
            "A terminal training lab for neural networks on minidl, a framework whose "
            "every backward is written by hand. Without a command, opens the lab "
            "(on a terminal; otherwise prints this help)."
        ),
        epilog="Run 'minidl-lab COMMAND --help' for a command's options.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    lab = commands.add_parser(
        "lab",
        help="open the lab (the default without a command, on a terminal)",
        description="Open the Textual lab, set up with FILE (default: the centered disk).",
    )
    lab.add_argument("file", metavar="FILE", nargs="?", help="scenario file or shipped name")

    replay = commands.add_parser(
        "replay",
        help="train a scenario file headless and check its expectations",
        description=(
            "Train the scenario described by FILE without a user interface, print progress "
            "and a summary, and check the file's [expect] bounds. Exit status: 0 when every "
            "expectation holds, 1 when one fails (or training diverged), 2 for an invalid "
            "scenario file or arguments, 128 + the signal's number when SIGINT (130), SIGHUP "
            "(129) or SIGTERM (143) ended the run (the completed epochs are still written to "
            "--json and --csv)."
        ),
    )
    replay.add_argument(
        "file",
        metavar="FILE",
        help="scenario TOML file, or the name of a shipped scenario (see 'minidl-lab scenarios')",
    )
    replay.add_argument("--epochs", type=_positive_int, help="override training.epochs")
    replay.add_argument(
        "--seed",
        type=_non_negative_int,
        help="override both data.seed and training.seed (a different round of the same setup)",
    )
    replay.add_argument("--json", metavar="PATH", help="write the history as JSON to PATH")
    replay.add_argument("--csv", metavar="PATH", help="write the per-epoch history as CSV to PATH")
    replay.add_argument(
        "--quiet", "-q", action="store_true", help="no progress and no table: one result line"
    )
    replay.add_argument(
        "--layers",
        metavar="PATH",
        help="write each layer's health at the end of every epoch to PATH (CSV if it ends "
        "in .csv, else JSON)",
    )

    compare = commands.add_parser(
        "compare",
        help="train a scenario with minidl and its PyTorch twin, over several rounds",
        description=(
            "Run the scenario with minidl and with the equivalent torch.nn model, loss and "
            "torch.optim optimizer (same initial weights, same batches) for N rounds with "
            "seeds training.seed, +1, …, and print final metrics as mean ± std, time per epoch "
            "of each and the largest per-epoch loss difference between the two."
        ),
    )
    compare.add_argument("file", metavar="FILE", help="scenario file or shipped name")
    compare.add_argument("--rounds", type=_positive_int, default=5, help="rounds (default 5)")
    compare.add_argument("--epochs", type=_positive_int, help="override training.epochs")
    compare.add_argument("--json", metavar="PATH", help="write every round as JSON to PATH")

    bench = commands.add_parser(
        "bench",
        help="time minidl against torch.nn + autograd on the same batches",
        description=(
            "Train the same networks from the same weights on the same batches with minidl and "
            "with torch.nn + autograd + torch.optim, interleaved in one process on one thread, "
            "and print ms per epoch, the ratio torch/minidl, peak memory of a fresh run, and "
            "the tensor ops per step with the floor they imply."
        ),
    )
    bench.add_argument("--quick", action="store_true", help="fewer repeats, under a minute")
    bench.add_argument("--json", metavar="PATH", help="write every measurement as JSON to PATH")
    bench.add_argument(
        "--lab",
        metavar="SCENARIO",
        help=(
            "measure the lab instead: train SCENARIO (a shipped name or a file) headless and in "
            "the lab with live charts, alternately, and print samples/s of each and how fast "
            "the interface answers"
        ),
    )
    bench.add_argument(
        "--rounds", type=int, default=3, help="lab runs and headless runs with --lab (default 3)"
    )

    commands.add_parser(
        "scenarios",
        help="list the scenarios shipped with minidl-lab",
        description="List the scenario files shipped with minidl-lab, with their descriptions.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a signal before a run starts exits 128 + its number, quietly."""
    try:
        return _main(argv)
    except KeyboardInterrupt as interrupt:
        return report_interrupt(interrupt.signum if isinstance(interrupt, Signalled) else 2)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("replay", "compare"):
        import signal

        previous = _install_start_up_handlers()
        try:
            return _command(args, parser)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
    return _command(args, parser)


def _command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.command is None:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            parser.print_help()
            print("\nThe lab needs a terminal; without one, use 'minidl-lab replay FILE'.")
            return EXIT_OK
        return _run_lab(None)
    if args.command == "lab":
        return _run_lab(args.file)
    if args.command == "replay":
        from tui.replay import replay

        return replay(
            args.file,
            epochs=args.epochs,
            seed=args.seed,
            json_path=args.json,
            csv_path=args.csv,
            quiet=args.quiet,
            layers_path=args.layers,
        )
    if args.command == "compare":
        from tui.compare import compare_command

        return compare_command(args.file, args.rounds, args.epochs, args.json)
    if args.command == "bench":
        from tui.bench import bench

        if args.lab:
            from tui.bench import bench_lab

            return bench_lab(args.lab, rounds=args.rounds, json_path=args.json)
        return bench(quick=args.quick, json_path=args.json)
    if args.command == "scenarios":
        from tui.replay import list_scenarios

        return list_scenarios()
    parser.error(f"unknown command {args.command!r}")
    return EXIT_USAGE


def _run_lab(file: str | None) -> int:
    from scenarios.schema import ScenarioError
    from scenarios.shipped import resolve_scenario_path

    try:
        from tui.app import make_app

        app = make_app(None if file is None else resolve_scenario_path(file))
    except ScenarioError as error:
        print(f"minidl-lab lab: error: {printable(error)}", file=sys.stderr)
        return EXIT_USAGE
    app.run()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
