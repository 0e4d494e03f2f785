"""Product limits, chosen to keep every routine inside AWS's hard limits.

A routine document is stored as one DynamoDB item (400 KB), compiled to one state machine
definition (1 MB) and runs with state payloads of at most 256 KiB.
"""

MAX_DOCUMENT_BYTES = 256 * 1024  # as compact JSON, UTF-8
# A routine file as read (formatting whitespace included) may be up to four times larger.
MAX_FILE_BYTES = 4 * MAX_DOCUMENT_BYTES
MAX_DEPTH = 48
MAX_NODES = 1_000
MAX_CONNECTIONS = 4_000
MAX_VARIABLES = 200
MAX_SWITCH_RULES = 64
MAX_EVENT_PATTERN_BYTES = 4096
MAX_EXPRESSION_LENGTH = 1024
