"""The REST API Lambda (DESIGN §7): ``functions.api.handler.lambda_handler``."""
