"""Product limits, chosen to keep every routine inside AWS's hard limits, and the shape of
the names a document may give.

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
# An execution input larger than this is stored in S3 by its starter (a trigger, the API):
# the machine receives a reference to it, keeping inline the top-level fields that fit.
# JSONata machines read the trigger from the execution's context, not from each state's
# payload, so it can be larger than the 16 KiB of the JSONPath machines: 64 KiB lets a loop
# run over a webhook's list of a few hundred entries, and the Express wrapper's record still
# holds it beside a 256 KiB output within DynamoDB's 400 KB item.
TRIGGER_INLINE_BYTES = 64 * 1024
# A loop over a list that is in S3 (a trigger over that room, an output over its share of
# the variables) gets it back from the evaluator into a workflow variable (256 KiB each on
# AWS): the answer, {"items": […]}, stays under the 250 KiB past which a Task's result goes
# to S3 itself; a larger list needs a distributed loop.
LOOP_ITEMS_BYTES = 240 * 1024
# A port name: an output of a switch rule, an input of a node.
PORT_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
# A loop's results are one list in one variable (256 KiB on AWS): each iteration's result
# gets a share of it, room ÷ count. Where that share is under SPILL_SHARE — too small to be
# worth a reference to S3 (a reference alone is about 200 bytes) — an iteration's result
# over its share is stored in S3 under the iteration's own key and the iteration hands back
# null; the evaluator then gathers the results into one list (in S3 itself when over the
# room), so a loop of any size hands on all its results.
SPILL_SHARE = 1024
# ... but the list of nulls the iterations hand back is itself a state's result (256 KiB):
# 6 bytes each ("null, ") with a margin for the results kept inline.
MOST_LOOP_RESULTS = 40_000
# How a loop over more items than that is refused (by the items' Choice, or the evaluator),
# after "loop over N ".
TOO_MANY_RESULTS = (
    f"items: a loop whose results are read hands on at most {MOST_LOOP_RESULTS:,} results (their "
    "list is the result of one state: 256 KiB); split the list, or read no result of the loop"
)
