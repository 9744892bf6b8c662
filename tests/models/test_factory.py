"""Factory strings: a script's own `__main__` cannot rebuild a model anywhere else."""

from __future__ import annotations

import pytest

from compresslens.errors import FactoryError
from compresslens.models.factory import refuse_main_module_factory, resolve_factory


@pytest.mark.parametrize("factory", ["__main__:Net", "__main__:make.net", "__mp_main__:Net"])
def test_a_factory_in_the_running_script_is_refused_with_what_to_do(factory: str) -> None:
    with pytest.raises(FactoryError) as raised:
        refuse_main_module_factory(factory)
    message = str(raised.value)
    assert factory in message
    assert "cannot be imported again" in message
    assert "--path" in message and "COMPRESSLENS_PATH" in message


@pytest.mark.parametrize("factory", ["compresslens.models.zoo:mlp", "factories:digits_mlp", "x"])
def test_other_factories_pass_untouched(factory: str) -> None:
    refuse_main_module_factory(factory)


def test_a_module_that_is_not_found_says_how_to_make_it_importable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COMPRESSLENS_TRUST", "my_nets_absent")
    with pytest.raises(FactoryError, match=r"cannot import 'my_nets_absent'.*--path DIR"):
        resolve_factory("my_nets_absent:tiny")


def test_an_import_error_inside_the_module_is_reported_as_it_is(tmp_path, monkeypatch) -> None:
    (tmp_path / "broken_nets_mod.py").write_text("import no_such_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("COMPRESSLENS_TRUST", "broken_nets_mod")
    with pytest.raises(FactoryError, match="no_such_dependency_xyz") as raised:
        resolve_factory("broken_nets_mod:tiny")
    assert "--path" not in str(raised.value)
