from __future__ import annotations

import dataclasses

import pytest

from dqn_core.config import GROUPS, LIVE_FIELDS, PARAM_SPECS, ConfigError, TrainConfig, load_config_file, save_config_file


def test_every_field_has_a_complete_spec():
    for name, spec in PARAM_SPECS.items():
        assert spec.group in GROUPS, name
        assert spec.help and spec.label, name
        if spec.kind in ("int", "float"):
            assert spec.minimum is not None and spec.maximum is not None and spec.minimum < spec.maximum, name
        if spec.kind == "choice":
            assert spec.default in spec.choices, name
    assert {"lr", "gamma", "eps_start", "eps_end", "eps_decay", "batch_size", "target_update", "tau", "grad_clip",
            "train_freq"} <= LIVE_FIELDS
    assert not {"env_id", "obs", "network", "replay_capacity", "optimizer", "seed"} & LIVE_FIELDS


def test_issue_field_names_exist():
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    assert {"env_id", "obs", "seed", "device", "lr", "gamma", "batch_size", "eps_start", "eps_end", "eps_decay",
            "replay_capacity", "learning_starts", "train_freq", "target_update", "tau", "grad_clip", "double_dqn",
            "dueling"} <= names


@pytest.mark.parametrize("changes, field, fragment", [
    ({"lr": 5.0}, "lr", "[1e-06, 1]"),
    ({"lr": "fast"}, "lr", "a number"),
    ({"batch_size": 0}, "batch_size", "[1, 4096]"),
    ({"batch_size": 3.5}, "batch_size", "an integer"),
    ({"gamma": -0.1}, "gamma", "[0, 0.9999]"),
    ({"optimizer": "sgd"}, "optimizer", "'rmsprop', 'rmsprop-centered', 'adam', 'adamw'"),
    ({"double_dqn": "maybe"}, "double_dqn", "true or false"),
    ({"hidden_sizes": "64,x"}, "hidden_sizes", "integers"),
    ({"warp_speed": 9}, "warp_speed", "unknown setting"),
])
def test_invalid_values_name_field_value_and_range(changes, field, fragment):
    with pytest.raises(ConfigError) as info:
        TrainConfig().replace(**changes)
    message = str(info.value)
    assert info.value.field == field
    assert field in message and repr(next(iter(changes.values()))) in message and fragment in message


def test_direct_construction_is_validated_too():
    with pytest.raises(ConfigError, match="eps_start"):
        TrainConfig(eps_start=1.5)
    with pytest.raises(ConfigError, match="convolutional networks need obs = 'pixels'"):
        TrainConfig(obs="state", network="lecture-cnn")


def test_strings_from_the_command_line_are_coerced():
    cfg = TrainConfig().replace(lr="3e-4", batch_size="64", double_dqn="true", hidden_sizes="64, 32",
                                solved_threshold="")
    assert (cfg.lr, cfg.batch_size, cfg.double_dqn, cfg.hidden_sizes, cfg.solved_threshold) == \
        (3e-4, 64, True, (64, 32), None)


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_config_file_round_trip(tmp_path, suffix):
    cfg = TrainConfig().replace(lr=0.00123, hidden_sizes=(64, 32), obs="state", network="mlp", solved_threshold=190.0)
    path = tmp_path / f"mine{suffix}"
    save_config_file(cfg, path, name="mine", description="a test")
    assert load_config_file(path) == cfg


def test_bad_config_file_names_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("lr = 7.0\n")
    with pytest.raises(ConfigError) as info:
        load_config_file(path)
    assert "lr" in str(info.value) and "bad.toml" in str(info.value)
    path.write_text("lr = = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config_file(path)
