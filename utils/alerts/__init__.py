"""Production alerts: loading and validation, per-camera #FP = f(recall) curves, uniformity across
cameras, and per-camera threshold planning (lab 3)."""
