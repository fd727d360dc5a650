"""The query rewriter: free-form marketer request -> validated TargetingPlan.

Modules, one idea each:

* plan.py             the TargetingPlan contract, its JSON schema, parsing and validation
* catalog.py          what the rewriter knows of a workspace (entities, aliases, profile fields)
* config.py           pydantic configs: synthesis, LoRA SFT (CPU and GPU recipes), serving
* synth_knowledge.py  synthesis stage 1: multi-round domain-knowledge dialogues
* synth_requests.py   synthesis stage 2: free-form request -> plan pairs (held-out families)
* train.py            two-stage LoRA SFT on assistant tokens; `build_rewriter`
* constrained.py      JSON-schema-guided token-level decoding (prefix automaton over the vocab)
* engine_local.py     in-process transformers + peft engine with constrained decoding
* snap.py             snapping a written entity phrase onto one catalog name
* engine_vllm.py      the vLLM server: command line, environment, process lifetime, runtime adapters
* server.py           OpenAI-compatible chat-completions HTTP server (stdlib)
* messages.py         the chat messages of a rewrite (system prompt from prompts/, request as data)
* tool_calls.py       the plan as calls to the agent's tools, and back
* client.py           rewrite a request through any OpenAI-compatible endpoint (JSON or tool calls),
                      entities snapped, one repair
"""
