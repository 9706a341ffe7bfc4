"""Scenarios: 2-D data sets and the TOML files that describe a whole experiment."""

from scenarios.schema import Scenario, ScenarioError, load_scenario, parse_scenario

__all__ = ["Scenario", "ScenarioError", "load_scenario", "parse_scenario"]
