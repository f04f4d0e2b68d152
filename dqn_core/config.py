"""The training configuration and the parameter spec that the CLI, presets and sliders are built from.

`TrainConfig` is frozen and validates itself on construction, so every config that exists is a valid one.
Each field carries a `ParamSpec` in its metadata: type, range or choices, step, scale, unit, help text,
group, and whether it may change while training runs ("live").
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from dqn_core.fileio import atomic_write_bytes

CONV_NETWORKS = ("lecture-cnn", "nature-cnn", "mnih2013-cnn", "fast-cnn", "minatar-cnn")
GROUPS = ("Environment", "Observation", "Network", "Optimisation", "Exploration", "Replay",
          "Target network", "Evaluation")


class ConfigError(ValueError):
    """A config value is wrong; the message names the field, the value and what is allowed."""

    def __init__(self, name: str, value: Any, allowed: str) -> None:
        self.field = name
        self.value = value
        self.allowed = allowed
        super().__init__(f"{name} = {value!r} is invalid: {allowed}")


@dataclass(frozen=True)
class ParamSpec:
    """How one config field may be set, shown and changed."""

    name: str
    kind: str                     # "int", "float", "bool", "choice", "str", "ints"
    default: Any
    group: str
    label: str
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    step: float | None = None
    log: bool = False
    unit: str = ""
    live: bool = False
    optional: bool = False        # None is allowed and means "automatic"
    zero_label: str = ""          # what 0 means, where it is special ("auto", "off", …)
    suggestions: tuple[str, ...] = ()
    affects_learning: bool = True  # False: where or how fast a run computes, or which repetition it is (seed)

    def applies(self, config: TrainConfig) -> str:
        """'' when this setting does something for `config`, else why it does not (the window greys it out with
        the reason; the value is kept, and is used again once it applies)."""
        rule = NOT_APPLYING.get(self.name)
        return rule(config) if rule else ""

    def allowed(self) -> str:
        """Human-readable description of the allowed values, used in every error message."""
        if self.kind == "choice":
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        elif self.kind == "bool":
            text = "true or false"
        elif self.kind == "str":
            text = "a non-empty string"
        elif self.kind == "ints":
            text = f"a list of 1 to 8 integers in [{_fmt(self.minimum)}, {_fmt(self.maximum)}]"
        else:
            text = f"{'an integer' if self.kind == 'int' else 'a number'} in [{_fmt(self.minimum)}, {_fmt(self.maximum)}]"
        return text + (" (or empty for automatic)" if self.optional else "")

    def coerce(self, value: Any) -> Any:
        """Convert a value read from TOML/JSON/the command line to this field's type, or raise ConfigError."""
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "auto") and self.optional):
            if self.optional:
                return None
            raise ConfigError(self.name, value, self.allowed())
        try:
            if self.kind == "bool":
                if isinstance(value, bool):
                    return value
                if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on", "false", "0", "no", "off"):
                    return value.strip().lower() in ("true", "1", "yes", "on")
                raise ValueError
            if self.kind == "int":
                if isinstance(value, bool):
                    raise ValueError
                if isinstance(value, float) and value.is_integer():
                    return int(value)
                if isinstance(value, str):
                    text = value.strip().replace("_", "")
                    number = float(text)
                    if not number.is_integer():
                        raise ValueError
                    return int(number)
                if isinstance(value, int):
                    return value
                raise ValueError
            if self.kind == "float":
                if isinstance(value, bool):
                    raise ValueError
                return float(value)
            if self.kind == "ints":
                if isinstance(value, str):
                    parts = [p for p in value.replace(" ", ",").split(",") if p]
                    return tuple(int(p) for p in parts)
                if isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
                    return tuple(value)
                raise ValueError
            if isinstance(value, str):
                return value.strip()
            raise ValueError
        except (ValueError, TypeError):
            raise ConfigError(self.name, value, self.allowed()) from None

    def check(self, value: Any) -> None:
        """Raise ConfigError unless `value` (already of the right type) is allowed."""
        if value is None:
            if not self.optional:
                raise ConfigError(self.name, value, self.allowed())
            return
        bad = False
        if self.kind == "bool":
            bad = not isinstance(value, bool)
        elif self.kind == "choice":
            bad = value not in self.choices
        elif self.kind == "str":
            bad = not isinstance(value, str) or not value
        elif self.kind == "ints":
            bad = (not isinstance(value, tuple) or not 1 <= len(value) <= 8
                   or any(not isinstance(v, int) or isinstance(v, bool) or not self.minimum <= v <= self.maximum
                          for v in value))
        else:
            typ = int if self.kind == "int" else (int, float)
            bad = (isinstance(value, bool) or not isinstance(value, typ) or not math.isfinite(value)
                   or not self.minimum <= value <= self.maximum)
        if bad:
            raise ConfigError(self.name, value, self.allowed())


