from __future__ import annotations

import dataclasses

import pytest

from dqn_core.config import (GROUPS, LIVE_FIELDS, PARAM_SPECS, ConfigError, TrainConfig, load_config_file,
                             save_config_file)


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


def _not_applying(config: TrainConfig) -> dict[str, str]:
    return {name: why for name, spec in PARAM_SPECS.items() if (why := spec.applies(config))}


STATE_ONLY_UNUSED = {"noop_max", "life_loss_terminal", "pixel_renderer", "pixel_view", "frame_height", "frame_width",
                     "grayscale", "frame_op", "frame_stack", "frame_gap", "augment_shift"}


@pytest.mark.parametrize("preset, unused, used", [
    # CartPole from its state vector: nothing of screens, frames or Atari applies
    ("zoo-state", STATE_ONLY_UNUSED, {"hidden_sizes", "eps_decay"}),
    # CartPole from pixels: the screen settings apply, Atari's do not; the 2013 net has its own hidden layer
    ("pixels", {"noop_max", "life_loss_terminal", "hidden_sizes"}, {"pixel_view", "frame_height", "frame_gap",
                                                                    "augment_shift", "frame_stack"}),
    # MinAtar's image observations: frames but no screen; minatar-cnn reads hidden_sizes
    ("minatar", {"pixel_view", "frame_height", "grayscale", "noop_max"}, {"frame_op", "hidden_sizes"}),
    # Atari: no-op starts and lost lives apply, the screen renderer's settings do not
    ("mnih2013", {"pixel_renderer", "pixel_view", "frame_height", "hidden_sizes"}, {"noop_max", "life_loss_terminal",
                                                                                     "frame_stack"}),
])
def test_settings_say_whether_they_apply_to_each_env_family(preset, unused, used):
    from dqn_core.presets import load_preset

    config = load_preset(preset)
    why = _not_applying(config)
    assert unused <= set(why) and not used & set(why), (set(why) & used, unused - set(why))
    if preset == "zoo-state":            # beyond those 11, only settings whose own switch is off
        dependent = {"lr_end", "lr_decay", "adam_eps", "huber_delta", "grad_clip", "per_alpha", "per_beta_start",
                     "per_beta_steps"}
        assert set(why) - dependent == STATE_ONLY_UNUSED
        assert why["noop_max"] == "only for Atari games (obs = atari)"
        assert why["frame_gap"] == "a state vector is seen one at a time (obs = state)"
    assert all(text and not text.endswith(".") for text in why.values())


def test_dependent_settings_apply_once_what_they_depend_on_is_chosen():
    config = TrainConfig(obs="state", network="mlp")
    assert PARAM_SPECS["lr_end"].applies(config) == "only with lr_schedule = linear"
    assert PARAM_SPECS["lr_end"].applies(config.replace(lr_schedule="linear")) == ""
    assert PARAM_SPECS["per_alpha"].applies(config.replace(prioritized=True)) == ""
    assert PARAM_SPECS["stop_when_solved"].applies(config.replace(eval_every=0)) == \
        "evaluations are off (eval_every = 0)"
    assert PARAM_SPECS["frame_stack"].applies(TrainConfig(frame_op="difference")) == "only with frame_op = stack"


def test_what_does_not_change_learning_is_one_set_in_the_spec():
    from dqn_core.config import NOT_LEARNING

    assert NOT_LEARNING == {"seed", "device", "torch_threads", "learner_thread"}


def test_a_batch_larger_than_the_replay_memory_is_refused_wherever_it_is_set():
    with pytest.raises(ConfigError, match="batch_size = 64 is invalid: must not exceed replay_capacity = 50"):
        TrainConfig(replay_capacity=50, batch_size=64)
    with pytest.raises(ConfigError, match="must hold at least one batch"):
        TrainConfig(batch_size=64).replace(replay_capacity=50)
