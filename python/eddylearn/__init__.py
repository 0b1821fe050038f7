"""eddylearn: online learning for turbulence."""
__version__ = "0.1.0"
