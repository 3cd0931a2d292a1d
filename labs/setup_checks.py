"""*Check your work* for the setup lab: the learner's first exercise, a tagged S3 bucket."""

from __future__ import annotations

from typing import Any

from labs.checks import bucket_tagged, exercise

__all__ = ["tagged_bucket"]


@exercise("00", 1)
def tagged_bucket(ctx: Any, bucket: str) -> None:
    """Pass when S3 bucket ``bucket`` exists and carries the workshop's tags for lab 00.

    The tags are ``ctx.tags(lab="00")``: the workshop tag every resource carries, so that
    ``labs.cleanup`` finds it, and the lab's own.
    """
    bucket_tagged(ctx, bucket, ctx.tags(lab="00"))
