"""AWS CDK definition of the product. ``contract.names`` is importable without aws_cdk."""
