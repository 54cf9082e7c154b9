"""One sync: the message loop (loop.py), batches staged as they fill (batches.py), commit rounds (rounds.py)."""
from .loop import Sync
from .rounds import AfterCommit

__all__ = ["AfterCommit", "Sync"]
