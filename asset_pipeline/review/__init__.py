"""The reviewer's web app (`asset-pipeline review`): approve or reject published deliverables."""
