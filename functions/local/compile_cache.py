"""The local runner's compiled state machines, kept per routine document.

A routine run again on a warm local runtime (a test suite, a benchmark, ``routines
test``) was compiled again every time: ~0.6 s for a 1,000-node chain, a tenth of a
10-node chain's run. Compiling is a pure function of the validated document, the plugin
registry and the options, so the result is kept per (document text, registry and its
plugins, options) and handed out again — the definition (a string) as it is, the report
as a copy of its own, so that a caller who changes it changes no later run. The document
is still validated on every run (its errors, if any, are reported as before); only a
document that validated is compiled, or found here.
"""

from __future__ import annotations

import copy
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from plugins.sdk import PluginRegistry
from statemachines.compiler import Compiled
from statemachines.options import CompileOptions

MAX_ROUTINES = 32

Key = tuple[int, tuple[tuple[str, int, str], ...], CompileOptions, str]
_lock = threading.Lock()
_compiled: OrderedDict[Key, tuple[PluginRegistry, Compiled]] = OrderedDict()


def _key(document: Any, registry: PluginRegistry, options: CompileOptions) -> Key | None:
    try:
        text = json.dumps(document)  # key order kept: two equal texts are the same document
    except (TypeError, ValueError):
        return None
    plugins = tuple((plugin.name, id(plugin), registry.handler(plugin.name) or "") for plugin in registry)
    return (id(registry), plugins, options, text)


def compiled(
    document: Any, registry: PluginRegistry, options: CompileOptions, compile_: Callable[[], Compiled]
) -> Compiled:
    """``compile_()``'s result for this validated document, compiled once."""
    key = _key(document, registry, options)
    if key is None:
        return compile_()
    with _lock:
        kept = _compiled.get(key)
        if kept is not None and kept[0] is registry:
            _compiled.move_to_end(key)
            found: Compiled | None = kept[1]
        else:
            found = None
    if found is None:
        found = compile_()
        with _lock:
            _compiled[key] = (registry, found)
            while len(_compiled) > MAX_ROUTINES:
                _compiled.popitem(last=False)
    return Compiled(found.definition, copy.deepcopy(found.report))


def forget() -> None:
    with _lock:
        _compiled.clear()
