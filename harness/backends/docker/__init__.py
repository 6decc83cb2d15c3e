"""The Docker backend: one container per node, the image it runs, and cleaning up after runs."""
