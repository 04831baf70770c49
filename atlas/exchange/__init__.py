"""Exchange: what leaves or enters a catalogue as files: bundles, graph exports, circuit
figures and seed catalogues."""
