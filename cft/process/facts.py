"""The name of ``label_steps.py``'s summary and the keys of it that the dataset card reads: one name for writer
(``cft.process.report``) and reader (``cft.dataset.card``), in a module that imports nothing heavy."""

STEP = "step_labels"


class FACTS:
    """Keys of the step-label summary that the dataset card reads."""
    RIGHT = "right_solutions"
    LUCKY = "lucky"
    SHARE = "lucky_share"
    BY = "lucky_by"
    RULE = "lucky_rule"
    RIGHT_BY_RULE = "right_left_by_rule"
    SIGNALS = "signals"
    STATUS = "status"
    TEACHER = "teacher_model"
    COMPLETERS = "completers"
    SETTINGS = "settings"
    ROLLOUTS_PER = "rollouts_per_solution"
    VERDICTS_PER = "verdicts_per_solution"
    LABELLED = "solutions"
