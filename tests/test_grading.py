"""cft.grading against real math-verify: extraction rules, 40+ answer forms, timeouts, batch."""

import time

import pytest

from cft.grading import (
    CORRECT,
    INCORRECT,
    NO_ANSWER,
    TIMEOUT,
    extract_answer,
    grade_batch,
    grade_problem,
    grade_solution,
    is_correct,
)


@pytest.mark.parametrize("text, expected", [
    (r"so \boxed{\frac{1}{2}}", r"\frac{1}{2}"),           # nested braces: the old regex cut this to \frac{1
    (r"first \boxed{3}, finally \boxed{4}", "4"),            # the LAST box
    (r"\boxed{\boxed{7}}", "7"),                              # a box inside a box
    (r"x = \fbox{10}", "10"),                                 # \fbox
    (r"\boxed {x^{2}}", "x^{2}"),                             # space before the brace
    (r"\boxed{\{1, 2\}}", r"\{1, 2\}"),                       # escaped braces inside
    (r"\boxed{a} and \boxed{\text{b}}", r"a, \text{b}"),      # the final sentence's boxes, joined
    ("The answer is 42.", None),                              # no box: no answer, no number fallback
    (r"we get \boxed{", None),                                # cut off mid-box
    (r"\boxed{}", None),                                      # empty box
    ("", None),
])
def test_extract_answer(text, expected):
    assert extract_answer(text) == expected


# (boxed answer, ground truth, expected): 40+ forms the pipeline meets in DeepScaleR / MATH.
FORMS = [
    (r"\frac{1}{2}", r"\frac{1}{2}", True),
    (r"\dfrac{1}{2}", r"\frac12", True),
    ("0.5", r"\frac{1}{2}", True),
    ("1/2", r"\frac{1}{2}", True),
    (r"\frac{2}{4}", r"\frac{1}{2}", True),
    (r"\frac{1}{3}", r"\frac{1}{2}", False),
    (r"-\frac{3}{4}", "-0.75", True),
    (r"2\sqrt{3}", r"\sqrt{12}", True),
    (r"\sqrt{2}/2", r"\frac{\sqrt{2}}{2}", True),
    (r"3\sqrt{2}", r"2\sqrt{3}", False),
    (r"\frac{\sqrt{3}}{3}", r"\frac{1}{\sqrt{3}}", True),
    ("(1,3]", "(1,3]", True),
    ("(1,3)", "(1,3]", False),
    (r"[2, \infty)", r"[2,\infty)", True),
    (r"(-\infty, 0) \cup (1, \infty)", r"(-\infty,0)\cup(1,\infty)", True),
    ("(1, 2)", "(1,2)", True),
    ("(2, 1)", "(1,2)", False),
    (r"\left( 3, \frac{\pi}{2} \right)", r"\left( 3, \frac{\pi}{2} \right)", True),
    (r"\pi", r"\pi", True),
    (r"2\pi", r"2 \pi", True),
    (r"\frac{\pi}{4}", r"\pi/4", True),
    ("3.14", r"\pi", False),
    (r"30^\circ", "30", True),
    (r"30^{\circ}", r"30^\circ", True),
    ("45", r"45^\circ", True),
    (r"50\%", "50", True),
    ("50", r"50\%", True),
    (r"10{,}000", "10000", True),
    ("10,000", "10000", True),
    (r"\text{(B)}", "B", True),
    ("(C)", "C", True),
    ("B", "C", False),
    (r"\textbf{(E)}", r"\text{(E)}", True),
    (r"\text{Monday}", r"\text{Monday}", True),
    (r"\text{Tuesday}", r"\text{Monday}", False),
    ("x^2+2x+1", "(x+1)^2", True),
    ("2x+1", "1+2x", True),
    ("x = 5", "5", True),
    ("-7", "-7", True),
    ("7", "-7", False),
    ("1000", "1,000", True),
    ("1.5", r"\frac{3}{2}", True),
    (r"\{1, 2, 3\}", r"\{3, 2, 1\}", True),
    ("3, 5", "5, 3", True),
    (r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}", r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}", True),
    (r"6\text{ cm}", "6", True),
    (r"2^{10}", "1024", True),
    (r"e^{2}", r"e^2", True),
    (r"\log_2 8", "3", True),
    ("0", "1", False),
]


@pytest.mark.parametrize("answer, truth, expected", FORMS)
def test_answer_forms(answer, truth, expected):
    text = f"Working... so the final answer is $\\boxed{{{answer}}}$."
    assert is_correct(text, truth) is expected


def test_forms_table_is_broad():
    assert len(FORMS) >= 40
    assert sum(1 for *_, e in FORMS if not e) >= 8  # wrong answers are caught, not just right ones


