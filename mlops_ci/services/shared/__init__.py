"""What more than one journey needs: the job a command runs in, the pipeline runner,
publishing, baselines and the registry's building blocks.

Journeys (`mlops_ci/services/<journey>`) import from here, never from each other.
"""
