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
    adapter: Annotated[Optional[Path], typer.Option(help="LoRA adapter folder (default: workspace's, else bundled).")] = None,
    base: Annotated[bool, typer.Option("--base", help="Use the untuned base model (full instruction prompt).")] = False,
    url: Annotated[Optional[str], typer.Option(help="Use a running server (e.g. http://127.0.0.1:8011/v1) instead of loading the model.")] = None,
    model: Annotated[Optional[str], typer.Option(help="Served model name with --url (default: targetbot-rewriter).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Print the TargetingPlan for a request (validated; one repair attempt, then a clear error)."""
    from targetbot.rewrite.client import InProcessChat, OpenAIChat, Rewriter
    from targetbot.rewrite.config import SERVED_NAME
    from targetbot.rewrite.messages import MAX_REQUEST_CHARS, sanitize_request
    from targetbot.core.errors import TargetbotError

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
    rw = Rewriter(chat, catalog, name, prompt="full" if base else "tuned")
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
    console.print(f"{name}: {d['seconds']:.1f}s, {d['attempts']} attempt(s)")


@app.command("serve")
@guard
def serve(
    ctx: typer.Context,
    engine: Annotated[str, typer.Option(help="local (CPU, in-process transformers + peft) | vllm (GPU)")] = "local",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8011,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    workspace: WorkspaceOpt = None,
    adapter: Annotated[Optional[Path], typer.Option(help="LoRA adapter folder (default: workspace's, else bundled).")] = None,
    merge: Annotated[bool, typer.Option(help="Merge the LoRA into the weights (faster; serves only the tuned model).")] = False,
    print_command: Annotated[bool, typer.Option("--print-command", help="vllm: print the command line and exit.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Start an OpenAI-compatible server: models 'targetbot-rewriter' (LoRA) and 'base'.

    Example: targetbot rewrite serve --engine local --port 8011
    then:    OpenAI(base_url="http://127.0.0.1:8011/v1", api_key="EMPTY")
    """
    from targetbot.rewrite.config import ServeConfig
    from targetbot.core.errors import TargetbotError

    if engine not in ("local", "vllm"):
        raise TargetbotError(f"unknown engine '{engine}' (use local or vllm)")
    cfg = ServeConfig(engine=engine, host=host, port=port, merge=merge, adapter=adapter)
    catalog, ws = _catalog(workspace, adapter)
    ad = _adapter(ws, adapter, False)
    if engine == "vllm":
        from targetbot.rewrite.engine_vllm import run_vllm, vllm_command
        from targetbot.core.bundled import llm_path

        settings = models_for(ctx).settings
        base_model = llm_path(settings)
        if merge and not (print_command or json_out):
            from targetbot.rewrite.engine_vllm import merged_model_dir

            with console.status("merging the LoRA into the base weights"):
                base_model = str(merged_model_dir(base_model, ad, settings.cache_dir / "rewriter-merged", settings))
        elif merge:
            base_model = str(settings.cache_dir / "rewriter-merged")
        cmd = vllm_command(cfg, base_model, ad)
        if print_command or json_out:
            emit_json({"command": cmd}) if json_out else out.print(" ".join(cmd), soft_wrap=True)
            return
        raise typer.Exit(run_vllm(cmd))
    from targetbot.rewrite.engine_local import LocalEngine
    from targetbot.rewrite.server import make_server

    with console.status("loading the rewriter"):
        eng = LocalEngine(models_for(ctx).settings, adapter=ad, merge=merge)
    eng.add_aliases(catalog.aliases())  # entity slots snap aliases of the served catalog
    srv = make_server(eng, host, port)
    console.print(f"serving {', '.join(eng.models())} at http://{host}:{srv.server_address[1]}/v1 (Ctrl-C stops)")
    try:
        srv.serve_forever()
    finally:
        srv.server_close()


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
    from targetbot.rewrite.train import train_rewriter, workspace_adapter_dir

    if recipe not in ("cpu", "gpu"):
        raise TargetbotError(f"unknown recipe '{recipe}' (use cpu or gpu)")
    ws = Workspace.open(workspace)
    cfg = TrainConfig.cpu() if recipe == "cpu" else TrainConfig.gpu()
    if seed is not None:
        cfg = cfg.model_copy(update={"seed": seed})
    target = out_dir or workspace_adapter_dir(ws)
    meta = train_rewriter(Catalog.from_workspace(ws), target, models_for(ctx).settings, cfg,
                          progress=lambda m: console.print(f"  {m}", highlight=False))
    summary = {"adapter": str(target), **{k: meta[k] for k in ("stages", "seconds_total", "data", "trainable_params")}}
    if json_out:
        emit_json(summary)
        return
    out.print(f"adapter written to {target} in {meta['seconds_total']:.0f} s "
              f"({meta['trainable_params']:,} trainable parameters)")
