"""Local services lendflow starts for itself when the environment names none."""
