pytest_plugins = ["github_double.fixtures"]
