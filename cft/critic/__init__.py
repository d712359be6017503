"""The critic's training data: step 4 (critique rows drawn from graded solutions, the prompt budget)
and step 5 (verl rows and the held-out split)."""
