"""Published frame-level ROC-AUC on UCSD Ped2, as given data (not reproduced here).

Each row names the paper and the table; frame-level AUC is computed over all test frames pooled
(the protocol the papers use). They train far larger models for many hours on full-size frames:
a lab run is a different setting, shown for scale, not as a like-for-like comparison. The values
were written down from the papers' tables; the paper texts could not be opened where this module
was written, so check them against the PDFs (arXiv ids below) before quoting them elsewhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

PUBLISHED_PED2 = (
    {"method": "Conv-AE (regularity score)", "frame_auc": 0.900,
     "paper": "Hasan et al., Learning Temporal Regularity in Video Sequences, CVPR 2016",
     "where": "arXiv:1604.04574, table of anomaly-detection AUC (UCSD Ped2)"},
    {"method": "Conv-AE, as re-evaluated by Liu et al.", "frame_auc": 0.850,
     "paper": "Liu et al., Future Frame Prediction for Anomaly Detection - A New Baseline, "
              "CVPR 2018",
     "where": "arXiv:1712.09867, Table 2 (AUC of different methods)"},
    {"method": "Future frame prediction (U-Net + GAN + flow)", "frame_auc": 0.954,
     "paper": "Liu et al., Future Frame Prediction for Anomaly Detection - A New Baseline, "
              "CVPR 2018",
     "where": "arXiv:1712.09867, Table 2 (AUC of different methods)"},
)


def published_table() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(list(PUBLISHED_PED2))
