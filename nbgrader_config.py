"""nbgrader configuration of the pancake course: run every ``nbgrader`` command from this folder.

solutions/NN-name/   nbgrader's source: the generated notebooks with answers and hidden tests
exercises/NN-name/   nbgrader's release: what learners get (``make exercises`` writes both)
submitted/<student>/NN-name/   collected submissions        (the next three are gitignored)
autograded/, feedback/         written by autograde and generate_feedback
gradebook.db                   the grades; ``make exercises`` records the assignments in it
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent

c = get_config()  # noqa: F821 -- nbgrader provides get_config when it loads this file

c.CourseDirectory.course_id = "pancake"
c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = f"sqlite:///{ROOT / 'gradebook.db'}"

# Grading never runs learner code in nbgrader's kernel. The submission is first rebuilt
# from the source notebook (only answer cells come from the learner: deleted, edited or
# copied read-only cells change nothing); then each part runs in a fresh sandboxed
# interpreter against a pancake without the assignment's answers, the checks imported
# before the learner's code (pancake/course/grading/). nbgrader scores the outputs and
# writes the gradebook in this process. A graded test still running after 30 s is
# stopped and scores 0; the other tests are graded all the same.
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "pancake.course.grading.preprocessors.RebuildFromSource",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "pancake.course.grading.preprocessors.GradeInSandbox",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.GradeInSandbox.seconds_per_test = 30
