"""The runner tier: workflows and the action executed by nektos/act against the GitHub double."""