def _fmt(x: float | None) -> str:
    if x is None:
        return "?"
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def _p(default: Any, group: str, label: str, help: str, kind: str | None = None, **kw: Any) -> Any:
    """A dataclass field carrying its ParamSpec (the name is filled in when the specs are collected)."""
    if kind is None:
        kind = {bool: "bool", int: "int", float: "float", str: "str", tuple: "ints"}[type(default)]
    if "choices" in kw:
        kind = "choice"
    meta = dict(kind=kind, default=default, group=group, label=label, help=help, **kw)
    return field(default=default, metadata={"spec": meta})


@dataclass(frozen=True)
class TrainConfig:
    """Every hyperparameter of a DQN run. Defaults reproduce the lecture's pixel DQN."""

    # Environment
    env_id: str = _p("CartPole-v1", "Environment", "Environment", "Gymnasium environment id (discrete actions only).",
                     suggestions=("CartPole-v1", "Acrobot-v1", "MountainCar-v0", "LunarLander-v3"))
    obs: str = _p("pixels", "Environment", "Observation",
                  "What the network sees: rendered screen pixels, the state vector, the environment's own image "
                  "observation (MinAtar's 10×10 channels), or atari: the Atari DQN's screen (84×84 grayscale, max "
                  "over the last two skipped frames, no-op starts; ALE games).",
                  choices=("pixels", "state", "image", "atari"))
    seed: int = _p(0, "Environment", "Seed", "Seed for the environment, network initialisation, exploration and replay sampling.",
                   minimum=0, maximum=2**31 - 1, step=1, affects_learning=False)
    device: str = _p("auto", "Environment", "Device", "Where tensors live: auto picks CUDA when available, else the CPU.",
                     choices=("auto", "cpu", "cuda"), affects_learning=False)
    torch_threads: int = _p(0, "Environment", "CPU threads", "Torch intra-op threads; 0 picks automatically.",
                            minimum=0, maximum=64, step=1, live=True, zero_label="auto", affects_learning=False)
    learner_thread: bool = _p(False, "Environment", "Learn in a second thread",
                              "Updates run in a thread of their own while the envs step (both cores of a laptop "
                              "working); the envs act with a copy of the network at most one update behind. Faster "
                              "where updates are costly (Atari); a run is then not repeated exactly from its seed.",
                              affects_learning=False)
    max_episode_steps: int = _p(0, "Environment", "Episode step limit",
                                "Truncate episodes after this many steps; 0 keeps the environment's own limit.",
                                minimum=0, maximum=1_000_000, step=1, unit="steps", zero_label="environment's own")
    action_repeat: int = _p(1, "Environment", "Action repeat",
                            "Env steps each chosen action is held for (frame skip, as in the Atari DQN); rewards are "
                            "summed and only the last step is observed (Atari: the maximum of the last two frames). "
                            "Step counts and schedules are in decisions.",
                            minimum=1, maximum=8, step=1, unit="env steps")
    num_envs: int = _p(1, "Environment", "Parallel envs",
                       "Environments stepped together, with one batched forward pass choosing all their actions; "
                       "each env's frames are stored once in the replay memory. Step counts and schedules count "
                       "every env's steps.", minimum=1, maximum=64, step=1, unit="envs")
    noop_max: int = _p(30, "Environment", "No-op starts",
                       "Atari: each episode starts after a random 1 to this many NOOP frames (Mnih et al.); 0 "
                       "turns it off.", minimum=0, maximum=100, step=1, unit="frames", zero_label="off")
    life_loss_terminal: bool = _p(False, "Environment", "Life loss ends episode for learning",
                                  "Atari: losing a life is a terminal state in the replay memory (the agent learns "
                                  "that it is bad), while the game goes on; plots and evaluations count whole games.")
    clip_rewards: bool = _p(False, "Environment", "Clip rewards",
                            "Learn from the sign of each reward (−1, 0, +1), as the Atari DQN does; plots, "
                            "evaluations and dqn-eval still report the game's real score.")
    # Observation (pixels only)
    pixel_renderer: str = _p("gym", "Observation", "Renderer",
                             "gym: render the full screen and shrink it (the lecture); direct: draw the small frame "
                             "directly (CartPole only, much faster).", choices=("gym", "direct"))
    pixel_view: str = _p("cart-centred", "Observation", "View",
                         "cart-centred: the lecture's window, 60% of the width following the cart; full-width: the whole "
                         "track, so the cart's absolute position is visible.", choices=("cart-centred", "full-width"))
    frame_height: int = _p(40, "Observation", "Frame height", "Height of the network's input frame.",
                           minimum=8, maximum=256, step=1, unit="px")
    frame_width: int = _p(0, "Observation", "Frame width",
                          "Width of the network's input frame; 0 keeps the crop's aspect ratio.",
                          minimum=0, maximum=512, step=1, unit="px", zero_label="keep aspect")
    grayscale: bool = _p(False, "Observation", "Grayscale", "One luminance channel instead of RGB.")
    frame_op: str = _p("difference", "Observation", "Frame combination",
                       "difference: current minus previous screen (the lecture); stack: the last k frames as channels.",
                       choices=("difference", "stack"))
    frame_stack: int = _p(4, "Observation", "Frames stacked", "How many recent frames the network sees with frame_op=stack.",
                          minimum=1, maximum=8, step=1, unit="frames")
    frame_gap: int = _p(1, "Observation", "Frame spacing",
                        "Steps between the frames the network sees (stacked or differenced): at low resolution a "
                        "slow motion moves too little in one step to show (pixels: 4).",
                        minimum=1, maximum=8, step=1, unit="steps")
    # Network
    network: str = _p("auto", "Network", "Architecture",
                      "auto: lecture-cnn for pixels, nature-cnn for Atari, minatar-cnn for small images, mlp for "
                      "state. lecture-cnn: 3 conv k5 s2 + BatchNorm; nature-cnn: Mnih et al. 2015 (32/64/64 conv, "
                      "FC 512); mnih2013-cnn: Mnih et al. 2013 (16 8×8/4, 32 4×4/2, FC 256); fast-cnn: stride-4 "
                      "first conv, cheap; minatar-cnn: Young & Tian 2019 (one 3×3 conv, 16 channels); mlp: fully "
                      "connected.", choices=("auto",) + CONV_NETWORKS + ("mlp",))
    hidden_sizes: tuple = _p((128, 128), "Network", "Hidden layers",
                             "Sizes of the fully connected hidden layers (mlp; fast-cnn and minatar-cnn use the first).",
                             minimum=1, maximum=4096)
    dueling: bool = _p(False, "Network", "Dueling head", "Separate state-value and advantage streams (Wang et al. 2016).")
    layer_norm: bool = _p(False, "Network", "Layer normalisation",
                          "Normalise each layer's output before its ReLU (LayerNorm; over channels and positions in "
                          "convolutions), which can steady learning (Gallici et al. 2024). Not the lecture's net.")
    # Optimisation
    optimizer: str = _p("rmsprop", "Optimisation", "Optimizer",
                        "Gradient method. rmsprop: torch's defaults (the lecture); rmsprop-centered: the DQN papers' "
                        "(squared-gradient momentum 0.95, ε 0.01, centred), as MinAtar's DQN uses it.",
                        choices=("rmsprop", "rmsprop-centered", "adam", "adamw"))
    lr: float = _p(0.01, "Optimisation", "Learning rate", "Step size of the optimizer.",
                   minimum=1e-6, maximum=1.0, log=True, live=True)
    adam_eps: float = _p(1e-8, "Optimisation", "Adam ε",
                         "Added to Adam's gradient scale before dividing: larger damps steps where gradients are "
                         "small (torch's default 1e-8; Rainbow and Dopamine use 1.5e-4).",
                         minimum=1e-10, maximum=1.0, log=True, live=True)
    lr_schedule: str = _p("constant", "Optimisation", "Learning-rate schedule",
                          "constant: the learning rate throughout; linear: from the learning rate to the final one "
                          "over `lr_decay` steps, then flat.", choices=("constant", "linear"), live=True)
    lr_end: float = _p(1e-5, "Optimisation", "Final learning rate", "Where a linear schedule ends.",
                       minimum=1e-7, maximum=1.0, log=True, live=True)
    lr_decay: float = _p(1e6, "Optimisation", "Learning-rate decay", "Steps a linear schedule takes to its end.",
                         minimum=1.0, maximum=1e8, log=True, unit="steps", live=True)
    gamma: float = _p(0.999, "Optimisation", "Discount γ", "Weight of future rewards in the TD target.",
                      minimum=0.0, maximum=0.9999, step=0.001, live=True)
    batch_size: int = _p(128, "Optimisation", "Batch size", "Transitions per gradient step.",
                         minimum=1, maximum=4096, step=1, log=True, live=True)
    loss: str = _p("huber", "Optimisation", "Loss", "TD error loss: Huber (smooth L1) or squared error.",
                   choices=("huber", "mse"), live=True)
    huber_delta: float = _p(1.0, "Optimisation", "Huber δ", "Where the Huber loss turns from quadratic to linear.",
                            minimum=0.01, maximum=100.0, log=True, live=True)
    grad_clip_mode: str = _p("value", "Optimisation", "Gradient clipping",
                             "value: clamp each gradient to ±clip (the lecture); norm: rescale the total norm; none.",
                             choices=("value", "norm", "none"), live=True)
    grad_clip: float = _p(1.0, "Optimisation", "Clip", "Clamp bound (value) or maximum total norm (norm).",
                          minimum=0.001, maximum=1000.0, log=True, live=True)
    train_freq: int = _p(1, "Optimisation", "Train every", "Decisions (agent steps, of every env) between optimisation rounds.",
                         minimum=1, maximum=10_000, step=1, log=True, unit="steps", live=True)
    gradient_steps: int = _p(1, "Optimisation", "Gradient steps", "Gradient steps per optimisation round.",
                             minimum=1, maximum=1000, step=1, log=True, live=True)
    double_dqn: bool = _p(False, "Optimisation", "Double DQN",
                          "Choose the next action with the online network, value it with the target network.", live=True)
    n_step: int = _p(1, "Optimisation", "n-step return", "Rewards summed before bootstrapping.",
                     minimum=1, maximum=20, step=1, unit="steps", live=True)
    augment_shift: int = _p(0, "Optimisation", "Random shift",
                            "Image augmentation of each sampled batch (DrQ, Kostrikov et al. 2021): every observation "
                            "and next observation moved by up to this many pixels (edges repeated); 0 turns it off. "
                            "Images only.", minimum=0, maximum=16, step=1, unit="px", live=True, zero_label="off")
    # Exploration
    eps_schedule: str = _p("exponential", "Exploration", "ε schedule",
                           "exponential: ε_end + (ε_start-ε_end)·exp(-step/decay) (the lecture); linear: reach ε_end "
                           "after `decay` steps.", choices=("exponential", "linear"), live=True)
    eps_start: float = _p(0.9, "Exploration", "ε start", "Exploration rate at step 0.",
                          minimum=0.0, maximum=1.0, step=0.01, live=True)
    eps_end: float = _p(0.05, "Exploration", "ε end", "Final exploration rate.",
                        minimum=0.0, maximum=1.0, step=0.01, live=True)
    eps_decay: float = _p(200.0, "Exploration", "ε decay", "Time constant (exponential) or duration (linear) of the decay.",
                          minimum=1.0, maximum=1e8, log=True, unit="steps", live=True)
    # Replay
    replay_capacity: int = _p(10_000, "Replay", "Replay capacity", "Transitions kept in the replay memory.",
                              minimum=1, maximum=100_000_000, log=True, step=1, unit="transitions")
    learning_starts: int = _p(0, "Replay", "Learning starts",
                              "Transitions collected before the first update (never fewer than a batch).",
                              minimum=0, maximum=10_000_000, step=1, unit="steps", live=True, zero_label="one batch")
    prioritized: bool = _p(False, "Replay", "Prioritized replay",
                           "Sample transitions in proportion to their TD error (Schaul et al. 2016), with importance "
                           "weights correcting the bias.")
    per_alpha: float = _p(0.6, "Replay", "Priority exponent α", "0 samples uniformly; 1 fully in proportion to |TD error|.",
                          minimum=0.0, maximum=1.0, step=0.05, live=True)
    per_beta_start: float = _p(0.4, "Replay", "Importance β start",
                               "Importance-weight exponent at step 0; it rises linearly to 1.",
                               minimum=0.0, maximum=1.0, step=0.05, live=True)
    per_beta_steps: int = _p(100_000, "Replay", "β anneal steps", "Decisions (agent steps) over which β reaches 1.",
                             minimum=1, maximum=100_000_000, step=1, log=True, unit="steps", live=True)
    # Target network
    target_update: int = _p(10, "Target network", "Sync every", "Period of target-network updates.",
                            minimum=1, maximum=10_000_000, step=1, log=True, live=True)
    target_update_unit: str = _p("episodes", "Target network", "Sync unit", "Unit of the sync period.",
                                 choices=("steps", "episodes"), live=True)
    tau: float = _p(1.0, "Target network", "τ (soft update)",
                    "Blend factor at each sync: 1 copies the weights (hard update), smaller values are Polyak averaging.",
                    minimum=1e-4, maximum=1.0, log=True, live=True)
    # Evaluation
    eval_every: int = _p(25, "Evaluation", "Evaluate every", "Period of greedy evaluations; 0 turns them off.",
                         minimum=0, maximum=10_000_000, step=1, live=True, zero_label="off")
    eval_unit: str = _p("episodes", "Evaluation", "Evaluation unit", "Unit of the evaluation period.",
                        choices=("steps", "episodes"), live=True)
    eval_episodes: int = _p(10, "Evaluation", "Evaluation episodes", "Greedy episodes per evaluation.",
                            minimum=1, maximum=1000, step=1, live=True)
    eval_epsilon: float = _p(0.0, "Evaluation", "Evaluation ε",
                             "Exploration rate while evaluating (and in dqn-eval): 0 is fully greedy; the Atari "
                             "papers use 0.05, so that an agent cannot score by repeating one fixed sequence.",
                             minimum=0.0, maximum=1.0, step=0.01, live=True)
    solved_threshold: float | None = _p(None, "Evaluation", "Solved at",
                                        "Mean greedy return that counts as solved; empty uses the environment's own "
                                        "threshold (CartPole-v1: 475; Atari Pong: 18; none for most games).",
                                        kind="float", minimum=-1e9, maximum=1e9, optional=True, live=True)
    confirm_episodes: int = _p(0, "Evaluation", "Confirmation episodes",
                               "When an evaluation reaches 'Solved at', this many more greedy episodes with new seeds "
                               "must reach it too before the run counts as solved (Gymnasium's 'solved' is a "
                               "100-episode mean); 0 trusts the evaluation alone.",
                               minimum=0, maximum=1000, step=1, live=True, zero_label="off")
    stop_when_solved: bool = _p(False, "Evaluation", "Stop when solved",
                                "End training at the first evaluation that counts as solved (confirmed, where asked).",
                                live=True)

    def __post_init__(self) -> None:
        for name, spec in PARAM_SPECS.items():
            spec.check(getattr(self, name))
        if self.obs == "state" and self.network in CONV_NETWORKS:
            raise ConfigError("network", self.network, "convolutional networks need obs = 'pixels', 'image' or "
                              "'atari'; use 'mlp' or 'auto'")
        if self.layer_norm and (self.network == "lecture-cnn" or (self.network == "auto" and self.obs == "pixels")):
            raise ConfigError("layer_norm", True, "not with the lecture's net (it normalises with BatchNorm); choose "
                              "another network")
        if self.batch_size > self.replay_capacity:        # the one cross-field rule of sizes: every caller relies on it
            raise ConfigError("batch_size", self.batch_size, f"must not exceed replay_capacity = "
                              f"{self.replay_capacity} (the replay memory must hold at least one batch)")
        if self.obs == "atari" and not self.env_id.startswith("ALE/"):
            raise ConfigError("obs", self.obs, f"'atari' preprocesses ALE games (env_id 'ALE/<Game>-v5'), not "
                              f"env_id = {self.env_id!r}")

    # ---- conversions -------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/TOML-ready values (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], base: TrainConfig | None = None) -> TrainConfig:
        """Build a config from loosely typed values; unknown keys and bad values raise ConfigError."""
        updates = parse_values(values)
        return dataclasses.replace(base or cls(), **updates)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **parse_values(changes))

    def diff(self, other: TrainConfig) -> dict[str, tuple[Any, Any]]:
        """Fields whose values differ: name -> (self's, other's)."""
        return {k: (getattr(self, k), getattr(other, k)) for k in PARAM_SPECS if getattr(self, k) != getattr(other, k)}


