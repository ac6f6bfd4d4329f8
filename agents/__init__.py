"""SB3 training, evaluation and executors."""
