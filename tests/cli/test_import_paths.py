"""--path and $COMPRESSLENS_PATH: which folders go first on sys.path, in which order."""

from __future__ import annotations

import os
import sys

import pytest

from compresslens.cli.import_paths import prepend_to_sys_path, user_module_folders


def test_option_folders_come_before_the_environments_absolute_and_once(tmp_path) -> None:
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    environment = os.pathsep.join(["", b, a, ""])
    assert user_module_folders([a], environment) == [a, b]
    assert user_module_folders([], None) == []


def test_relative_folders_are_made_absolute(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert user_module_folders(["models"], None) == [str(tmp_path / "models")]


def test_the_folders_go_first_on_sys_path_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", ["/usr/lib/python", "/b"])
    prepend_to_sys_path(["/a", "/b"])
    assert sys.path == ["/a", "/b", "/usr/lib/python"]
