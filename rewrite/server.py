"""An OpenAI-compatible chat-completions server for engine `local` (stdlib only).

Speaks the subset of the protocol that the `openai` client, langchain's `ChatOpenAI` and vLLM
share: `GET /v1/models`, `POST /v1/chat/completions` with `response_format`
(`{"type": "json_schema", "json_schema": {"schema": ...}}` or `{"type": "json_object"}`),
vLLM's `structured_outputs: {"json": schema}`, and tools with a named or `required`
`tool_choice` (arguments decoded against the tool's parameter schema, like vLLM does).
Requests are served one at a time (one model in memory); bodies are size-limited; the fields
the engine reads are validated (types and ranges, `ChatRequest`) and any fault becomes a JSON
error response, never a dropped connection.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, ValidationError

from targetbot.core.errors import TargetbotError
from targetbot.rewrite.tool_calls import required_calls_schema

MAX_BODY = 1 << 20
MAX_TOKENS_CAP = 1024


class ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


Number = Union[StrictInt, StrictFloat]


class _Function(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: StrictStr
    parameters: dict | None = None


class _Tool(BaseModel):
    model_config = ConfigDict(extra="allow")
    function: _Function


class ChatRequest(BaseModel):
    """The chat-completions fields this server reads, with OpenAI's types and ranges; other fields
    clients send (user, seed, stop ...) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: StrictStr | None = None
    messages: list[Any] = Field(min_length=1)
    max_tokens: StrictInt | None = Field(None, ge=1)
    max_completion_tokens: StrictInt | None = Field(None, ge=1)
    temperature: Number | None = Field(None, ge=0, le=2)
    top_p: Number | None = Field(None, gt=0, le=1)
    n: StrictInt | None = Field(None, ge=1)
    stream: StrictBool | None = None
    response_format: dict | None = None
    structured_outputs: dict | None = None
    tools: list[_Tool] | None = None
    tool_choice: StrictStr | dict | None = None


def check_request(body: dict) -> ChatRequest:
    try:
        return ChatRequest.model_validate(body)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "body"
        raise ApiError(400, f"{where}: {err['msg']}") from None


def _check_tool(tool: dict) -> dict:
    fn = tool.get("function")
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
        raise ApiError(400, "each tool needs a function with a name")
    params = fn.get("parameters") or {"type": "object", "properties": {}}
    if not isinstance(params, dict):
        raise ApiError(400, "a tool's function.parameters must be a JSON schema object")
    return {"type": "function", "function": {**fn, "parameters": params}}


def _schema_of(body: dict) -> tuple[dict | None, str | None]:
    """(JSON schema to constrain to, how the output becomes tool calls: None, "named:<tool>" or "required")."""
    rf = body.get("response_format") or {}
    so = body.get("structured_outputs") or {}
    if body.get("guided_json") is not None:
        raise ApiError(400, "guided_json was removed; use response_format json_schema or structured_outputs.json")
    tools = body.get("tools") or []
    choice = body.get("tool_choice")
    if tools and choice not in (None, "none", "auto"):
        if choice == "required":  # like vLLM: a non-empty array of {name, parameters} over all tools
            parallel = body.get("parallel_tool_calls") is not False
            return required_calls_schema([_check_tool(t) for t in tools], parallel), "required"
        if isinstance(choice, dict):
            fn = choice.get("function")
            name = fn.get("name") if isinstance(fn, dict) else None
            tool = next((t for t in tools if (t.get("function") or {}).get("name") == name), None)
            if tool is None:
                raise ApiError(400, f"tool_choice names unknown tool '{name}'")
            return _check_tool(tool)["function"]["parameters"], "named:" + name
        raise ApiError(400, f"tool_choice '{choice}' is not none, auto, required or a named function")
    if isinstance(so, dict) and so.get("json") is not None:
        s = so["json"]
        try:
            s = json.loads(s) if isinstance(s, str) else s
        except ValueError:
            raise ApiError(400, "structured_outputs.json is not a JSON schema") from None
        if not isinstance(s, dict):
            raise ApiError(400, "structured_outputs.json must be a JSON schema object")
        return s, None
    kind = rf.get("type")
    if kind == "json_schema":
        js = rf.get("json_schema") or {}
        if not isinstance(js, dict):
            raise ApiError(400, "response_format.json_schema must be an object with a schema")
        schema = js.get("schema")
        if not isinstance(schema, dict):
            raise ApiError(400, "response_format.json_schema.schema must be an object")
        return schema, None
    if kind == "json_object":
        return {"type": "object", "properties": {}}, None
    if kind not in (None, "text"):
        raise ApiError(400, f"unsupported response_format type '{kind}'")
    return None, None


