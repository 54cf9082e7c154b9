"""Loading: staged files → the destination Delta tables, in one commit per load."""
