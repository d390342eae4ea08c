"""Great Expectations suites and the checkpoints that run them as the pipeline's quality gates."""
