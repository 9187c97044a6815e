"""Stand-in for fluster.decoder: a Decoder base class and a registry list."""
from typing import List


class Decoder:
    name = ""
    description = ""
    codec = None
    hw_acceleration = False

    def check(self, verbose):
        return True


DECODERS: List[Decoder] = []


def register_decoder(cls):
    DECODERS.append(cls())
    return cls
