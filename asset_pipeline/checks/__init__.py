"""Quality checks for deliverables: plain functions over plain data (no Dagster).

Every check returns `result.CheckResult`s; a deliverable is publishable only when all of
its results passed. `suite` holds the publication checks and their parallel runner, `ocr`
the per-box text read-back, `hallucination` the words a model painted on its own, and
`tesseract` the one place tesseract is run.
"""
