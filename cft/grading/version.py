"""The grader's version, in a module of its own so that recording it needs no math-verify import.

Recorded in the metadata of every file graded by ``grade_solutions.py`` and in step 1's summary;
bump it whenever a verdict can change, so that re-grading redoes the files graded by an older grader.
"""

GRADER_VERSION = "2"
