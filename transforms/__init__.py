"""Pipeline stages: one per file, each a pure core plus a thin Beam wrapper."""
