"""The dataset folder on disk: its layout, its committed versions (index, parts, stats), the
lease and run folders of the runs that change it, and the lookups of what it already holds.

Beam stages that read or commit a dataset (skip_known, known_ids, finalize, write, staging)
go through these modules; nothing else names a file of the folder.
"""
