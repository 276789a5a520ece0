"""Opening the home's Dagster instance, mending what a killed first run can leave half-made."""

from __future__ import annotations

import dagster as dg
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from asset_pipeline.home import Home
from asset_pipeline.storage.files import file_lock


def open_instance(home: Home) -> dg.DagsterInstance:
    """The instance at $DAGSTER_HOME, its schema whole.

    Opening it creates its SQLite schema the first time; two processes starting together
    would both try (`table ... already exists`), so they take turns on a lock.
    """
    with file_lock(home.locks / "instance.lock"):
        instance = dg.DagsterInstance.get()
        mend_event_index(instance)
        return instance


def mend_event_index(instance: dg.DagsterInstance) -> None:
    """Finish the event log's index database if a kill cut its creation short.

    Dagster creates the SQLite index only when its file is missing, so a process killed
    between creating the file and its tables leaves an index that every later run refuses
    ("requires the dynamic partitions table ... run `dagster instance migrate`", and migrating
    does not help). Its first connection runs the idempotent create-and-stamp that finishes it.
    The run and schedule databases check their own schema on every open.
    """
    storage = instance.event_log_storage
    if isinstance(storage, SqliteEventLogStorage) and not storage.has_table("dynamic_partitions"):
        with storage.index_connection():
            pass
