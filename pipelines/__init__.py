"""idp-corpus pipelines: options parsing, the build composition and the command line."""
