"""Compute: models, datasets, activations, feature visualization, connections, dataset
examples, run as job kinds by workers. Importing this package does not import torch;
its modules do."""
