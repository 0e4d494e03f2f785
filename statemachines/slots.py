"""Document slots: outputs that are never live at the same time share one document key.

ASL cannot delete a key from the state document without an extra (billed) state, so an
output stays in the document long after its last reader ran. Were every output kept under
a key of its own, a chain of a thousand nodes would carry a thousand outputs and the
payload budget would leave each too few bytes. Instead, a node's Task writes its output
over an output nobody will read any more, exactly as a register allocator reuses a
register whose value is dead.

An output is *live* while the node itself or any node reading it is still to come on the
walk (the emitter's simulation). A slot may take a new owner only when each of its owners
is dead at that point, checked at every state the new owner is emitted at. That check is
enough: if on some run a writer W of slot s ran between owner A's write and a read of A,
then whichever of A and W was emitted later saw the other still to come, and refused.

Only Tasks of the top-level scope share slots. A Parallel branch works on a copy of the
document that is merged back key by key, so a branch must write keys absent before it;
a loop iteration's document is rebuilt per item. A node that runs at top level on one
path and inside a branch on another keeps a key of its own. Outputs that end the execution (its
result) are live to the end and never give their slot up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from statemachines.layout import node_key


@dataclass(slots=True)
class Slots:
    live: dict[str, int]  # per node: the bits of the nodes that keep its output live
    forever: frozenset[str]  # outputs read at the very end (the execution's result)
    owners: list[list[str]] = field(default_factory=list)
    slot_of: dict[str, int] = field(default_factory=dict)
    banned: set[str] = field(default_factory=set)  # emitted outside the top-level scope
    # Nodes emitted again (on another path) where they cannot keep the slot they took, or
    # in a branch after taking one: the walk is redone with them in slots of their own.
    conflicts: set[str] = field(default_factory=set)

    def claim(self, node_id: str, pending: int) -> str:
        """The key ``node_id``'s output goes to, given the nodes still to come."""
        if node_id in self.banned:
            self.conflicts.add(node_id)
        index = self.slot_of.get(node_id)
        if index is not None:
            if not self._free(self.owners[index], node_id, pending):
                self.conflicts.add(node_id)
            return node_key(self.owners[index][0])
        free = (i for i, owners in enumerate(self.owners) if self._free(owners, node_id, pending))
        index = next(free, len(self.owners))
        if index == len(self.owners):
            self.owners.append([])
        self.owners[index].append(node_id)
        self.slot_of[node_id] = index
        return node_key(self.owners[index][0])

    def forbid(self, node_id: str) -> None:
        """``node_id`` is emitted outside the top-level scope: it must not share a slot."""
        if node_id in self.slot_of:
            self.conflicts.add(node_id)
        self.banned.add(node_id)

    def _free(self, owners: list[str], node_id: str, pending: int) -> bool:
        return all(
            owner == node_id or (owner not in self.forever and not self.live[owner] & pending)
            for owner in owners
        )

    def final_keys(self) -> dict[str, str] | None:
        """Keys for the second pass: a slot of one owner keeps the node's own key
        (``node_<id>``), a shared slot is ``slot_<n>``; None when nothing is shared."""
        shared = [owners for owners in self.owners if len(owners) > 1]
        if not shared:
            return None
        return {node: f"slot_{number}" for number, owners in enumerate(shared) for node in owners}


__all__ = ["Slots"]
