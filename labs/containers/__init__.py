"""Containers: Dockerfiles, images, Amazon ECR (lab 08), and the orchestrators after it.

Modules (import them directly, so that importing the package stays cheap):

- ``labs.containers.dockerfile``: lint a Dockerfile with hadolint plus a few rules of our own.
- ``labs.containers.context``: ``.dockerignore`` matching and what a build context holds.
- ``labs.containers.image``: deterministic OCI images (tar.gz layers, config, manifest).
- ``labs.containers.docker``: build and run with a Docker engine, when one answers.
- ``labs.containers.ecr``: push to ECR, scan findings, lifecycle policy validation and preview.
- ``labs.containers.checks``: *Check your work* for the container lab.
- ``labs.containers.ecs``: Fargate task definitions validated, clusters and services.
- ``labs.containers.scaling``: target-tracking auto scaling simulated over a day.
- ``labs.containers.eks``: EKS cluster and node group, Kubernetes manifests validated offline,
  rolling updates with maxSurge/maxUnavailable.
- ``labs.containers.apprunner``: App Runner requests validated against botocore's model, and
  ECS Express Mode beside it.
- ``labs.containers.orchestrators``: the choose-your-orchestrator table.
- ``labs.containers.orchestration_checks``: *Check your work* for the orchestration lab.
"""
