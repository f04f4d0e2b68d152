"""The command line: dqn-train, dqn-eval and their terminal helpers."""
