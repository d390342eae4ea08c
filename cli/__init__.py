"""`lendflow`: the command line, the shell over every package; it holds no domain logic."""
