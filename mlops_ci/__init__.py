"""mlops-ci: GitHub-native MLOps with git, DVC and GitHub as the whole infrastructure."""

__version__ = "0.1.0"
