from ulid import ULID


def new_id(prefix: str) -> str:
    """Time-ordered, unique ids that say what they name: `tpl_01jd…`."""
    return f"{prefix}_{str(ULID()).lower()}"
