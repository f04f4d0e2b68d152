"""The agent file format: bounded, checked reading and atomic, streamed writing (numpy only)."""
