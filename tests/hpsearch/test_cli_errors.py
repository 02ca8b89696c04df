"""The command line's error boundary: a UserError (and the error types listed with it) is one
line and exit 2; any other exception, a plain ValueError included, is a bug and propagates
with its traceback. And the package layout: each command is a module with its arguments and
its action, registered once."""

import argparse

import pytest

from hpsearch import cli
from hpsearch.cli import COMMANDS, EXIT_USER_ERROR, build_parser, main
from hpsearch.config import ConfigError
from hpsearch.errors import UserError
from hpsearch.run import SearchError


def failing(monkeypatch, error):
    """Make `hpsearch datasets` raise `error`."""
    def run(args):
        raise error

    monkeypatch.setattr(cli.datasets, "run", run)


@pytest.mark.parametrize("error", [UserError("space.lr: must be > 0, got -1\nsecond line"),
                                   ConfigError("budget.time_limit: must be > 0, got -5"),
                                   SearchError("runs/x: holds a search with other settings"),
                                   FileNotFoundError(2, "No such file or directory", "x.toml")])
def test_user_errors_are_one_line_and_exit_2(error, monkeypatch, capsys):
    failing(monkeypatch, error)
    assert main(["datasets"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert err.startswith("hpsearch: error: ") and err.count("\n") == 1
    assert str(error).splitlines()[0] in err


@pytest.mark.parametrize("error", [ValueError("operands could not be broadcast together"), KeyError("fitness"),
                                   TypeError("unsupported operand")])
def test_other_exceptions_are_bugs_with_a_traceback(error, monkeypatch, capsys):
    failing(monkeypatch, error)
    with pytest.raises(type(error)):
        main(["datasets"])
    assert "hpsearch: error" not in capsys.readouterr().err


def test_hpsearch_debug_shows_a_user_errors_traceback(monkeypatch):
    failing(monkeypatch, UserError("bad"))
    monkeypatch.setenv("HPSEARCH_DEBUG", "1")
    with pytest.raises(UserError):
        main(["datasets"])


def test_user_errors_are_value_errors_for_python_callers():
    assert issubclass(UserError, ValueError) and issubclass(ConfigError, UserError)


def test_each_command_is_a_module_with_its_arguments_and_action():
    parser = build_parser()
    commands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    assert list(commands.choices) == list(COMMANDS)
    for name, module in COMMANDS.items():
        assert module.__name__ == f"hpsearch.cli.{name}"
        assert callable(module.add_arguments) and callable(module.run) and module.HELP and module.DESCRIPTION
        assert commands.choices[name].get_default("handler") is module.run
