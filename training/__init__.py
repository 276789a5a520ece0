"""Training code for the embedded draft model (outside the wheel): the procedural corpus, the training
script (`python -m training.train_embedded`) and the evaluation."""
