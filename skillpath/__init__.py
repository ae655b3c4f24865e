"""skillpath: data and ML backbone for micro-personalised corporate learning."""

__version__ = "0.1.0"
