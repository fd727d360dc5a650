"""`targetbot rewrite "request"` and `targetbot rewrite serve`: the query rewriter."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from targetbot.commands.common import JsonOpt, WorkspaceOpt, console, emit_json, guard, models_for, out


class _DefaultToRewrite(TyperGroup):
    """`targetbot rewrite "some request"` runs the hidden `run` command; `serve` stays a subcommand."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


AdapterOpt = Annotated[Optional[Path], typer.Option(help="LoRA adapter folder (default: workspace's, else bundled).")]
NEXT_NAME = "targetbot-rewriter-next"  # what a published adapter is served as, beside the running one

app = typer.Typer(cls=_DefaultToRewrite, no_args_is_help=True,
                  help="Rewrite a free-form request into a TargetingPlan, or serve the rewriter.\n\n"
                       "Examples: targetbot rewrite \"users likely to rent phones, not repair shops\" --json\n"
                       "          targetbot rewrite serve --engine local --port 8011")


def _catalog(workspace: Optional[Path], adapter: Optional[Path]):
    """The catalog from the workspace when one is given/set, else the one stored with the adapter."""
    import os

    from targetbot.rewrite.catalog import Catalog
    from targetbot.rewrite.config import BUNDLED_ADAPTER_DIR
    from targetbot.core.workspace import Workspace

    if workspace is not None or os.environ.get("TARGETBOT_WORKSPACE"):
        return Catalog.from_workspace(Workspace.open(workspace)), Workspace.open(workspace)
    src = (adapter or BUNDLED_ADAPTER_DIR) / "catalog.json"
    return Catalog.load(src), None


def _adapter(ws, adapter: Optional[Path], no_adapter: bool) -> Optional[Path]:
    from targetbot.rewrite.config import BUNDLED_ADAPTER_DIR
    from targetbot.rewrite.train import workspace_adapter_dir
    from targetbot.core.errors import TargetbotError

    if no_adapter:
        return None
    if adapter is not None:
        return adapter
    if ws is not None and (workspace_adapter_dir(ws) / "adapter_config.json").is_file():
        return workspace_adapter_dir(ws)
    if (BUNDLED_ADAPTER_DIR / "adapter_config.json").is_file():
        return BUNDLED_ADAPTER_DIR
    raise TargetbotError(f"no rewriter adapter: run 'targetbot rewrite train -w WS' "
                         f"(looked in the workspace and {BUNDLED_ADAPTER_DIR})")


