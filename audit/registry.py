"""Rules are small registered units: a function from the audit context to the issues it finds."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .context import AuditContext
from .model import Family, Issue

Check = Callable[[AuditContext], Iterable[Issue]]


@dataclass(frozen=True)
class Rule:
    rule_id: str
    family: Family
    title: str
    check: Check


RULES: dict[str, Rule] = {}


def rule(rule_id: str, family: Family, title: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        if rule_id in RULES:
            raise ValueError(f"rule {rule_id} registered twice")
        RULES[rule_id] = Rule(rule_id, family, title, check)
        return check

    return register
