"""Shot boundaries found in the analysis pass (detector.py)."""
from transforms.shots.detector import KINDS, ShotConfig, ShotDetector, Transition, shots_of

__all__ = ["KINDS", "ShotConfig", "ShotDetector", "Transition", "shots_of"]
