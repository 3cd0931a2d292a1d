"""CI/CD engines: the bookstore's git repository, the buildspec runner, the pipeline executor.

Modules (import them directly): ``labs.cicd.git`` (the workshop's git repository and CodeCommit),
``labs.cicd.strategies`` (branching strategies simulated), ``labs.cicd.buildspec`` (CodeBuild
buildspec v0.2, executed locally).
"""
