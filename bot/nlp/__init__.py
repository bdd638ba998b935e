"""Language processing without Rasa: segmentation of zh/en/mixed text."""
