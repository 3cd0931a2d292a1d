"""CI/CD engines: the bookstore's git repository, the buildspec runner, the pipeline executor.

Modules (import them directly): ``labs.cicd.git`` (the workshop's bookstore git repository),
``labs.cicd.codecommit`` (CodeCommit on the emulator and the real-account recipes),
``labs.cicd.strategies`` (branching strategies simulated), ``labs.cicd.buildspec`` (CodeBuild
buildspec v0.2, executed locally), ``labs.cicd.pipeline`` (CodePipeline V2 definitions and the
executor that runs them), ``labs.cicd.checks``, ``labs.cicd.build_checks`` and
``labs.cicd.pipeline_checks`` (the labs' Check your work helpers).
"""