def test_no_box_is_wrong_even_with_right_number():
    g = grade_solution("2 + 2 = 4, so the answer is 4", "4")
    assert (g.extracted_answer, g.grade, g.correct) == (None, NO_ANSWER, False)


def test_only_last_box_counts():
    assert not is_correct(r"maybe \boxed{4}? no: \boxed{5}", "4")
    assert is_correct(r"maybe \boxed{5}? no: \boxed{4}", "4")


def test_bare_latex_ground_truth_is_parsed():
    assert is_correct(r"\boxed{0.5}", r"\frac{1}{2}")
    assert is_correct(r"\boxed{(1, 3]}", "(1,3]")
    assert not is_correct(r"\boxed{[1, 3]}", "(1,3]")


def test_grade_records_why():
    assert grade_solution(r"\boxed{4}", "4").grade == CORRECT
    assert grade_solution(r"\boxed{5}", "4").grade == INCORRECT


def test_pathological_answer_times_out_quickly():
    # a tower that sympy tries to evaluate: bounded by the deadline, graded wrong, no hang
    text = r"\boxed{9^{9^{9^{9^{9^{9}}}}} - 9^{9^{9^{9^{9^{9}}}}} + 1}"
    t0 = time.monotonic()
    g = grade_solution(text, "1", timeout_s=0.5)
    elapsed = time.monotonic() - t0
    assert elapsed < 10
    assert g.grade in (TIMEOUT, CORRECT, INCORRECT)
    if g.grade == TIMEOUT:
        assert not g.correct


def test_timeout_grade_is_wrong():
    # a deadline that cannot be met: the grade says timeout, and timeout is wrong
    g = grade_solution(r"\boxed{\frac{1}{2}+\frac{1}{3}+\frac{1}{5}+\frac{1}{7}}", r"\frac{247}{210}",
                       timeout_s=1e-6)
    assert g.grade == TIMEOUT and not g.correct


def test_batch_in_processes_matches_serial():
    problems = [([rf"\boxed{{{i}}}", rf"\boxed{{{i + 1}}}", "no box"], str(i)) for i in range(40)]
    serial = [grade_problem(texts, gt) for texts, gt in problems]
    parallel = grade_batch(problems, workers=2)
    assert parallel == serial
    assert [g.grade for g in parallel[3]] == [CORRECT, INCORRECT, NO_ANSWER]


def test_problem_checks_each_distinct_answer_once(monkeypatch):
    import cft.grading.grader as grading

    checked = []
    real = grading._matches
    monkeypatch.setattr(grading, "_matches", lambda answer, gold: checked.append(answer) or real(answer, gold))
    texts = [r"so \boxed{\frac{1}{2}}", r"other words \boxed{\frac{1}{2}}", r"\boxed{0.5}", r"\boxed{3}",
             r"\boxed{3}", "no box", "still no box"]
    grades = grade_problem(texts, "1/2")
    assert sorted(checked) == sorted([r"\frac{1}{2}", "0.5", "3"])
    assert grades == [grade_solution(t, "1/2") for t in texts]
    assert [g.grade for g in grades] == [CORRECT, CORRECT, CORRECT, INCORRECT, INCORRECT, NO_ANSWER, NO_ANSWER]


@pytest.mark.parametrize("text, truth, expected", [
    (r"\boxed{007}", "7", CORRECT), (r"\boxed{-0}", "0", CORRECT), (r"\boxed{+5}", "5", CORRECT),
    (r"\boxed{8}", "7", INCORRECT), (r"\boxed{-7}", "7", INCORRECT), (r"\boxed{70}", "7", INCORRECT),
    (r"\boxed{" + "9" * 5000 + "}", "9" * 5000, CORRECT), (r"\boxed{" + "9" * 5000 + "}", "1", INCORRECT),
    (r"\boxed{7.0}", "7", CORRECT), (r"\boxed{\frac{14}{2}}", "7", CORRECT),  # not integer literals: math-verify
])
def test_integer_answers(text, truth, expected):
    assert grade_solution(text, truth).grade == expected


# --- answers as models write them (issue 11): each class with its negatives -------------------

@pytest.mark.parametrize("text, expected", [
    (r"The solutions are $\boxed{2}$ and $\boxed{3}$.", "2, 3"),
    (r"So $x=\boxed{5}$ or $x=\boxed{-5}$.", "5, -5"),
    (r"\[\boxed{(1, 2)}, \boxed{(2, 1)}\]", "(1, 2), (2, 1)"),
    (r"$x_1 = \boxed{1}$ \quad \text{and} \quad $x_2 = \boxed{4}$", "1, 4"),
    (r"$\boxed{4}$, $\boxed{4}$", "4"),                                   # the same box twice: once
    (r"I first got \boxed{3}. Checking again, the answer is \boxed{4}.", "4"),   # another sentence
    (r"\boxed{3}, but after checking, \boxed{4}", "4"),                   # words that are not a joiner
    ("\\boxed{3}\n\n\\boxed{4}", "4"),                                    # two paragraphs
])
def test_final_sentence_boxes(text, expected):
    assert extract_answer(text) == expected


