"""LLM backends, the proposer, output repair and the verifier."""
