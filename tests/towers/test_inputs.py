"""The profile codec as a bundle stores it: JSON that round-trips exactly, and the pickles of
bundles written under the earlier top-level module names still read."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from targetbot.core.errors import TargetbotError
from targetbot.towers.bundle import _legacy_codec
from targetbot.towers.inputs import ProfileCodec


@pytest.fixture
def codec_and_profiles(small_world):
    prof = small_world.profiles().set_index("user_id")
    return ProfileCodec.fit(prof, small_world.profile_schema().columns), prof


def test_codec_json_round_trip_is_exact(codec_and_profiles):
    codec, prof = codec_and_profiles
    again = ProfileCodec.from_dict(json.loads(json.dumps(codec.to_dict())))
    for a, b in zip(codec.transform(prof), again.transform(prof)):
        np.testing.assert_array_equal(a, b)
    assert again.cardinalities == codec.cardinalities


def test_a_codec_pickled_under_the_old_module_name_still_loads(codec_and_profiles, tmp_path):
    codec, prof = codec_and_profiles
    old = pickle.dumps(codec, protocol=2).replace(b"ctargetbot.towers.inputs\n", b"ctowers.inputs\n")
    assert b"ctowers.inputs\n" in old
    (tmp_path / "codec.pkl").write_bytes(old)
    loaded = _legacy_codec(tmp_path / "codec.pkl")
    np.testing.assert_array_equal(loaded.transform(prof)[1], codec.transform(prof)[1])
    (tmp_path / "evil.pkl").write_bytes(b"cos\nsystem\n(S'true'\ntR.")
    with pytest.raises(TargetbotError, match="unexpected os.system"):
        _legacy_codec(tmp_path / "evil.pkl")
    marker = tmp_path / "pwned"
    (tmp_path / "eval.pkl").write_bytes(b"cbuiltins\neval\n(S'open(%r, \"w\").close()'\ntR." % str(marker).encode())
    with pytest.raises(TargetbotError, match="unexpected builtins.eval"):
        _legacy_codec(tmp_path / "eval.pkl")
    assert not marker.exists()
