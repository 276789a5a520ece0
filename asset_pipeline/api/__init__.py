"""`asset-pipeline serve`: the HTTP API (CONTRACT.md section 8, docs/api.md).

Two paths behind one API, on the same stage functions: real-time renders of one asset
(`realtime.py`) and batch runs of whole campaigns as Dagster runs (`batch.py`). Auth is bearer
tokens with scopes (`tokens.py`), shared with the review app; every POST and PUT is idempotent
by key (`idempotency.py`); events go out as signed webhooks from a persistent outbox
(`webhooks.py`). Everything the server keeps lives under the home's `api/` folder.
"""
