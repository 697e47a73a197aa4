"""The network tree: utilities → regions → … → metering points, loaded lazily,
with the outage selection marked on it.

Children are fetched a page at a time in a thread worker when a node is
first expanded; a "… N more" leaf fetches the next page. The whole network
(a million metering points) is never in memory.

Space toggles the row under the cursor in the selection: it includes a
node or metering point, or, inside an included node, excludes it. Marks are
words as well as symbols, so they survive NO_COLOR.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from rich.text import Text
from sqlalchemy import Engine
from textual import on, work
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from dispatch_tui.domain.selection import Selection
from dispatch_tui.domain.tree_path import ancestor_ids
from dispatch_tui.storage import tree as tree_queries
from dispatch_tui.storage.search import TreeTarget
from dispatch_tui.widgets.worker_errors import ReportsWorkerErrors

PAGE = 200


@dataclass
class NodeData:
    """What a tree row stands for; `loaded` guards against double loading."""

    utility_id: int
    kind: str
    id: int | None
    label: Text = field(default_factory=Text)
    loaded: bool = False
    next_offset: int | None = None

    @property
    def key(self) -> tuple[str, int] | None:
        if self.id is None or self.kind in ("utility", "more"):
            return None
        return ("mp" if self.kind == "mp" else "node", self.id)


@dataclass
class SelectionState:
    """Included and excluded keys ("node"/"mp", id) within one utility."""

    utility_id: int | None = None
    included: set[tuple[str, int]] = field(default_factory=set)
    excluded: set[tuple[str, int]] = field(default_factory=set)

    def as_selection(self) -> Selection:
        def ids(keys: set[tuple[str, int]], kind: str) -> frozenset[int]:
            return frozenset(i for k, i in keys if k == kind)

        return Selection(
            nodes=ids(self.included, "node"),
            metering_points=ids(self.included, "mp"),
            excluded_nodes=ids(self.excluded, "node"),
            excluded_metering_points=ids(self.excluded, "mp"),
        )


class NetworkTree(ReportsWorkerErrors, Tree[NodeData]):
    """Keyboard-first tree of one database's networks."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_selection", "Select/exclude", id="tree.select"),
        Binding("c", "clear_selection", "Clear selection", id="tree.clear"),
    ]

    @dataclass
    class SelectionChanged(Message):
        """The outage selection changed; `selection` is ready for storage queries."""

        tree: NetworkTree
        utility_id: int | None
        selection: Selection

    @dataclass
    class Refused(Message):
        tree: NetworkTree
        reason: str

    def __init__(self, engine: Engine, *, id: str | None = None) -> None:
        super().__init__("Networks", id=id)
        self.engine = engine
        self.show_root = False
        self.guide_depth = 2
        self.state = SelectionState()

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
            self.root.add(label, NodeData(row.id, "utility", None, label), allow_expand=True)
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
        self._fetch_page(node, offset)

    def _fetch_page(self, node: TreeNode[NodeData], offset: int) -> None:
        """Blocking (worker threads only): read one page of `node` and add it."""
        data = node.data
        assert data is not None
        with self.engine.connect() as conn:
            page = tree_queries.children(conn, data.utility_id, data.id, offset=offset, limit=PAGE)
        self.app.call_from_thread(self._add_page, node, page)

    def _add_page(self, node: TreeNode[NodeData], page: tree_queries.Page) -> None:
        data = node.data
        assert data is not None
        for entry in page.entries:
            label = entry_label(entry)
            child = node.add(
                label,
                NodeData(data.utility_id, entry.kind, entry.id, label),
                allow_expand=entry.has_children,
            )
            self._mark(child)
        if page.remaining:
            more = NodeData(
                data.utility_id, "more", None, next_offset=page.offset + len(page.entries)
            )
            node.add_leaf(Text(f"… {page.remaining:,} more", style="italic"), more)

    # selection ------------------------------------------------------------------------

    def _inside_included(self, node: TreeNode[NodeData]) -> bool:
        parent = node.parent
        while parent is not None:
            if parent.data is not None and parent.data.key in self.state.included:
                return True
            parent = parent.parent
        return False

    def _mark(self, node: TreeNode[NodeData]) -> None:
        data = node.data
        if data is None or data.key is None:
            return
        if data.key in self.state.included:
            prefix = Text("[+] ", style="bold green")
        elif data.key in self.state.excluded:
            prefix = Text("[-] ", style="bold red")
        elif self._inside_included(node):
            prefix = Text("(+) ", style="green")
        else:
            prefix = Text("")
        node.set_label(Text.assemble(prefix, data.label))

    def _remark(self, node: TreeNode[NodeData]) -> None:
        self._mark(node)
        for child in node.children:
            self._remark(child)

    def action_toggle_selection(self) -> None:
        node = self.cursor_node
        if node is None or node.data is None or node.data.key is None:
            return
        data = node.data
        key = data.key
        assert key is not None
        state = self.state
        if state.utility_id not in (None, data.utility_id) and (state.included or state.excluded):
            self.post_message(
                self.Refused(
                    self, "an outage covers one utility's network; clear the selection (c) first"
                )
            )
            return
        if key in state.included:
            state.included.discard(key)
        elif key in state.excluded:
            state.excluded.discard(key)
        elif self._inside_included(node):
            state.excluded.add(key)
        else:
            state.included.add(key)
        state.utility_id = data.utility_id if state.included or state.excluded else None
        self._remark(node)
        self._changed()

    @work(thread=True, exclusive=True, group="tree-reveal", exit_on_error=False)
    def reveal(self, target: TreeTarget) -> None:
        """Expand the way down to a search hit and put the cursor on it.

        A metering point's station is expanded to show it; a node found by
        name is left closed under the cursor, ready for Space.
        """
        steps = [("utility", target.utility_id)]
        steps += [("node", node_id) for node_id in ancestor_ids(target.path)]
        if target.mp is not None:
            steps.append(("mp", target.mp))
        call = self.app.call_from_thread
        node: TreeNode[NodeData] = self.root
        for index, (kind, wanted) in enumerate(steps):
            child = call(_Revealer.find, node, kind, wanted)
            while child is None:
                offset = call(_Revealer.next_offset, node)
                if offset is None:
                    call(
                        self.post_message,
                        self.Refused(self, f"{target.name} is no longer in the network"),
                    )
                    return
                self._fetch_page(node, offset)
                child = call(_Revealer.find, node, kind, wanted)
            if index < len(steps) - 1:
                if child.data is not None and not child.data.loaded:
                    self._fetch_page(child, call(_Revealer.next_offset, child) or 0)
                call(child.expand)
            node = child
        call(self.move_cursor, node)
        call(self.scroll_to_node, node)

    def action_clear_selection(self) -> None:
        self.state = SelectionState()
        self._remark(self.root)
        self._changed()

    def _changed(self) -> None:
        self.post_message(
            self.SelectionChanged(self, self.state.utility_id, self.state.as_selection())
        )


