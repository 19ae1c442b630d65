"""Short names for the modular polynomials of Furuta et al. (TMLR 2024), usable as
`data.operation` and inside run ids (which allow letters, digits and + - . = _ only).

Naming: a letter followed by a digit is a power (a2 = a^2), letters side by side multiply
(ab2 = a*b^2), a leading number is a coefficient (2a), sumN = (a+b)^N and diffN = (a-b)^N.
"""

from __future__ import annotations

POLYNOMIALS = {
    # linear
    "2a+b": "2*a+b",
    "2a-b": "2*a-b",
    "2a+3b": "2*a+3*b",
    "2a-3b": "2*a-3*b",
    # "multiplication plus linear" (factorizable: ab+b = (a+1)b)
    "ab+b": "a*b+b",
    "ab-b": "a*b-b",
    "ab+a+b": "a*b+a+b",
    # sums and differences of powers
    "a2+b": "a^2+b",
    "a2-b": "a^2-b",
    "a2+b2": "a^2+b^2",
    "a2-b2": "a^2-b^2",
    "a3+2b": "a^3+2*b",
    "a3-2b": "a^3-2*b",
    "a3+b3": "a^3+b^3",
    "a4+b4": "a^4+b^4",
    # powers of sums (factorizable)
    "sum2": "(a+b)^2",
    "sum3": "(a+b)^3",
    "sum4": "(a+b)^4",
    "diff2": "(a-b)^2",
    "diff3": "(a-b)^3",
    "diff4": "(a-b)^4",
    "sum2+a+b": "(a+b)^2+a+b",
    # cross terms (not factorizable)
    "a2+ab+b2": "a^2+a*b+b^2",
    "a2+ab+b2+a": "a^2+a*b+b^2+a",
    "a3+ab": "a^3+a*b",
    "a3+ab2+b": "a^3+a*b^2+b",
}


def pretty(operation: str) -> str:
    """The expression as the paper writes it, for titles and tables."""
    from repro.data.modular import expression

    return expression(operation).replace("*", "")
