"""An App is checked when it is declared: a stage table the engine could not dispatch
unambiguously fails at import with one sentence, not later on a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.globs import patterns_overlap
from daemon.stages import App, AppError, Stage
from handlers.app import APP


def handle(path: Path, ctx: object) -> list[Path]:
    return []


def declare(*stages: Stage[object]) -> App[object, object]:
    return App(name="t", stages=stages, load_settings=lambda document, env: None,
               open_context=lambda settings, stopping: None)


def test_two_stages_with_one_name_are_refused() -> None:
    with pytest.raises(AppError, match="Two stages are named 'parse'"):
        declare(Stage("parse", "in", ("*.pdf",), handle), Stage("parse", "other", ("*.json",),
                                                                 handle))


@pytest.mark.parametrize(("first", "second"), [("*.json", "*.json"), ("*", "*.json"),
                                               ("batch-*.json", "*.json"), ("a?.pdf", "ab.*")])
def test_two_stages_taking_the_same_names_in_one_inbox_are_refused(first: str,
                                                                   second: str) -> None:
    with pytest.raises(AppError, match="both take files of in/"):
        declare(Stage("one", "in", (first,), handle), Stage("two", "in", (second,), handle))


def test_the_same_pattern_in_two_inboxes_is_fine() -> None:
    app = declare(Stage("one", "in", ("*.json",), handle), Stage("two", "out", ("*.json",),
                                                                 handle))
    assert app.stage_for("out/x.json") is app.stages[1]


def test_different_suffixes_in_one_inbox_are_fine() -> None:
    app = declare(Stage("one", "in", ("*.json",), handle), Stage("two", "in", ("*.pdf",),
                                                                 handle))
    assert app.stage_for("in/x.pdf") is app.stages[1]


@pytest.mark.parametrize("pattern", ["*.tmp", ".*", "*.part", "*~", ""])
def test_a_pattern_that_only_matches_temporary_names_is_refused(pattern: str) -> None:
    with pytest.raises(AppError, match="matches no file the engine processes"):
        declare(Stage("one", "in", (pattern,), handle))


def test_the_pipeline_app_declares_each_inbox_once() -> None:
    inboxes = [stage.inbox for stage in APP.stages]
    assert len(inboxes) == len(set(inboxes)) == 4


@pytest.mark.parametrize(("first", "second", "overlap"), [
    ("[ab].json", "c*.json", False), ("[ab].json", "?.json", True), ("*.pdf", "*.json", False),
    ("LK-*.pdf", "*-00.pdf", True), ("[!a]*.json", "b*", True), ("x*", "y*", False)])
def test_overlap_is_decided_by_the_names_both_patterns_take(first: str, second: str,
                                                            overlap: bool) -> None:
    assert patterns_overlap([first], [second]) is overlap


def test_a_class_that_only_allows_a_dot_first_is_a_temporary_name() -> None:
    with pytest.raises(AppError, match="matches no file"):
        declare(Stage("one", "in", ("[.]*",), handle))


@pytest.mark.parametrize("key", ["stage", "color", "not a key"])
def test_a_log_filter_named_like_an_option_of_tail_is_refused(key: str) -> None:
    with pytest.raises(AppError, match="cannot be an option of idxd tail"):
        App(name="t", stages=(), load_settings=lambda document, env: None,
            open_context=lambda settings, stopping: None, log_filters={key: "help"})
