"""The search: views of the data, strategies that propose formulas, and the judge.

``discover`` (in :mod:`.discover`) is the pipeline; the judge (:mod:`.judge`) is the one
place where formulas are scored, compared and chosen.
"""

from __future__ import annotations

from .discover import DEFAULT_TIME_LIMIT as DEFAULT_TIME_LIMIT
from .discover import Progress as Progress
from .discover import Task as Task
from .discover import default_plan as default_plan
from .discover import discover as discover
from .judge import Judge as Judge
from .judge import JudgeConfig as JudgeConfig
from .noise import NoiseEstimate as NoiseEstimate
from .result import Constant as Constant
from .result import ParetoPoint as ParetoPoint
from .result import Result as Result
from .strategies import STRATEGIES as STRATEGIES
from .strategies import SearchConfig as SearchConfig
from .template import complexity as complexity

__all__ = [
    "DEFAULT_TIME_LIMIT",
    "STRATEGIES",
    "Constant",
    "Judge",
    "JudgeConfig",
    "NoiseEstimate",
    "ParetoPoint",
    "Progress",
    "Result",
    "SearchConfig",
    "Task",
    "complexity",
    "default_plan",
    "discover",
]
