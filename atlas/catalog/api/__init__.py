"""The Catalog's methods, one module per noun: each is a mixin of ``atlas.catalog.Catalog``
that uses its sessions (``_reading``, ``_writing``), its blob store and job queue, and its
acting user (``_author``). Users, models, layers and features; labels; evidence; circuits;
families; computed artifacts and edges; jobs; search and the audit log; graph walks;
browsing pages; exchange (bundles and seeds)."""
