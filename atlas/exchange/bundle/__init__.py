"""Bundles: a catalogue, or some models of it, as one zip that another catalogue merges.

Importing this package registers the ``bundle`` exchanger that ``Catalog.export_bundle``
and ``Catalog.import_bundle`` look up by name (``atlas.catalog.api.exchange``).
"""

from atlas.catalog.api.exchange import EXCHANGERS, BundleExchanger
from atlas.exchange.bundle.read import import_bundle, stage_bundle
from atlas.exchange.bundle.write import write_bundle

EXCHANGERS.register("bundle", BundleExchanger(write=write_bundle, stage=stage_bundle, merge=import_bundle))
