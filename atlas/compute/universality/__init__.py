"""Universality, measured: features of two models matched by the correlation of their
pre-activations over a shared stimulus set, and layers compared by linear CKA.

``moments`` accumulates the statistics (count, mean, co-moment) batch by batch and
chunk by chunk; ``assignment`` matches features one to one (Hungarian) and finds each
one's best partner; ``cka`` compares layers; ``measure`` streams a chunk of stimuli
through both models; ``plot`` draws the CKA heatmap; ``jobs`` are the job kinds.
"""
