"""FIND towers: the representation center, modality encoders, fusion, alignment and the user index."""
