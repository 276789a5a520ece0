"""Training code for the embedded draft model: the procedural corpus and the training script."""
