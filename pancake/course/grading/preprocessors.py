"""nbgrader preprocessors that grade a submission without running it in nbgrader's kernel.

``nbgrader_config.py`` puts ``RebuildFromSource`` first among ``Autograde``'s sanitizing
steps and ``GradeInSandbox`` in place of ``Execute``. nbgrader then scores the graded
cells from the outputs written here and fills the gradebook itself, in the grader's
process: the learner's code never runs where it could reach the gradebook.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Float, Integer

from pancake.course.grading import notebooks, sandbox
from pancake.course.grading.grader import Grader


def _course(preprocessor: NbGraderPreprocessor) -> CourseDirectory:
    return CourseDirectory(config=preprocessor.config)


class RebuildFromSource(NbGraderPreprocessor):
    """The instructor's source notebook with the learner's answer cells put in.

    Restores deleted or edited read-only cells, drops copied graded cells and free
    cells, so that nbgrader's later steps always meet the notebook they released.
    """

    def preprocess(self, nb, resources):
        course = _course(self)
        ids = resources["nbgrader"]
        source = Path(course.format_path(course.source_directory, ".", ids["assignment"]))
        path = source / f"{ids['notebook']}.ipynb"
        if not path.exists():
            self.log.warning("no source notebook %s: grading the submission as it is", path)
            return nb, resources
        rebuilt = notebooks.rebuild(nbformat.read(path, as_version=4), nb)
        rebuilt.metadata = nb.metadata
        return rebuilt, resources


class GradeInSandbox(NbGraderPreprocessor):
    """Run each part in a fresh sandboxed interpreter and write the results into the cells."""

    seconds_per_test = Float(30.0, help="time limit of each graded test").tag(config=True)
    memory_megabytes = Integer(3072, help="address space of each part's interpreter").tag(
        config=True
    )

    reuse_results = Bool(
        True, help="use the results of an earlier run of the same part (the class command's)"
    ).tag(config=True)

    @property
    def limits(self) -> sandbox.Limits:
        """The limits of each part's interpreter, as configured."""
        return sandbox.Limits(
            seconds_per_test=self.seconds_per_test, memory_bytes=self.memory_megabytes * 1024**2
        )

    def preprocess(self, nb, resources):
        sandbox.warn_if_unsandboxed()
        course = _course(self)
        grader = Grader(Path(course.root), self.limits, reuse_results=self.reuse_results)
        outcomes = grader.grade(resources["nbgrader"]["assignment"], nb)
        notebooks.write_outcomes(nb, outcomes)
        for outcome in outcomes:
            if outcome.stopped:
                self.log.warning("%s: %s", resources["nbgrader"]["student"], outcome.stopped)
        return nb, resources
