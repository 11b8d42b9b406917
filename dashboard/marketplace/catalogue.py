"""The fixed vocabularies of the marketplace: categories, sorts, visibility filters, and limits."""

from __future__ import annotations

CATEGORIES: dict[str, str] = {
    "customer-support": "Customer support",
    "sales": "Sales",
    "research": "Research",
    "data-extraction": "Data extraction",
    "operations": "Operations",
    "engineering": "Engineering",
    "marketing": "Marketing",
    "finance": "Finance",
}
SORTS: dict[str, str] = {"popular": "Most used", "rating": "Top rated", "newest": "Newest"}
VISIBILITY_FILTERS: dict[str, str] = {
    "all": "Public and private",
    "public": "Public catalogue",
    "private": "Private to my tenant",
}
VISIBILITIES: dict[str, str] = {
    "private": "Private to my tenant",
    "public": "Public — submit for review",
}
MODERATION_ACTIONS = ("approve", "reject", "feature", "unfeature", "unpublish")

PAGE_SIZE = 24
MAX_PAGE_SIZE = 100
MAX_TAGS = 8
MAX_NAME = 80
MAX_DESCRIPTION = 1000
MAX_REASON = 500
