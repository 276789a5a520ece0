"""The review app accepts the API's stored tokens too (one scheme for both), beside its start-up token."""

from __future__ import annotations

from asset_pipeline.api.tokens import TokenStore
from asset_pipeline.home import Home
from asset_pipeline.review.app import Review


def test_the_review_app_takes_its_start_up_token_and_stored_tokens_with_the_review_scope(tmp_path):
    home = Home(tmp_path)
    store = TokenStore(home)
    review = Review(home, "start-up-token-0123456789", host="0.0.0.0")  # off loopback: reads need a token
    reviewer, render, reader, admin = (store.create([scope])[1] for scope in ("review", "render", "read", "admin"))
    assert review.accepts("start-up-token-0123456789")  # today's behaviour is kept
    assert review.accepts(reviewer) and review.accepts(admin)
    assert not review.accepts(render) and not review.accepts(reader) and not review.accepts(None)
    assert review.accepts(reader, "read") and not review.accepts(render, "read")  # reading where it needs a token
    store.revoke(reviewer.split("_")[1])
    assert not review.accepts(reviewer)
