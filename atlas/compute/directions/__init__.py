"""Ways to make directions from a model's activations: the difference of two image sets'
mean activations (``diff``), the non-negative factorization of a layer's activations
(``nmf``), and the job kinds that run them and store the directions (``jobs``)."""

from atlas.compute.directions.diff import mean_activation, mean_difference
from atlas.compute.directions.nmf import Factorization, activation_rows, factorize_layer, nmf

__all__ = ["Factorization", "activation_rows", "factorize_layer", "mean_activation", "mean_difference", "nmf"]
