"""yusuan (预算): Chinese government budget disclosures → trustworthy, queryable records."""

__version__ = "0.1.0"