def _messages(body: dict) -> list[dict]:
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise ApiError(400, "messages must be a non-empty list")
    out = []
    for m in msgs:
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant", "tool", "developer"):
            raise ApiError(400, "each message needs a role of system/user/assistant/tool")
        content = m.get("content")
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        if content is None and m.get("tool_calls"):
            content = json.dumps([tc.get("function", {}) for tc in m["tool_calls"]])
        role = "system" if m["role"] == "developer" else ("user" if m["role"] == "tool" else m["role"])
        out.append({"role": role, "content": str(content or "")})
    return out


def chat_completion(engine, body: dict) -> dict:
    """One chat-completions request against an engine; returns the OpenAI response object."""
    req = check_request(body)
    model = req.model or engine.models()[0]
    if model not in engine.models():
        raise ApiError(404, f"model '{model}' does not exist (served: {', '.join(engine.models())})", "not_found_error")
    if req.stream:
        raise ApiError(400, "stream=true is not supported by the local engine")
    if (req.n or 1) != 1:
        raise ApiError(400, "only n=1 is supported")
    schema, tool = _schema_of(body)
    msgs = _messages(body)
    max_tokens = min(req.max_completion_tokens or req.max_tokens or 512, MAX_TOKENS_CAP)
    try:
        r = engine.complete(model, msgs, schema=schema, max_tokens=max_tokens)
    except TargetbotError as e:
        raise ApiError(400, str(e)) from None
    except RuntimeError as e:
        raise ApiError(500, f"generation failed: {e}", "server_error") from None
    message: dict = {"role": "assistant", "content": r["content"]}
    finish = "stop"
    if tool is not None:
        if tool == "required":
            try:
                calls = [(c["name"], json.dumps(c["parameters"])) for c in json.loads(r["content"])]
            except (ValueError, TypeError, KeyError):
                raise ApiError(500, "generation did not finish the tool calls (max_tokens too small?)",
                               "server_error") from None
        else:
            calls = [(tool.split(":", 1)[1], r["content"])]
        message = {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_" + uuid.uuid4().hex[:24], "type": "function", "function": {"name": n, "arguments": a}}
            for n, a in calls]}
        finish = "tool_calls"
    return {
        "id": "chatcmpl-" + uuid.uuid4().hex, "object": "chat.completion", "created": int(time.time()),
        "model": model, "system_fingerprint": "targetbot-local",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": {"prompt_tokens": r["prompt_tokens"], "completion_tokens": r["completion_tokens"],
                  "total_tokens": r["prompt_tokens"] + r["completion_tokens"]},
        "targetbot": {"seconds": round(r["seconds"], 3), "model_calls": r.get("model_calls")},
    }


class _Handler(BaseHTTPRequestHandler):
    engine = None
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet by default; the CLI prints one line per request
        if getattr(self.server, "verbose", False):
            super().log_message(fmt, *args)

    def _send(self, status: int, obj: dict) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, e: ApiError) -> None:
        self._send(e.status, {"error": {"message": e.message, "type": e.kind, "code": e.status}})

    def do_GET(self):
        path = self.path.split("?")[0].rstrip("/")
        if path in ("/v1/models", "/models"):
            self._send(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "targetbot"} for m in self.engine.models()]})
        elif path in ("/health", "/v1/health"):
            self._send(200, {"status": "ok"})
        else:
            self._error(ApiError(404, f"no route {path}", "not_found_error"))

    def do_POST(self):
        path = self.path.split("?")[0].rstrip("/")
        try:
            if path not in ("/v1/chat/completions", "/chat/completions"):
                raise ApiError(404, f"no route {path}", "not_found_error")
            try:
                n = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                raise ApiError(400, "Content-Length is not a number") from None
            if n <= 0 or n > MAX_BODY:
                raise ApiError(413 if n > MAX_BODY else 400, "request body missing or too large")
            try:
                body = json.loads(self.rfile.read(n))
            except ValueError:
                raise ApiError(400, "request body is not JSON") from None
            if not isinstance(body, dict):
                raise ApiError(400, "request body must be a JSON object")
            self._send(200, chat_completion(self.engine, body))
        except ApiError as e:
            self._error(e)
        except Exception as e:  # a fault of ours: still an answer, and the server stays up
            self._error(ApiError(500, f"internal error: {type(e).__name__}", "server_error"))


def make_server(engine, host: str = "127.0.0.1", port: int = 8011, verbose: bool = False) -> ThreadingHTTPServer:
    handler = type("Handler", (_Handler,), {"engine": engine})
    try:
        srv = ThreadingHTTPServer((host, port), handler)
    except OSError as e:
        raise TargetbotError(f"cannot listen on {host}:{port}: {e.strerror}") from None
    srv.daemon_threads = True
    srv.verbose = verbose
    return srv


def serve_in_thread(engine, host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Start a server in a background thread (tests, benchmarks); returns (server, base_url)."""
    srv = make_server(engine, host, port)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://{host}:{srv.server_address[1]}/v1"
