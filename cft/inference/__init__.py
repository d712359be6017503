"""Model inference: the only package that imports vLLM."""