# Names other tools use for our settings (Stable-Baselines3, CleanRL, the PyTorch tutorial), for "did you mean".
ALIASES = {
    "learning_rate": "lr", "buffer_size": "replay_capacity", "memory_size": "replay_capacity",
    "target_update_interval": "target_update", "target_network_frequency": "target_update",
    "target_update_freq": "target_update", "train_frequency": "train_freq", "exploration_final_eps": "eps_end",
    "exploration_initial_eps": "eps_start", "end_e": "eps_end", "start_e": "eps_start", "max_grad_norm": "grad_clip",
    "epsilon_start": "eps_start", "epsilon_end": "eps_end", "epsilon_decay": "eps_decay", "eps_final": "eps_end",
    "double_q": "double_dqn", "env": "env_id", "environment": "env_id", "threads": "torch_threads",
    "discount": "gamma", "n_steps": "n_step", "frame_skip": "action_repeat", "frameskip": "action_repeat",
}


def did_you_mean(word: str, choices: Iterable[str], aliases: Mapping[str, str] | None = None) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when nothing is close."""
    choices = list(choices)
    key = word.strip().lower().replace("-", "_")
    if aliases and key in aliases:
        return f" (did you mean {aliases[key]!r}?)"
    close = difflib.get_close_matches(key, choices, n=1, cutoff=0.6) or \
        difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Coerce a mapping of field name -> raw value; raise ConfigError on unknown names or bad types."""
    out = {}
    for name, raw in values.items():
        spec = PARAM_SPECS.get(name)
        if spec is None:
            hint = did_you_mean(str(name), PARAM_SPECS, ALIASES)
            raise ConfigError(name, raw, "unknown setting" + (hint or "; see --list-settings for every setting"))
        out[name] = spec.coerce(raw)
    return out


