"""AWS CDK definition of the product. ``infra.names`` is importable without aws_cdk."""