MODEL_FORMS = [
    # several boxes that together state the answer
    (r"The solutions are $\boxed{2}$ and $\boxed{3}$.", "2, 3", True),
    (r"The solutions are $\boxed{3}$ and $\boxed{2}$.", "2, 3", True),
    (r"The solutions are $\boxed{2}$ and $\boxed{4}$.", "2, 3", False),
    (r"So $x=\boxed{5}$ or $x=\boxed{-5}$.", r"\pm 5", True),
    (r"So $x=\boxed{5}$ or $x=\boxed{5}$.", r"\pm 5", False),
    (r"It is $\boxed{3}$ or $\boxed{4}$.", "4", False),                   # a hedge is not the answer
    (r"\boxed{3}. Wait, that is wrong: the answer is \boxed{4}.", "4", True),
    # plus-minus
    (r"\boxed{\pm 5}", "5, -5", True),
    (r"\boxed{5}", r"\pm 5", False),
    (r"\boxed{1 \pm \sqrt{2}}", r"1+\sqrt{2}, 1-\sqrt{2}", True),
    # a choice letter with its value
    (r"\boxed{\textbf{(B) } 14}", "14", True),
    (r"\boxed{\textbf{(B) } 14}", "B", True),
    (r"\boxed{\text{(C)}\ 5}", "C", True),
    (r"\boxed{(B)\ 14}", r"\text{(B) }14", True),
    (r"\boxed{\textbf{(B) } 14}", "C", False),
    (r"\boxed{\textbf{(B) } 14}", "15", False),
    (r"\boxed{\text{(C)}\ 5}", "B", False),
    (r"\boxed{14}", "B", False),
    # units, with exponents
    (r"\boxed{48\,\text{m}^2}", "48", True),
    (r"\boxed{48 \text{ cm}^{2}}", "48", True),
    (r"\boxed{12\pi \text{ square units}}", r"12\pi", True),
    (r"\boxed{48\,\text{m}^2}", "49", False),
    (r"\boxed{48\,\text{m}^2}", "2304", False),
    # a percent against a decimal
    (r"\boxed{12\%}", "0.12", True),
    (r"\boxed{12\%}", "12", True),
    (r"\boxed{0.12}", r"12\%", True),
    (r"\boxed{12\%}", "0.13", False),
    (r"\boxed{12}", "0.12", False),
    (r"\boxed{0.5\%}", "0.5", True),
    # the empty set
    (r"\boxed{\emptyset}", r"\text{no solution}", True),
    (r"\boxed{\text{No solution}}", r"\emptyset", True),
    (r"\boxed{\varnothing}", "None", True),
    (r"\boxed{\emptyset}", "0", False),
    (r"\boxed{\text{no solution}}", r"\{1\}", False),
    (r"\boxed{0}", r"\emptyset", False),
    # an inequality for an interval
    (r"\boxed{x < 2}", r"(-\infty, 2)", True),
    (r"\boxed{x \ge 3}", r"[3, \infty)", True),
    (r"\boxed{1 < x \le 4}", r"(1, 4]", True),
    (r"\boxed{x < 2 \text{ or } x > 5}", r"(-\infty, 2) \cup (5, \infty)", True),
    (r"\boxed{x \in [1, 3]}", "[1, 3]", True),
    (r"\boxed{x \le 2}", r"(-\infty, 2)", False),
    (r"\boxed{x > 2}", r"(-\infty, 2)", False),
    (r"\boxed{1 < x < 4}", r"(1, 4]", False),
    # an approximate decimal against an exact ground truth
    (r"\boxed{0.142857}", r"\frac{1}{7}", False),
    (r"\boxed{1.414}", r"\sqrt{2}", False),
    (r"\boxed{0.3333}", r"\frac{1}{3}", False),
    (r"\boxed{0.125}", r"\frac{1}{8}", True),
    (r"\boxed{7.0}", "7", True),
    (r"\boxed{1.4142135623730951}", r"\sqrt{2}", True),                  # a double's full repr
    (r"\boxed{\frac{1}{4}}", "0.25", True),                               # the reference is a decimal
]


@pytest.mark.parametrize("text, truth, expected", MODEL_FORMS)
def test_model_written_forms(text, truth, expected):
    assert is_correct(text, truth) is expected


def test_model_forms_table_has_negatives_for_each_class():
    assert sum(1 for *_, e in MODEL_FORMS if not e) >= 20


def test_grader_version_is_a_string():
    from cft.grading import GRADER_VERSION

    assert isinstance(GRADER_VERSION, str) and GRADER_VERSION
