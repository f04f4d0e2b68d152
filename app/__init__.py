"""DQN Studio's window: PySide6 + pyqtgraph on top of the `dqn_core` engine."""
