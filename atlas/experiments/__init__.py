"""Claims as experiments: the torch-free schema of what a claim's experiment does
(``spec``); the executor that runs one is ``atlas.compute.experiments``."""
