"""Instructor workflow: student versions of the lab notebooks and autograding, through nbgrader.

:mod:`utils.course.metadata` checks that exercise cells carry valid nbgrader metadata;
:mod:`utils.course.workflow` builds an nbgrader course directory from the lab notebooks and runs
nbgrader's own ``generate_assignment`` and ``autograde`` on it (``actionlab course release|grade``).
"""
