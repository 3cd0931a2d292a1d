"""The bookstore's own unit tests (run by CodeBuild with ``python -m pytest bookstore/tests``)."""
