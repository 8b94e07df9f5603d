"""Reasoning about file-name globs (`*`, `?`, `[...]`) without a file system.

An App is checked when it is declared: two stages on one inbox must never both take a name,
and a pattern must be able to match a name that is not temporary. Both questions are about the
patterns alone, answered here by walking two patterns side by side.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


def example_name(pattern: str) -> str:
    """One file name `pattern` matches: a wildcard becomes a plain letter, a class its first."""
    return "".join(_example_char(token) for token in _tokens(pattern))


def patterns_overlap(first: Sequence[str], second: Sequence[str]) -> bool:
    """Whether some file name would match a pattern of each list."""
    return any(_globs_intersect(_tokens(a), _tokens(b)) for a in first for b in second)


# A glob as tokens: "*", "?" (any one character), a literal character, or a class
# ("[", its characters, whether it is negated).
Token = str | tuple[str, frozenset[str], bool]


def _tokens(pattern: str) -> list[Token]:
    tokens: list[Token] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        close = pattern.find("]", index + 2) if char == "[" else -1
        if close > 0:
            body = pattern[index + 1:close]
            negated = body.startswith("!")
            tokens.append(("[", frozenset(body.lstrip("!")), negated))
            index = close + 1
            continue
        tokens.append(char)
        index += 1
    return tokens


def _example_char(token: Token) -> str:
    if isinstance(token, tuple):
        return "x" if token[2] or not token[1] else min(token[1])
    return "x" if token in ("*", "?") else token


def _globs_intersect(first: list[Token], second: list[Token]) -> bool:
    """Whether one string matches both token lists (a walk over both, memoized)."""
    seen: dict[tuple[int, int], bool] = {}

    def walk(i: int, j: int) -> bool:
        if (i, j) not in seen:
            seen[(i, j)] = False  # a cycle through the same pair proves nothing
            seen[(i, j)] = _step(first, second, i, j, walk)
        return seen[(i, j)]

    return walk(0, 0)


def _step(first: list[Token], second: list[Token], i: int, j: int,
          walk: Callable[[int, int], bool]) -> bool:
    a = first[i] if i < len(first) else None
    b = second[j] if j < len(second) else None
    if a is None and b is None:
        return True
    if a == "*" and (walk(i + 1, j) or (b is not None and walk(i, j + 1))):
        return True
    if b == "*" and (walk(i, j + 1) or (a is not None and walk(i + 1, j))):
        return True
    if a is None or b is None or a == "*" or b == "*":
        return False
    return _chars_meet(a, b) and walk(i + 1, j + 1)


def _chars_meet(a: Token, b: Token) -> bool:
    """Whether one character matches both single-character tokens."""
    if a == "?" or b == "?":
        return True
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, str):
        a, b = b, a
    assert isinstance(a, tuple)
    _, chars, negated = a
    if isinstance(b, str):
        return (b in chars) != negated
    # Two classes: meet unless both are plain and disjoint (a negated class is nearly anything).
    return negated or b[2] or bool(chars & b[1])
