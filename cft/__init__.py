"""Critique fine-tuning data pipeline: the library every script imports."""

__version__ = "0.1.0"
