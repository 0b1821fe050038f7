"""Inference benchmark (eddylearn bench inference)."""
