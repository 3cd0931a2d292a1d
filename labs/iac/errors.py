"""The infrastructure-as-code labs' errors: a template that cannot be read, a stack refused.

Both are :mod:`labs.errors` exceptions, so a notebook shows them as *what*, *where* and a
*hint*, never as a traceback.
"""

from __future__ import annotations

from labs.errors import InputError, LabsError

__all__ = ["StackRefused", "TemplateError"]


class TemplateError(InputError):
    """A CloudFormation template that cannot be used: bad YAML, a missing section, a bad value.

    The ``where`` part names the template and the line (``bookstore-data.yaml, line 12``) or
    the place in the template (``Resources.Queue.Properties``).
    """


class StackRefused(LabsError, RuntimeError):
    """CloudFormation refused a stack operation (or would, on AWS): an export in use, a failure.

    On the local target ``labs.iac`` enforces the rules the emulator does not (an exported
    output another stack imports cannot be deleted or changed) and raises this with the
    message AWS gives.
    """
