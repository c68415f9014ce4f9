"""Evaluation: tracking metrics on MOTChallenge files and synthetic sequences with exact ground truth."""
