"""Drops one known-harmless warning that Apache Beam prints at import, and only that one.

Beam's BigQuery client package logs "apitools not found, and bigquery client libraries are not
available" on the root logger whenever the optional GCP extras are not installed; this project
never uses BigQuery, so the line is noise at every command start. A filter on the root logger
drops records with exactly that message; every other warning still shows.
"""
import logging

BEAM_APITOOLS = "apitools not found, and bigquery client libraries are not available"


class _DropBeamApitools(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "root" and str(record.msg).startswith(BEAM_APITOOLS))


def install() -> None:
    root = logging.getLogger()
    if not any(isinstance(f, _DropBeamApitools) for f in root.filters):
        root.addFilter(_DropBeamApitools())


install()
