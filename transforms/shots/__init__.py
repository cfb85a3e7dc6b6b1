"""Shot boundaries found in the analysis pass, from the small grey frames it already decodes.

Three kinds of transition, each tested where it can be told apart from camera work:
- `cut` (cuts.py): a flow-compensated residual that spikes, where no light changed and the
  picture does not come back (a flash).
- `dissolve` (dissolves.py): a window whose inner frames blend its two ends in proportion.
- `fade` (fades.py): a run of flat frames with content on both sides.

`ShotDetector` (detector.py) keeps the recent frames (history.py), runs the three tests on each
frame pushed, and decides candidates (deciding.py) once nothing later can overlap them;
`Transition` and `shots_of` (transitions.py) are what the samplers read. The thresholds are
SampleConfig's `--shot-*` options (transforms/sample.py), gathered in `ShotConfig` (config.py).
"""
from transforms.shots.config import ShotConfig
from transforms.shots.detector import ShotDetector
from transforms.shots.transitions import KINDS, Transition, shots_of

__all__ = ["KINDS", "ShotConfig", "ShotDetector", "Transition", "shots_of"]
