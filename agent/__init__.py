"""The targeting agent: a request becomes a validated TargetingPlan (rewriter), the plan decides
which tools may run, the tools score users with FIND and EGL, and the executor fuses, filters,
sizes, explains, exports and records the result.

    config.py     AgentConfig (WS/agent.yaml): fusion weights, minimum export size, caps
    resources.py  what the tools read, loaded once per process (warm): towers, graph, profiles, history
    filters.py    profile filters applied exactly; contradictions found before anything runs
    fusion.py     per-source rank normalisation and the weighted fusion of FIND and EGL scores
    tools.py      the langchain tools (pydantic argument schemas) behind a per-plan gate
    executor.py   plan -> allowed tools -> audience (deterministic given the plan)
    planner.py    request -> plan through rewrite.client.Rewriter (requests are data; ids stripped)
    explain.py    the explanation a marketer reads
    runs.py       WS/runs/ask-*/ audit records, written atomically
    chat.py       multi-turn refinement of a plan
    batch.py      one audience per row of a demands file
"""
