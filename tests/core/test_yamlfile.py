"""Config files read into pydantic models fail with one line naming the file and the field."""

import pytest
from pydantic import BaseModel, Field

from targetbot.core.errors import DataError
from targetbot.core.yamlfile import load_model, read_yaml


class Inner(BaseModel):
    epochs: int = Field(3, ge=1)


class Cfg(BaseModel):
    name: str = "x"
    inner: Inner = Inner()


def test_empty_file_is_an_empty_mapping_and_defaults_apply(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("")
    assert read_yaml(p) == {}
    assert load_model(Cfg, p) == Cfg()


def test_bad_yaml_and_bad_field_name_the_file_and_the_field(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("inner: [unclosed\n")
    with pytest.raises(DataError, match=r"c\.yaml: not valid YAML \(\w+\)$"):
        load_model(Cfg, p)
    p.write_text("inner: {epochs: 0}\n")
    with pytest.raises(DataError, match=r"c\.yaml: inner\.epochs: Input should be greater than or equal to 1$"):
        load_model(Cfg, p)


def test_raw_overrides_the_file(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("name: from-file\n")
    assert load_model(Cfg, p, {"name": "given"}).name == "given"
