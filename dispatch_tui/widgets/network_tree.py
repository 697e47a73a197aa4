"""The network tree: utilities → regions → … → metering points, loaded lazily.

Children are fetched a page at a time in a thread worker when a node is
first expanded; a "… N more" leaf fetches the next page. The whole network
(a million metering points) is never in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from sqlalchemy import Engine
from textual import on, work
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from dispatch_tui.storage import tree as tree_queries

PAGE = 200


@dataclass
class NodeData:
    """What a tree row stands for; `loaded` guards against double loading."""

    utility_id: int
    kind: str
    id: int | None
    loaded: bool = False
    next_offset: int | None = None


class NetworkTree(Tree[NodeData]):
    """Keyboard-first tree of one database's networks."""

    def __init__(self, engine: Engine, *, id: str | None = None) -> None:
        super().__init__("Networks", id=id)
        self.engine = engine
        self.show_root = False
        self.guide_depth = 2

    def on_mount(self) -> None:
        self.load_utilities()

    @work(thread=True, exclusive=True, group="tree-utilities", exit_on_error=False)
    def load_utilities(self) -> None:
        with self.engine.connect() as conn:
            utilities = tree_queries.list_utilities(conn)
        self.app.call_from_thread(self._add_utilities, utilities)

    def _add_utilities(self, utilities: list[tree_queries.UtilityRow]) -> None:
        for row in utilities:
            label = Text.assemble((row.name, "bold"), f"  {row.country} · {row.timezone}")
            self.root.add(label, NodeData(row.id, "utility", None), allow_expand=True)
        self.root.expand()
        if self.root.children:
            self.move_cursor(self.root.children[0])

    @on(Tree.NodeExpanded)
    def _expanded(self, event: Tree.NodeExpanded[NodeData]) -> None:
        data = event.node.data
        if data is not None and not data.loaded and data.kind != "more":
            data.loaded = True
            self.load_page(event.node, 0)

    @on(Tree.NodeSelected)
    def _selected(self, event: Tree.NodeSelected[NodeData]) -> None:
        data = event.node.data
        if data is not None and data.kind == "more" and event.node.parent is not None:
            parent = event.node.parent
            offset = data.next_offset or 0
            event.node.remove()
            self.load_page(parent, offset)

    @work(thread=True, group="tree-pages", exit_on_error=False)
    def load_page(self, node: TreeNode[NodeData], offset: int) -> None:
        data = node.data
        assert data is not None
        with self.engine.connect() as conn:
            page = tree_queries.children(conn, data.utility_id, data.id, offset=offset, limit=PAGE)
        self.app.call_from_thread(self._add_page, node, page)

    def _add_page(self, node: TreeNode[NodeData], page: tree_queries.Page) -> None:
        data = node.data
        assert data is not None
        for entry in page.entries:
            node.add(
                entry_label(entry),
                NodeData(data.utility_id, entry.kind, entry.id),
                allow_expand=entry.has_children,
            )
        if page.remaining:
            more = NodeData(
                data.utility_id, "more", None, next_offset=page.offset + len(page.entries)
            )
            node.add_leaf(Text(f"… {page.remaining:,} more", style="italic"), more)


def entry_label(entry: tree_queries.TreeEntry) -> Text:
    if entry.kind == "mp":
        marker = " ⚕" if entry.priority else ""
        return Text.assemble(
            entry.label, (marker, "bold"), (f"  {entry.subscriber_count} sub", "dim")
        )
    return Text.assemble(
        entry.label,
        (f"  {entry.mp_count:,} MP · {entry.subscriber_count:,} sub", "dim"),
    )
