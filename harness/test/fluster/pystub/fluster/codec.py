"""Stand-in for fluster.codec: only what the workbench plugin imports."""
from enum import Enum


class Codec(Enum):
    NONE = "None"
    VP9 = "VP9"


class OutputFormat(Enum):
    NONE = "None"
    YUV420P = "yuv420p"
    YUV420P10LE = "yuv420p10le"
    YUV444P = "yuv444p"
