"""Lab 2 bonus: anomaly detection without labels by next-frame prediction (UCSD Ped1/Ped2,
DCSASS). A predictor trained on normal footage only; frames it predicts badly are unusual."""
