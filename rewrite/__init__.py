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
* engine_vllm.py      the `vllm serve` command line and process for GPU serving
* server.py           OpenAI-compatible chat-completions HTTP server (stdlib)
* messages.py         the chat messages of a rewrite (system prompt from prompts/, request as data)
* client.py           rewrite a request through any OpenAI-compatible endpoint, with one repair
"""
