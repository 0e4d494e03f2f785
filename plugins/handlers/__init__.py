"""Lambda handlers of the built-in plugins: ``plugins.handlers.<module>.handler``.

Kept apart from the declarations in ``plugins.builtin`` so that validating a routine never
imports boto3 or powertools.
"""