def count(n: int) -> str:
    """A count in at most five characters ("9,999", "12.3k", "845k", "1.2M"): deep in the
    tree at 80 columns the counts must fit beside the name."""
    if n < 10_000:
        return f"{n:,}"
    if n < 100_000:
        return f"{n / 1000:.1f}k"
    if n < 1_000_000:
        return f"{n // 1000}k"
    return f"{n / 1_000_000:.1f}M"


def entry_label(entry: tree_queries.TreeEntry) -> Text:
    if entry.kind == "mp":
        marker = " ⚕ priority" if entry.priority else ""
        return Text.assemble(
            entry.label, (marker, "bold"), (f"  {entry.subscriber_count} sub", "dim")
        )
    return Text.assemble(
        entry.label,
        (f"  {count(entry.mp_count)} MP · {count(entry.subscriber_count)} sub", "dim"),
    )


class _Revealer:
    """Walks the tree down to a search hit, loading pages as needed (UI-thread helpers)."""

    def __init__(self, tree: NetworkTree) -> None:
        self.tree = tree

    @staticmethod
    def find(node: TreeNode[NodeData], kind: str, target: int) -> TreeNode[NodeData] | None:
        for child in node.children:
            data = child.data
            if data is None:
                continue
            if kind == "utility" and data.kind == "utility" and data.utility_id == target:
                return child
            if kind == "mp" and data.kind == "mp" and data.id == target:
                return child
            if kind == "node" and data.kind not in ("utility", "mp", "more") and data.id == target:
                return child
        return None

    @staticmethod
    def next_offset(node: TreeNode[NodeData]) -> int | None:
        """Where the next page of `node` starts, or None when all is loaded."""
        data = node.data
        if data is None:
            return None
        if not data.loaded:
            data.loaded = True
            return 0
        for child in node.children:
            if child.data is not None and child.data.kind == "more":
                offset = child.data.next_offset
                child.remove()
                return offset
        return None
