"""Datasets: the Kinetics-400 sample and DCSASS, grouped splits, downloads, synthetic stand-ins."""
