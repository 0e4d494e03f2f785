"""Names under which built-in plugins carry an attempt's idempotency token (issue #28).

The token itself is made by the runtime (``plugins.runtime.idempotency``) from the
invocation; these names live in the SDK so declarations and docs can name them without
importing the runtime.
"""

from __future__ import annotations

# The HTTP header http-request sends by default (the IETF draft "The Idempotency-Key HTTP
# Header Field", which Stripe, Adyen and others follow).
HEADER = "Idempotency-Key"
# The attribute, field or tag name on AWS messages and items: valid as an SQS/SNS message
# attribute name, a DynamoDB attribute name, a JSON field and an SES tag name alike.
FIELD = "idempotencyKey"
# RFC 9110 token characters: what an HTTP header name may be made of.
HEADER_NAME = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