@app.command("run", hidden=True)
@guard
def run(
    ctx: typer.Context,
    request: Annotated[str, typer.Argument(help="The marketer's request, in quotes.")],
    workspace: WorkspaceOpt = None,
    adapter: AdapterOpt = None,
    base: Annotated[bool, typer.Option("--base", help="Use the untuned base model (full instruction prompt).")] = False,
    url: Annotated[Optional[str], typer.Option(help="Use a running server (e.g. http://127.0.0.1:8011/v1) instead of loading the model.")] = None,
    model: Annotated[Optional[str], typer.Option(help="Served model name with --url (default: targetbot-rewriter).")] = None,
    protocol: Annotated[str, typer.Option(help="json: one answer under the plan's JSON schema | tools: calls to "
                                          "the agent's tools (find_users, expand_entities, estimate_size) "
                                          "assembled into the plan.")] = "json",
    raw: Annotated[bool, typer.Option("--raw", help="No retrieval or grounding: the plan as the model decodes "
                                      "it against the whole catalogue (for comparison).")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Print the TargetingPlan for a request (validated; one repair attempt, then a clear error).

    The catalogue entities the request can mean are retrieved first; the plan may only use those,
    and keeps the request's own words where none fits. Filters, exclusions, amounts and counts come
    from what the request states; whatever grounding changed is printed under the plan."""
    from targetbot.rewrite.client import InProcessChat, OpenAIChat, Rewriter
    from targetbot.rewrite.config import SERVED_NAME
    from targetbot.rewrite.messages import MAX_REQUEST_CHARS, sanitize_request
    from targetbot.core.errors import TargetbotError
    from targetbot.rewrite.client import PROTOCOLS

    if protocol not in PROTOCOLS:
        raise TargetbotError(f"unknown protocol '{protocol}' (use {' or '.join(PROTOCOLS)})")
    clean = sanitize_request(request)
    if not clean:
        raise TargetbotError("the request is empty: describe the audience, e.g. "
                             "targetbot rewrite \"users likely to rent phones\"")
    if len(" ".join(str(request).split())) > MAX_REQUEST_CHARS:
        console.print(f"[yellow]warning:[/] the request is {len(request):,} characters; only the first "
                      f"{MAX_REQUEST_CHARS} are rewritten")
    catalog, ws = _catalog(workspace, adapter)
    if url:
        chat, name = OpenAIChat(url), model or (SERVED_NAME if not base else "base")
    else:
        from targetbot.rewrite.engine_local import LocalEngine

        ad = _adapter(ws, adapter, base)
        with console.status("loading the rewriter"):
            engine = LocalEngine(models_for(ctx).settings, adapter=ad, merge=True)
        chat, name = InProcessChat(engine), engine.models()[0]
    index = None
    if not raw:
        from targetbot.rewrite.retrieval import EntityIndex

        with console.status("loading the retrieval index"):
            index = EntityIndex.build(catalog, models_for(ctx).text_encoder(),
                                      ws.artifacts_dir / "rewrite" if ws is not None else None)
    rw = Rewriter(chat, catalog, name, prompt="full" if base else "tuned", protocol=protocol, index=index)
    with console.status("rewriting"):
        res = rw.rewrite(request)
    d = res.to_dict()
    d["model"] = name
    if json_out:
        emit_json(d)
        return
    out.print(res.plan.to_json())
    for s in d["sentences"]:
        out.print(f"  · {s}")
    if d["conditions"]:
        out.print(f"  filters: {d['conditions']}")
    for key, value in d.get("grounding", {}).items():
        if key != "snapped":
            out.print(f"  {key.replace('_', ' ')}: {value}")
    console.print(f"{name}: {d['seconds']:.1f}s, {d['attempts']} attempt(s)")


@app.command("serve")
@guard
def serve(
    ctx: typer.Context,
    engine: Annotated[str, typer.Option(help="local: in-process transformers + peft, one request at a time | "
                                        "vllm: a real vLLM server (CPU build here, GPU build on a GPU machine), "
                                        "batching concurrent requests")] = "local",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8011,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    workspace: WorkspaceOpt = None,
    adapter: AdapterOpt = None,
    merge: Annotated[Optional[bool], typer.Option("--merge/--no-merge", show_default=False,
                                                  help="Serve the adapter merged into the weights (one model, "
                                                       "fastest) or as a LoRA module beside 'base' (adapters "
                                                       "can be loaded at runtime). Default: merged for vllm on "
                                                       "a CPU, a module otherwise.")] = None,
    device: Annotated[str, typer.Option(help="vllm: auto | cpu | gpu (auto: gpu where nvidia-smi sees one).")] = "auto",
    tools_in_prompt: Annotated[bool, typer.Option("--tools-in-prompt", help="vllm: serve the model's own chat "
                                                  "template, which writes tool schemas into the prompt (for a "
                                                  "general model; the rewriter adapter is trained without them).")] = False,
    print_command: Annotated[bool, typer.Option("--print-command", help="vllm: print the command line and exit.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Start an OpenAI-compatible server for the rewriter: 'targetbot-rewriter' (and 'base').

    Example: targetbot rewrite serve --engine vllm --port 8011
    then:    targetbot ask -w ws "users likely to rent phones" --url http://127.0.0.1:8011/v1
    Ctrl-C (or SIGTERM) stops the server. With --json a JSON object {url, models, log, ...}
    is printed once the server answers.
    """
    from targetbot.rewrite.config import ServeConfig
    from targetbot.core.errors import TargetbotError

    if engine not in ("local", "vllm"):
        raise TargetbotError(f"unknown engine '{engine}' (use local or vllm)")
    if engine == "local" and (device != "auto" or tools_in_prompt or print_command):
        raise TargetbotError("--device, --tools-in-prompt and --print-command are options of --engine vllm")
    if device not in ("auto", "cpu", "gpu"):
        raise TargetbotError(f"unknown device '{device}' (use auto, cpu or gpu)")
    catalog, ws = _catalog(workspace, adapter)
    ad = _adapter(ws, adapter, False)
    settings = models_for(ctx).settings
    if engine == "vllm":
        _serve_vllm(settings, host, port, ad, merge, device, tools_in_prompt, print_command, json_out)
        return
    from targetbot.rewrite.engine_local import LocalEngine
    from targetbot.rewrite.server import make_server

    cfg = ServeConfig(engine=engine, host=host, port=port, merge=bool(merge), adapter=adapter)
    with console.status("loading the rewriter"):
        eng = LocalEngine(settings, adapter=ad, merge=cfg.merge)
    eng.add_aliases(catalog.aliases())  # entity slots snap aliases of the served catalog
    srv = make_server(eng, host, port)
    url = f"http://{host}:{srv.server_address[1]}/v1"
    if json_out:
        emit_json({"url": url, "models": eng.models(), "engine": "local"})
    else:
        console.print(f"serving {', '.join(eng.models())} at {url} (Ctrl-C stops)")
    with _sigterm_as_interrupt():
        try:
            srv.serve_forever()
        finally:
            srv.server_close()


def _serve_vllm(settings, host: str, port: int, adapter: Path | None, merge: Optional[bool], device: str,
                tools_in_prompt: bool, print_command: bool, json_out: bool) -> None:
    import time

    from targetbot.core.bundled import llm_path
    from targetbot.rewrite.config import ServeConfig, VllmConfig
    from targetbot.rewrite.engine_vllm import (VllmServer, check_python, detect_device, merged_model_dir,
                                               server_env, vllm_command)

    dev = detect_device() if device == "auto" else device
    cfg = ServeConfig(engine="vllm", host=host, port=port, adapter=adapter, device=dev,
                      merge=(dev == "cpu") if merge is None else merge,
                      vllm=VllmConfig(tools_in_prompt=tools_in_prompt))
    python = settings.vllm_python if print_command else check_python(settings.vllm_python)
    if cfg.merge and adapter is not None and not print_command:
        with console.status("merging the LoRA adapter into the base weights (once per adapter)"):
            model = merged_model_dir(adapter, settings.cache_dir, settings)
    elif cfg.merge and adapter is not None:
        from targetbot.rewrite.engine_vllm import adapter_fingerprint

        model = settings.cache_dir / f"rewriter-merged-{adapter_fingerprint(adapter, settings.llm)}"
    else:
        model = llm_path(settings)
    cmd = vllm_command(cfg, model, adapter, python=python or ".venv-vllm/bin/python")
    if print_command:
        emit_json({"command": cmd}) if json_out else out.print(" ".join(cmd), soft_wrap=True)
        return
    log = settings.cache_dir / "logs" / f"vllm-{port}.log"
    import os

    server = VllmServer(cmd, server_env(cfg, dict(os.environ)), log, host, port)
    with _sigterm_as_interrupt(), server:
        t0 = time.monotonic()
        with console.status(f"starting vLLM ({dev}, {'merged' if cfg.merge else 'LoRA module'}); log: {log}") as st:
            names = server.wait_ready(cfg.vllm.ready_timeout_s,
                                      progress=lambda s: st.update(f"starting vLLM ({dev}): {s:.0f} s; log: {log}"))
        if json_out:
            emit_json({"url": server.url, "models": names, "engine": "vllm", "device": dev, "merged": cfg.merge,
                       "log": str(log), "ready_seconds": round(time.monotonic() - t0, 1)})
        else:
            console.print(f"serving {', '.join(names)} at {server.url} (vLLM on {dev}, "
                          f"ready in {time.monotonic() - t0:.0f} s; Ctrl-C stops; log: {log})")
        code = server.wait()
    if code not in (0, None, -15):
        from targetbot.core.errors import TargetbotError

        raise TargetbotError(f"vLLM exited with code {code}; its log ({log}) ends:\n{server.log_tail()}")


class _sigterm_as_interrupt:
    """SIGTERM handled like Ctrl-C, so `finally` blocks stop what the command started."""

    def __enter__(self):
        import signal

        def raise_interrupt(*_):
            raise KeyboardInterrupt

        try:
            self.previous = signal.signal(signal.SIGTERM, raise_interrupt)
        except ValueError:  # not the main thread (a test runner): leave signals alone
            self.previous = None
        return self

    def __exit__(self, *exc):
        import signal

        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)
        return False


@app.command("publish")
@guard
def publish(
    ctx: typer.Context,
    url: Annotated[str, typer.Option(help="The running vLLM server, e.g. http://127.0.0.1:8011/v1.")],
    workspace: WorkspaceOpt = None,
    adapter: AdapterOpt = None,
    name: Annotated[str, typer.Option(help="Model name to serve it under.")] = NEXT_NAME,
    json_out: JsonOpt = False,
) -> None:
    """Load a LoRA adapter into a running vLLM server without a restart (the server must serve
    LoRA modules: `rewrite serve --engine vllm --no-merge`).

    Example: targetbot rewrite publish --url http://127.0.0.1:8011/v1 -w ws --name rewriter-v2
    """
    from targetbot.rewrite.engine_vllm import load_adapter, served_models

    _, ws = _catalog(workspace, adapter)
    ad = _adapter(ws, adapter, False)
    with console.status(f"loading {ad} into {url} as {name}"):
        load_adapter(url, name, ad)
        names = served_models(url)
    if json_out:
        emit_json({"url": url, "name": name, "adapter": str(ad), "models": names})
    else:
        out.print(f"{url} now serves {', '.join(names)} ({name} = {ad})")


@app.command("train")
@guard
def train(
    ctx: typer.Context,
    workspace: WorkspaceOpt = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Adapter folder to write (default: the "
                                                     "workspace's, WS/artifacts/rewrite/adapter).")] = None,
    recipe: Annotated[str, typer.Option(help="cpu: top-8-layer rank-8 LoRA that finishes on a 2-core CPU; "
                                        "gpu: all layers, rank 16, bf16, more data.")] = "cpu",
    seed: Annotated[Optional[int], typer.Option(help="Seed for synthesis and training (default: the recipe's).")] = None,
    publish_url: Annotated[Optional[str], typer.Option("--publish", help="Then load it into the vLLM server at "
                                                       "this URL (see `rewrite publish`).")] = None,
    name: Annotated[str, typer.Option(help="With --publish: the model name to serve it under.")] = NEXT_NAME,
    json_out: JsonOpt = False,
) -> None:
    """Train the rewriter's LoRA adapter on dialogues synthesized from the workspace's catalog (two-stage SFT).

    Example: targetbot rewrite train -w ws            (then targetbot ask -w ws uses it)
             targetbot rewrite train -w ws --out rewrite/adapters/default   (the versioned adapter)
    """
    from targetbot.core.errors import TargetbotError
    from targetbot.core.workspace import Workspace
    from targetbot.rewrite.catalog import Catalog
    from targetbot.rewrite.config import TrainConfig
    from targetbot.rewrite.retrieval import EntityIndex
    from targetbot.rewrite.train import train_rewriter, workspace_adapter_dir

    if recipe not in ("cpu", "gpu"):
        raise TargetbotError(f"unknown recipe '{recipe}' (use cpu or gpu)")
    ws = Workspace.open(workspace)
    cfg = TrainConfig.cpu() if recipe == "cpu" else TrainConfig.gpu()
    if seed is not None:
        cfg = cfg.model_copy(update={"seed": seed})
    target = out_dir or workspace_adapter_dir(ws)
    say = lambda m: console.print(f"  {m}", highlight=False)  # noqa: E731
    catalog, models = Catalog.from_workspace(ws), models_for(ctx)
    index = EntityIndex.build(catalog, models.text_encoder(), ws.artifacts_dir / "rewrite", progress=say)
    meta = train_rewriter(catalog, target, models.settings, cfg, progress=say, index=index)
    summary = {"adapter": str(target), **{k: meta[k] for k in ("stages", "seconds_total", "data", "trainable_params")}}
    if not json_out:
        out.print(f"adapter written to {target} in {meta['seconds_total']:.0f} s "
                  f"({meta['trainable_params']:,} trainable parameters)")
    if publish_url:  # after the adapter is safely written: a refused publish loses nothing
        from targetbot.rewrite.engine_vllm import load_adapter

        load_adapter(publish_url, name, target)
        summary["published"] = {"url": publish_url, "name": name}
        if not json_out:
            out.print(f"published to {publish_url} as {name}")
    if json_out:
        emit_json(summary)
