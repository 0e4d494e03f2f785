"""Plugins: the SDK (``plugins.sdk``, whose exports are the plugin API), the built-in nodes
(``plugins.builtin``: a folder per task plugin, ``control/`` for the control nodes), the
runtime plugin Lambdas run in (``plugins.runtime``) and the evaluator and approval
Lambdas (``plugins.system``)."""
