"""Log patterns: a run's repeated lines grouped into templates ("Epoch <NUM> loss=<NUM>" ×12,000), mined
by drain3's Drain as lines arrive.

The miner's state is bounded, so it fits one DynamoDB item whatever the run's size:
- at most `MAX_PATTERNS` templates (Drain's own LRU: a template not seen for long makes room);
- only the first `MINED_CHARS` characters of a message are mined (a template is at most that long);
so the item stays under ~100 KB. It is stored as our own JSON (templates, counts, first/last time),
never as a pickle, and the Drain tree is rebuilt from the templates when a batch arrives.

Numbers, hex values and ids are masked before mining (drain3's masking), so `loss=0.52` and
`loss=0.48` are the same token `loss=<NUM>`; any other differing token becomes `<*>`.

A template filters the viewer to its lines through a regular expression (`template_regex`), the same
RE2 search the viewer's search box runs: lines carry no pattern id, so a template that grew more general
still finds every line it covers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from drain3.drain import Drain, LogCluster
from drain3.masking import LogMasker, MaskingInstruction

STATE_SK = "state"
MAX_PATTERNS = 200
MINED_CHARS = 300
SIMILARITY = 0.4
DEPTH = 4

_MASKS = [
    MaskingInstruction(
        r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", "ID"
    ),
    MaskingInstruction(r"((?<=[^A-Za-z0-9])|^)(0x[a-fA-F0-9]+)((?=[^A-Za-z0-9])|$)", "HEX"),
    MaskingInstruction(
        r"((?<=[^A-Za-z0-9])|^)([\-\+]?\d+(\.\d+)?([eE][\-\+]?\d+)?)((?=[^A-Za-z0-9])|$)", "NUM"
    ),
]
_MASKER = LogMasker(_MASKS, "<", ">")
# What each mask stands for in a template's regular expression (RE2 syntax).
MASK_REGEX = {
    "<ID>": r"[0-9a-fA-F-]{36}",
    "<HEX>": r"0x[0-9a-fA-F]+",
    "<NUM>": r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?",
    "<*>": r"\S+",
}
_MASK_TOKEN = re.compile(r"<ID>|<HEX>|<NUM>|<\*>")


@dataclass
class Pattern:
    pattern_id: int
    template: str
    count: int
    first_ms: int
    last_ms: int

    @property
    def regex(self) -> str:
        return template_regex(self.template)

    @property
    def shown(self) -> str:
        """The template as people read it: every masked value a `*`."""
        return _MASK_TOKEN.sub("*", self.template)


def state_pk(key: str) -> str:
    """The miner state's partition of a run key."""
    return f"pat#{key}"


def mined_text(message: str) -> str:
    return _MASKER.mask(message[:MINED_CHARS])


def template_regex(template: str) -> str:
    """A regular expression (RE2) that matches the messages of a template: literal tokens escaped,
    masks by what they stand for, tokens separated by white space; anchored at the start only (messages
    are mined on their first `MINED_CHARS` characters)."""
    tokens = []
    for token in template.split():
        parts, last = [], 0
        for match in _MASK_TOKEN.finditer(token):
            parts.append(re.escape(token[last : match.start()]))
            parts.append(MASK_REGEX[match.group(0)])
            last = match.end()
        parts.append(re.escape(token[last:]))
        tokens.append("".join(parts))
    return r"^\s*" + r"\s+".join(tokens)


class Miner:
    """A run's Drain miner with each template's first and last time; `load`/`dump` to and from JSON."""

    def __init__(self) -> None:
        self.drain = Drain(depth=DEPTH, sim_th=SIMILARITY, max_children=100, max_clusters=MAX_PATTERNS)
        self.times: dict[int, list[int]] = {}  # cluster id -> [first ms, last ms]

    @classmethod
    def load(cls, state: str | None) -> Miner:
        miner = cls()
        if not state:
            return miner
        data = json.loads(state)
        for cluster_id, tokens, size, first_ms, last_ms in data["patterns"]:
            cluster = LogCluster(tokens, cluster_id)
            cluster.size = size
            miner.drain.id_to_cluster[cluster_id] = cluster
            miner.drain.add_seq_to_prefix_tree(miner.drain.root_node, cluster)
            miner.times[cluster_id] = [first_ms, last_ms]
        miner.drain.clusters_counter = data["next_id"]
        return miner

    def add(self, message: str, ts_ms: int) -> None:
        cluster, _change = self.drain.add_log_message(mined_text(message))
        times = self.times.setdefault(cluster.cluster_id, [ts_ms, ts_ms])
        times[0], times[1] = min(times[0], ts_ms), max(times[1], ts_ms)

    def dump(self) -> str:
        patterns = []
        for cluster in list(self.drain.id_to_cluster.values()):
            first_ms, last_ms = self.times[cluster.cluster_id]
            patterns.append(
                [cluster.cluster_id, list(cluster.log_template_tokens), cluster.size, first_ms, last_ms]
            )
        return json.dumps(
            {"next_id": self.drain.clusters_counter, "patterns": patterns}, separators=(",", ":")
        )

    def patterns(self) -> list[Pattern]:
        """Most frequent first."""
        found = [
            Pattern(
                cluster.cluster_id,
                cluster.get_template(),
                cluster.size,
                *self.times[cluster.cluster_id],
            )
            for cluster in list(self.drain.id_to_cluster.values())
        ]
        return sorted(found, key=lambda pattern: (-pattern.count, pattern.first_ms))


def patterns_of(state: str | None) -> list[Pattern]:
    """The patterns of a stored state, without rebuilding the miner."""
    if not state:
        return []
    found = [
        Pattern(cluster_id, " ".join(tokens), size, first_ms, last_ms)
        for cluster_id, tokens, size, first_ms, last_ms in json.loads(state)["patterns"]
    ]
    return sorted(found, key=lambda pattern: (-pattern.count, pattern.first_ms))
