"""A GitHub REST double for tests: a real HTTP server validated against GitHub's OpenAPI."""

from .server import FAULT_KINDS, JOB_TOKEN_LOGIN, Fault, GitHubDouble

__all__ = ["FAULT_KINDS", "JOB_TOKEN_LOGIN", "Fault", "GitHubDouble"]
