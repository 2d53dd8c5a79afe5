"""Age regression from a face photo (lab 2, bonus 05): the retail brief's data format, a
generated stand-in, a UTKFace converter, cached ResNet embeddings, a regression head, and the
"ask for ID below predicted age X" risk of the alcohol-sale check."""
