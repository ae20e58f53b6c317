"""The task DAG as networkx sees it (for algorithms that need one), and as dot / mermaid text.
Runs order tasks with `runner.plan.tasks.topological`: they must not import networkx."""

from __future__ import annotations

from runner.core.errors import OvrunError
from runner.plan.tasks import Plan, Task


def build_graph(plan: Plan):
    import networkx as nx  # lazy: `ovrun --help` and `validate` never pay for it

    g = nx.DiGraph()
    for index, task in enumerate(plan.order()):
        g.add_node(task.id, index=index)
    for task in plan.order():
        for dep in task.deps.values():
            if dep not in plan.tasks:
                raise OvrunError(
                    f"task {task.id} depends on unknown task {dep}", hint="this is a bug in ovrun"
                )
            g.add_edge(dep, task.id)
    if not nx.is_directed_acyclic_graph(g):
        cycle = " -> ".join(edge[0] for edge in nx.find_cycle(g))
        raise OvrunError(
            f"task graph has a cycle: {cycle}", hint="break the circular reference in the recipe"
        )
    return g


def _ordered(plan: Plan) -> list[Task]:
    import networkx as nx

    g = build_graph(plan)
    order = nx.lexicographical_topological_sort(g, key=lambda n: g.nodes[n]["index"])
    return [plan.tasks[n] for n in order]


def _node_label(task: Task) -> str:
    return f"{task.id}\\n{task.key[:12]}" if task.key else task.id


def to_dot(plan: Plan) -> str:
    lines = [
        f'digraph "{plan.recipe.name}" {{',
        "  rankdir=LR;",
        "  node [shape=box, fontname=monospace];",
    ]
    for task in _ordered(plan):
        lines.append(f'  "{task.id}" [label="{_node_label(task)}"];')
    for task in plan.order():
        for role, dep in task.deps.items():
            label = "" if role == dep else f' [label="{role}"]'
            lines.append(f'  "{dep}" -> "{task.id}"{label};')
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(plan: Plan) -> str:
    ids = {task.id: f"t{i}" for i, task in enumerate(_ordered(plan))}
    lines = ["flowchart LR"]
    for task_id, node in ids.items():
        lines.append(f'  {node}["{task_id}"]')
    for task in plan.order():
        for role, dep in task.deps.items():
            arrow = "-->" if role == dep else f"-->|{role}|"
            lines.append(f"  {ids[dep]} {arrow} {ids[task.id]}")
    return "\n".join(lines) + "\n"