def _collect_specs() -> dict[str, ParamSpec]:
    specs = {}
    for f in dataclasses.fields(TrainConfig):
        specs[f.name] = ParamSpec(name=f.name, **f.metadata["spec"])
    return specs


PARAM_SPECS: dict[str, ParamSpec] = {}
PARAM_SPECS.update(_collect_specs())
LIVE_FIELDS = frozenset(name for name, spec in PARAM_SPECS.items() if spec.live)
# Settings that change where or how fast a run computes, or which repetition it is, not what it learns: never a
# reason to tell runs apart, nor a setting to sweep.
NOT_LEARNING = frozenset(name for name, spec in PARAM_SPECS.items() if not spec.affects_learning)


# ---- which settings apply ----------------------------------------------------------------------------------------
# The networks' own hidden layers (units; the lecture's net has none); the others' are `hidden_sizes` (fast-cnn and
# minatar-cnn: its first).
OWN_HIDDEN = {"nature-cnn": 512, "mnih2013-cnn": 256, "lecture-cnn": 0}


def network_of(config: TrainConfig, frame_shape: tuple[int, ...] | None = None) -> str:
    """The network a config names, with `auto` resolved (an image of at most 16×16 gets MinAtar's net; without a
    frame shape an image is taken to be MinAtar's, the one family with image observations)."""
    if config.network != "auto":
        return config.network
    if config.obs == "state":
        return "mlp"
    if config.obs == "image":
        small = frame_shape is None or (len(frame_shape) == 3 and max(frame_shape[1:]) <= 16)
        return "minatar-cnn" if small else "nature-cnn"
    return "nature-cnn" if config.obs == "atari" else "lecture-cnn"


