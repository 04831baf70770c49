"""Relations across models: analogous features and similar layers (universality,
measured), the redundancy among best partners, and queueing the comparison that
measures them. Part of the Catalog API (mixed into ``atlas.catalog.Catalog``); the
measurement itself is the ``compare`` and ``compare.match`` job kinds of
``atlas.compute.universality``, whose matching job writes the relations when it
completes."""

from __future__ import annotations

from collections.abc import Sequence

from atlas.address import FeatureAddress, as_feature, as_layer
from atlas.catalog import audit, relations
from atlas.catalog.records import RelationInfo
from atlas.catalog.relations import Row
from atlas.catalog.resolve import get_feature
from atlas.errors import InvalidInput
from atlas.jobs.compare import enqueue_comparison
from atlas.jobs.params import check_stimuli
from atlas.vocabulary import COMPARE_CHUNK_IMAGES


class RelationsMixin:
    """Mixed into :class:`atlas.catalog.Catalog`; uses its sessions, acting user and queue."""

    def add_relations(self, relation: str, method: str, stimuli: dict, src_layer: str, dst_layer: str,
                      rows: Sequence[Row], details: dict | None = None, replace: bool = False) -> int:
        """Store measured relations between layer ``src_layer`` and ``dst_layer``: rows
        ``(src, dst, score)`` of unit channels or direction names (``analogous``), or one
        row ``(None, None, score)`` of the layers themselves (``similar``). Curators and
        above; audited with the count. Returns how many rows were written (0 when that
        pair has this method's relations over these stimuli already, unless ``replace``)."""
        src, dst = as_layer(src_layer), as_layer(dst_layer)
        check_stimuli(stimuli)
        with self._writing() as session:
            actor = self._computing_actor(session)
            added = relations.put_pair(session, relation, method, stimuli, src, dst, rows, details,
                                       replace=replace)
            audit.record(session, actor, "relations.add", "layer", f"{src}->{dst}", None,
                         {"relation": relation, "method": method, "rows": added, "replace": replace})
            return added

    def relations(self, src_layer: str, dst_layer: str, relation: str = "analogous",
                  method: str | None = None, stimuli: dict | None = None) -> list[RelationInfo]:
        """The relations stored from layer ``src_layer`` to ``dst_layer`` (over ``stimuli``
        if given), best first."""
        with self._reading() as session:
            return relations.between(session, as_layer(src_layer), as_layer(dst_layer), relation, method, stimuli)

    def analogues(self, feature: str | FeatureAddress, method: str | None = None) -> list[RelationInfo]:
        """The features measured as analogous to ``feature`` (it is either end), best first."""
        address = as_feature(feature)
        with self._reading() as session:
            return relations.of_feature(session, get_feature(session, address)[0].id, method)

    def redundancy(self, src_layer: str, dst_layer: str, threshold: float,
                   stimuli: dict | None = None) -> list[tuple[str, list[str]]]:
        """The features of ``dst_layer`` that several features of ``src_layer`` have as
        their best partner (``pooled.best``) at or above ``threshold``, each with those
        features; the most shared first (``relations.shared_partners``)."""
        return relations.shared_partners(self.relations(src_layer, dst_layer, method="pooled.best", stimuli=stimuli),
                                         threshold)

    def layer_similarity(self, model_a: str, model_b: str, stimuli: dict | None = None) -> list[RelationInfo]:
        """The layer-level similarities (CKA) stored from layers of ``model_a`` to layers
        of ``model_b`` (over ``stimuli`` if given)."""
        for model in (model_a, model_b):
            self.model(model)  # an unknown model: one line
        with self._reading() as session:
            return relations.of_models(session, model_a, model_b, stimuli)

    def enqueue_comparison(self, a: str, b: str, stimuli: dict, chunk_images: int = COMPARE_CHUNK_IMAGES,
                           force: bool = False, author: str | None = None) -> list[int]:
        """Queue the comparison of layer ``a`` with layer ``b`` (usually of two models)
        over ``stimuli`` (``{"dataset": spec, "sweeps": [specs]}``): chunk jobs of
        ``chunk_images`` images and the matching job that waits for them (the last id),
        which stores the analogous features of the two layers and the similarity of every
        layer of one model with every layer of the other. Curators; audited."""
        actor = self._job_actor(author, "queue compute jobs")
        layer_a, layer_b = self.layer(a), self.layer(b)
        if (layer_a.model, layer_a.name) == (layer_b.model, layer_b.name):
            raise InvalidInput(f"{a} compared with itself: name two different layers")
        for model in {layer_a.model, layer_b.model}:
            self.model(model).check_not_imported()
        check_stimuli(stimuli)
        layers_a = [layer.name for layer in self.layers(layer_a.model)]
        layers_b = [layer.name for layer in self.layers(layer_b.model)]
        details = {"kind": "compare", "with": f"{layer_b.model}/{layer_b.name}", "stimuli": stimuli,
                   "chunk_images": chunk_images, "force": force}
        return self._enqueue(actor, f"{layer_a.model}/{layer_a.name}", details,
                             lambda: enqueue_comparison(self._queue, layer_a, layer_b, layers_a, layers_b, stimuli,
                                                        chunk_images, force))
