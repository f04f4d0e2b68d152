"""DQN Studio's headless engine: config, environments, networks, replay, agent, trainer, agent files, CLI.

It never imports Qt; the window (`app`) drives it through `Trainer.run()` events and a `Control`.
"""
__version__ = "0.1.0"
