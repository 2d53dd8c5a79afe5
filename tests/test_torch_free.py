"""Lab 3 needs no torch: its Colab cell installs only the ``lab3`` extra (pyproject.toml), which
has neither torch nor the video stack. Every module of ``utils.alerts`` and the ``actionlab
alerts`` help are run in a fresh interpreter, whose ``sys.modules`` must then hold no torch, av,
torchvision or cv2 (a fresh process: this test session has imported torch long ago)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from utils.paths import REPO_ROOT

HEAVY = ("torch", "torchvision", "av", "cv2")

IMPORT_ALERTS = """
import importlib, pkgutil
import utils.alerts
for module in pkgutil.walk_packages(utils.alerts.__path__, "utils.alerts."):
    importlib.import_module(module.name)
"""
ALERTS_HELP = """
import contextlib, io
from utils.cli import main
for argv in (["alerts", "--help"], ["alerts", "curve", "--help"], ["alerts", "plan", "--help"]):
    with contextlib.redirect_stdout(io.StringIO()) as shown:
        try:
            main(argv)
        except SystemExit as done:
            assert done.code == 0, (argv, done.code)
    assert "usage: actionlab alerts" in shown.getvalue(), argv
"""
REPORT = """
import json, sys
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules} & set(HEAVY))))
"""


def heavy_modules_after(code: str) -> list[str]:
    """The heavy top-level packages a fresh interpreter holds after running ``code``."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", f"HEAVY = {HEAVY!r}\n{code}\n{REPORT}"],
                          capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("code", [IMPORT_ALERTS, ALERTS_HELP], ids=["import", "help"])
def test_lab3_code_imports_no_torch_or_video_stack(code: str) -> None:
    assert heavy_modules_after(code) == []


def test_the_probe_sees_torch_when_it_is_imported() -> None:
    """The check can fail: a module that does import torch is reported."""
    assert "torch" in heavy_modules_after("import utils.models.backends")
