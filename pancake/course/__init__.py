"""The graded exercises, generated from the package: specs, notebook generator and checks.

- ``pancake.course.spec``: what an assignment is (parts, instructions, visible checks,
  hidden graded tests);
- ``pancake.course.assignments``: one spec module per assignment;
- ``pancake.course.sources`` and ``pancake.course.notebook``: an answer's source and
  imports, read from the package, and the nbgrader source notebook built around them;
- ``pancake.course.generate``: ``python -m pancake.course.generate`` writes the nbgrader
  source notebooks into ``solutions/`` and releases them into ``exercises/``.
- ``pancake.course.edition``: ``pancake-course release DIR --through N`` writes the
  learner edition, the package with the answers of the exercises after N stubbed;
- ``pancake.course.learner`` and ``pancake.course.cli``: ``pancake-course save``,
  ``restore`` and ``status``, which run in the learner edition. Of this package, the
  learner edition ships only these two modules (and ``exercises.json``).

- ``pancake.course.prelude``: the names every graded test may use (``graded``, ``given``...).

The hidden tests call the checks of ``pancake.testing`` (``check_gradients``, and one
module per subject for what is not a module: optimizers, loaders, autograd Functions,
stax layers...).
"""
