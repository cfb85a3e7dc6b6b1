"""The one source of truth for idp-corpus records: in-flight dataclasses, shard layout, manifests."""