def _hidden_sizes_unused(config: TrainConfig) -> str:
    kind = network_of(config)
    if kind not in OWN_HIDDEN:
        return ""
    return f"{kind} has no hidden layer" if not OWN_HIDDEN[kind] else \
        f"{kind} has its own hidden layer of {OWN_HIDDEN[kind]} units"


def _only(test: Callable[[TrainConfig], bool], why: str) -> Callable[[TrainConfig], str]:
    return lambda config: "" if test(config) else why


_ATARI = _only(lambda c: c.obs == "atari", "only for Atari games (obs = atari)")
_PIXELS = _only(lambda c: c.obs == "pixels", "only for rendered screens (obs = pixels)")
_FRAMES = _only(lambda c: c.obs != "state", "a state vector is seen one at a time (obs = state)")
ADAM_OPTIMIZERS = ("adam", "adamw")     # the optimizers that take `adam_eps`
_LINEAR_LR = _only(lambda c: c.lr_schedule == "linear", "only with lr_schedule = linear")
_PRIORITIZED = _only(lambda c: c.prioritized, "only with prioritized replay")
_EVALUATING = _only(lambda c: c.eval_every > 0, "evaluations are off (eval_every = 0)")
NOT_APPLYING: dict[str, Callable[[TrainConfig], str]] = {
    "noop_max": _ATARI, "life_loss_terminal": _ATARI,
    "pixel_renderer": _PIXELS, "pixel_view": _PIXELS, "frame_height": _PIXELS, "frame_width": _PIXELS,
    "grayscale": _PIXELS,
    "frame_op": _FRAMES, "frame_gap": _FRAMES, "augment_shift": _FRAMES,
    "frame_stack": lambda c: _FRAMES(c) or ("" if c.frame_op == "stack" else "only with frame_op = stack"),
    "hidden_sizes": _hidden_sizes_unused,
    "lr_end": _LINEAR_LR, "lr_decay": _LINEAR_LR,
    "adam_eps": _only(lambda c: c.optimizer in ADAM_OPTIMIZERS, "only with optimizer = adam or adamw"),
    "huber_delta": _only(lambda c: c.loss == "huber", "only with loss = huber"),
    "grad_clip": _only(lambda c: c.grad_clip_mode != "none", "gradient clipping is off (grad_clip_mode = none)"),
    "per_alpha": _PRIORITIZED, "per_beta_start": _PRIORITIZED, "per_beta_steps": _PRIORITIZED,
    "eval_unit": _EVALUATING, "eval_episodes": _EVALUATING, "eval_epsilon": _EVALUATING,
    "solved_threshold": _EVALUATING, "confirm_episodes": _EVALUATING, "stop_when_solved": _EVALUATING,
}


