"""Error names a plugin Lambda fails with — the contract between the plugin runtime and the
compiler's ``Retry``/``Catch``.

Step Functions matches ``ErrorEquals`` on exact names, so the class of an error (worth
retrying or not) is part of its name. The compiler never retries the names in
:data:`NOT_RETRYABLE`, whatever the node's retry policy says: retrying bad input only
repeats the failure.
"""

from __future__ import annotations

USER_ERROR = "Routines.UserError"  # bad input or configuration: retrying cannot help
HTTP_CLIENT_ERROR = "Routines.HttpClientError"  # a 4xx answer other than 408/429
HTTP_SERVER_ERROR = "Routines.HttpServerError"  # 5xx, 408, 429: the far side may recover
OPERATIONAL_ERROR = "Routines.OperationalError"  # timeouts, throttling, connection errors
UNEXPECTED_ERROR = "Routines.UnexpectedError"  # a bug in a plugin

CODE_ERROR = "Routines.CodeError"  # a code node's code raised, or returned something not JSON
CODE_TIMEOUT = "Routines.CodeTimeout"  # it ran past its timeoutSeconds and was killed
CODE_MEMORY = "Routines.CodeMemory"  # it ran out of its memoryMB

# A code node's code is deterministic (no network module is allowed): running it again
# raises the same error and fills the same memory. A timeout may depend on the load.
NOT_RETRYABLE = (USER_ERROR, HTTP_CLIENT_ERROR, CODE_ERROR, CODE_MEMORY)

# Transient Lambda service errors: AWS recommends retrying them on every Lambda task.
LAMBDA_TRANSIENT = (
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
)
# Throttling is retried longer than AWS recommends for the transient errors: deployed plugin
# functions have reserved concurrency (infra), so a wide distributed Map waits for a free
# slot instead of failing (statemachines/machine/retry.py).
LAMBDA_THROTTLED = "Lambda.TooManyRequestsException"
