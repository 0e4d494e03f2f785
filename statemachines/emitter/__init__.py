"""ASL emission: a validated routine → a state machine of typed states.

The emitter walks the static simulation of :mod:`statemachines.walk` and emits, per node:

- plugin → ``Task`` on the plugin's Lambda (``Retry``/``Catch``/``TimeoutSeconds``);
- ``if``/``switch`` → ``Choice`` with native rules, or the evaluator Lambda and a ``Choice``;
- ``loop`` → ``Map``; ``wait`` → ``Wait``; ``approval`` → ``.waitForTaskToken`` Task and a
  ``Choice`` on the decision; ``stop`` → ``Fail``, the result, or (inside a Parallel or
  Map) an error caught at the top;
- ``merge`` and disabled nodes → nothing (they only pass activation on).

The top scope ends with the execution's result, a loop body with its iteration's result.

Several activated nodes at once become a ``Parallel`` when their downstream regions are
disjoint up to where they meet, and when whether each meeting node runs is known without
looking inside the branches; otherwise they run one after another (correct, less
parallel, with a warning). Branch documents are joined with ``States.JsonMerge``.

Modules, one construct each: ``scope`` (the vocabulary: scopes, steps, outcomes, links),
``base`` (liveness analysis, adding and naming states), ``tasks`` (Tasks, payloads,
operands, caught error records), ``branching`` (if/switch/wait/approval), ``exits`` (each
scope's end: results, ``stop``), ``loops`` (Map), ``parallel`` (Parallel joins) and
``driver`` (the walk).
"""

from statemachines.emitter.driver import Emitter

__all__ = ["Emitter"]
