"""ASL emission: a validated routine → a state machine of typed states.

The emitter walks the static simulation of :mod:`statemachines.walk` and emits, per node:

- plugin → ``Task`` on the plugin's Lambda (``Retry``/``Catch``/``TimeoutSeconds``);
- ``if``/``switch`` → ``Choice`` with native rules, or the evaluator Lambda and a ``Choice``;
- ``loop`` → ``Map``; ``wait`` → ``Wait``; ``approval`` → ``.waitForTaskToken`` Task and a
  ``Choice`` on the decision; ``stop`` → ``Succeed``/``Fail``;
- ``merge`` and disabled nodes → nothing (they only pass activation on).

Several activated nodes at once become a ``Parallel`` when their downstream regions are
disjoint up to where they meet, and when whether each meeting node runs is known without
looking inside the branches; otherwise they run one after another (correct, less
parallel, with a warning). Branch documents are joined with ``States.JsonMerge``.

Modules, one construct each: ``scope`` (the vocabulary: scopes, steps, outcomes, links),
``base`` (liveness analysis, adding and naming states), ``tasks`` (Tasks, payloads,
operands), ``branching`` (if/switch/wait/approval/stop), ``loops`` (Map), ``parallel``
(Parallel joins) and ``driver`` (the walk, and each scope's exits).
"""

from statemachines.emitter.driver import Emitter

__all__ = ["Emitter"]
