"""Griffe extension: render the reST bits of alignsim's docstrings as Markdown.

The docstrings follow Google style with reST cross-reference roles (``:func:`analyze```,
``:mod:`~alignsim.analysis.trust```) and the odd ``::`` literal-block marker. Markdown has
neither, so the roles become inline code (the ``~`` form keeps only the last name) and
``::`` becomes ``:`` before its indented block, which Markdown already shows as code.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:func|meth|class|mod|data|attr|obj|exc|const|py:\w+):`(~?)([^`]+)`")
LITERAL = re.compile(r"(\S)::$", re.MULTILINE)


def markdown(text: str) -> str:
    """``text`` with reST roles turned into code spans and ``::`` markers into colons."""

    def role(match: re.Match[str]) -> str:
        short, target = match.groups()
        return f"`{target.rsplit('.', 1)[-1] if short else target}`"

    return LITERAL.sub(r"\1:", ROLE.sub(role, text))


class ReSTRoles(griffe.Extension):
    """Rewrite every docstring as it is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = markdown(obj.docstring.value)
