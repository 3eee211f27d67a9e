"""Constrained sampling (issue 16): see livernn/constrain/automaton.py and docs/DESIGN.md."""