def live_changes(config: TrainConfig, changes: Mapping[str, Any]) -> tuple[TrainConfig, dict[str, str]]:
    """`config` with the live settings among `changes` applied, and the reason for each change refused (not live,
    unknown, or invalid: a refused change changes nothing)."""
    rejected: dict[str, str] = {}
    new = config
    for name, value in changes.items():
        if name not in LIVE_FIELDS:
            rejected[name] = ("needs a stop: only live settings change during training" if name in PARAM_SPECS
                              else "unknown setting")
            continue
        try:
            new = TrainConfig.from_dict({name: value}, new)
        except ConfigError as exc:
            rejected[name] = str(exc)
    return new, rejected


# ---- files -----------------------------------------------------------------------------------------------------
MAX_CONFIG_BYTES = 1 << 20
PRESET_METADATA = ("name", "description", "solve_time")       # a preset file's words about itself, not settings


def load_config_file(path: str | Path, base: TrainConfig | None = None) -> TrainConfig:
    """Read a TOML or JSON config (flat, or with a [config] table); errors name the file."""
    path = Path(path)
    kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError("file", str(path), f"is {path.stat().st_size:,} bytes; a config is at most "
                              f"{MAX_CONFIG_BYTES:,}")
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError("file", str(path), f"cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError("file", str(path), f"is not UTF-8 text (byte {exc.start}); a config is a {kind} text "
                          "file") from None
    try:
        data = json.loads(text) if kind == "JSON" else tomllib.loads(text)
    except RecursionError:
        raise ConfigError("file", str(path), f"is nested too deeply to be a {kind} config") from None
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError("file", str(path), f"is not valid {kind}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError("file", str(path), "must hold a table of settings, e.g. lr = 0.001 (or a [config] table)")
    values = data.get("config", data)
    if not isinstance(values, dict):
        raise ConfigError("file", str(path), f"its 'config' must be a table of settings, not "
                          f"{type(values).__name__} (e.g. [config] followed by lr = 0.001)")
    values = {k: v for k, v in values.items() if k not in PRESET_METADATA}
    try:
        return TrainConfig.from_dict(values, base)
    except ConfigError as exc:
        raise ConfigError(exc.field, exc.value, f"{exc.allowed} (in {path})") from None


def dumps_toml(values: Mapping[str, Any], header: Mapping[str, str] | None = None) -> str:
    """Write a flat TOML document of scalars and integer lists (all a config holds)."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in (header or {}).items()]
    if header:
        lines.append("")
        lines.append("[config]")
    for key, value in values.items():
        if value is None:
            lines.append(f"# {key} = (automatic)")
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def save_config_file(config: TrainConfig, path: str | Path, name: str = "", description: str = "") -> None:
    """Write a config as TOML (or JSON by suffix), atomically."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        text = json.dumps({"name": name, "description": description, "config": config.to_dict()}, indent=2)
    else:
        header = {"name": name or path.stem, "description": description}
        text = dumps_toml(config.to_dict(), header)
    atomic_write_bytes(path, text.encode("utf-8"))
