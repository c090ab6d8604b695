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

# Grading runs every cell with a time limit: a cell still running after 30 s (an endless
# loop) is interrupted, gets an error (so its graded test scores 0) and grading goes on
# with the next cell. Each graded test cell stands alone, so the rest still counts.
c.ExecutePreprocessor.timeout = 30
c.ExecutePreprocessor.interrupt_on_timeout = True

# A learner who deletes a graded test cell gets it back (and graded) rather than a gap.
c.OverwriteCells.add_missing_cells = True
