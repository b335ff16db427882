"""Tests of the bounded JSON reader used for every header, sidecar and state file."""

from __future__ import annotations

import json

import pytest

from cloud_fcn_plugin.engine.files import safe_json


class TestLoads:
    def test_plain_json(self) -> None:
        assert safe_json.loads('{"a": [1, {"b": 2}]}') == {"a": [1, {"b": 2}]}

    @pytest.mark.parametrize("depth", [100, 100_000])
    def test_deep_nesting_is_a_value_error(self, depth: int) -> None:
        with pytest.raises(ValueError, match="nested deeper than 64"):
            safe_json.loads("[" * depth + "]" * depth)

    def test_malformed_is_a_value_error(self) -> None:
        with pytest.raises(json.JSONDecodeError):
            safe_json.loads("{not json")
