"""The records the steps pass along: input problems, chunks and their file names, the chunk-file
schema (solutions, result rows, metadata), the model registry and the prompt templates."""
