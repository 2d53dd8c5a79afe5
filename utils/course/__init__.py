"""Instructor workflow: student versions of the lab notebooks and autograding, through nbgrader.

:mod:`utils.course.metadata` checks that exercise cells carry valid nbgrader metadata;
:mod:`utils.course.workflow` builds an nbgrader course directory from the lab notebooks and runs
nbgrader's own ``generate_assignment`` and ``autograde`` on it (``actionlab course release|grade``);
:mod:`utils.course.setup_cell` generates every notebook's Colab setup cell from one template
(``actionlab course setup-cells``), and :mod:`utils.course.bootstrap` is what that cell runs.
"""
