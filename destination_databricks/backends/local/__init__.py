"""The LOCAL backend: delta-rs commits into a folder, no workspace needed."""
