"""Offline runs of the synthesized workflows: no AWS account, no Docker.

`python -m localrun orders` executes the state machine from `cdk.out` on moto's ASL interpreter, with the
real Lambda handlers from `lambdas/` running in-process. The product code knows nothing of this package.
"""
