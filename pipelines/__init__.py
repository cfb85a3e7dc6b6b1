"""idp-corpus pipelines: options parsing, the build composition and the command line."""
from pipelines import quiet_imports  # noqa: F401 - before anything imports Apache Beam
