"""The cycle driver, curriculum strategies and the run store."""
