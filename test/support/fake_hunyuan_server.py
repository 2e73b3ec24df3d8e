#!/usr/bin/env python3
"""
FAKE Hunyuan3D api_server.py, variant 2.0 or 2.1, for MeshCache's tests: the real server
needs a GPU and model weights, so the GPU work is replaced by a gate the test opens. It runs
on upstream's own stack (FastAPI + uvicorn, Debian's python3-fastapi / python3-uvicorn) and
keeps upstream's behaviour where a client can tell.

What it models, and where each fact comes from (Tencent-Hunyuan/Hunyuan3D-2 api_server.py at
9bcf302; Tencent-Hunyuan/Hunyuan3D-2.1 api_server.py and api_models.py at 82920d6; read
through MeshCache's search tool, summarised in ../shared/design.md section 5):
- Both: POST /generate is an `async def` handler that calls the worker directly, so the one
  event loop is held for the whole generation: /status, /health and another /generate wait
  until it is done. Here the worker waits on the gate inside that handler, which blocks
  the loop exactly as upstream does.
- Both: POST /send starts the worker in a thread and answers {"uid"} at once; the server
  stays responsive during /send jobs.
- Both: every failure of /generate is HTTP 404 {"text": SERVER_ERROR_MSG, "error_code": 1}
  (upstream's text is the same generic sentence whatever went wrong). A failed /send job
  writes no file, so its /status stays "processing" for ever; an unknown uid answers
  "processing" too. CORS allows any origin. No authentication.
- 2.0: the body is read with request.json() and never validated; the whole dict goes to
  the pipeline. `mesh` (base64 GLB) skips shape generation and only texturing runs; `text`
  is ignored when an image is given (text-to-image is commented out upstream, so a text-only
  request fails); `texture` runs texturing (only with --enable_tex); `face_count` is used only
  with texture; `type` is any trimesh format for /generate, but /status looks for {uid}.glb
  only. There is no /health (FastAPI's 404 {"detail": "Not Found"}).
- 2.1: a pydantic model validates /generate and /send (422 {"detail": [{"loc", "msg", ...}]}):
  image required; remove_background, texture, seed 0..2**32-1, octree_resolution 64..512,
  num_inference_steps 1..20, guidance_scale 0.1..20, num_chunks 1000..20000, face_count
  1000..100000; unknown fields are ignored. The worker calls pipeline(image=image) only and
  textures every job. /status answers "processing", then "texturing" once {uid}_initial.glb
  exists, then "completed" with model_base64 and initial_model_base64. GET /health answers
  {"status": "healthy", "worker_id"}; worker_id is str(uuid.uuid4())[:6], new at every start.
- Which weights (2.0 api_server.py __main__ and ModelWorker.__init__: --model_path defaults to
  tencent/Hunyuan3D-2mini, --subfolder to hunyuan3d-dit-v2-mini-turbo, or with --mv to
  tencent/Hunyuan3D-2mv and hunyuan3d-dit-v2-mv; --tex_model_path tencent/Hunyuan3D-2.
  2.1 api_server.py __main__: --model_path tencent/Hunyuan3D-2.1, --subfolder
  hunyuan3d-dit-v2-1, --enable_flashvdm, --mc_algo mc). The weights decide the shape, so every
  model's bytes name the weights loaded: other flags give other bytes for the same request.
  Neither variant says which weights it runs on any route, and neither does this fake.
- Samples: 2.0's worker seeds torch.Generator(device).manual_seed(params.get("seed", 1234))
  (api_server.py ModelWorker.generate), so the same request gives the same model. 2.1's
  model_worker.py calls self.pipeline(image=image) with no generator: every run is a new
  random sample whatever the seed, so each 2.1 model here carries a fresh random sample id.

Not modelled: the models themselves (the answer is a small valid GLB that records what the
worker used, whatever `type` asks for: the file is named by the type, as upstream's, but its
bytes are GLB; MeshCache always asks for glb and writes other formats itself), rembg, CUDA,
the save folder's location.

A second port, served by a thread, is the test's control (not part of upstream): hold and
release jobs, choose a failure, read what arrived and how many shape and texture jobs ran,
and freeze /status: each status request is then taken and not answered until thawed (a server
whose front hangs, or a cut network, as a client sees it; upstream never does this).
Started as `fake_hunyuan_server.py --variant 2.0|2.1 [--port N] [upstream's flags]`; prints one
JSON line with both ports.
"""
import argparse
import asyncio
import base64
import hashlib
import json
import os
import socket
import struct
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

import uvicorn
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field

SERVER_ERROR_MSG = "**NETWORK ERROR DUE TO HIGH TRAFFIC. PLEASE REGENERATE OR REFRESH THIS PAGE.**"

parser = argparse.ArgumentParser()
parser.add_argument("--variant", choices=["2.0", "2.1"], required=True)
parser.add_argument("--glb", help="serve this file's bytes as every model")
parser.add_argument("--enable_tex", action="store_true", help="2.0: texturing is available")
# Upstream's own flags, so the fake starts from the command line MeshCache gives api_server.py.
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--low_vram_mode", action="store_true")
parser.add_argument("--model_path")
parser.add_argument("--subfolder")
parser.add_argument("--tex_model_path")
parser.add_argument("--mv", action="store_true")
parser.add_argument("--enable_flashvdm", action="store_true")
parser.add_argument("--mc_algo")
args = parser.parse_args()
# Each variant's argparse knows only its own flags: another's is "unrecognized arguments", exit 2.
FOREIGN = {"2.0": [("--enable_flashvdm", args.enable_flashvdm), ("--mc_algo", args.mc_algo),
                   ("--low_vram_mode", args.low_vram_mode)],
           "2.1": [("--enable_tex", args.enable_tex), ("--tex_model_path", args.tex_model_path), ("--mv", args.mv)]}
foreign = [name for name, value in FOREIGN[args.variant] if value]
if foreign:
    parser.error("unrecognized arguments: " + " ".join(foreign))


def loaded_weights():
    """The weights the worker loads, resolved from the flags as upstream's __main__ does."""
    if args.variant == "2.1":
        return {"model_path": args.model_path or "tencent/Hunyuan3D-2.1",
                "subfolder": args.subfolder or "hunyuan3d-dit-v2-1",
                "flashvdm": args.enable_flashvdm, "mc_algo": args.mc_algo or "mc"}
    model_path = args.model_path or "tencent/Hunyuan3D-2mini"
    subfolder = args.subfolder
    if args.mv:
        if model_path == "tencent/Hunyuan3D-2mini":
            model_path = "tencent/Hunyuan3D-2mv"
        subfolder = subfolder or "hunyuan3d-dit-v2-mv"
    return {"model_path": model_path, "subfolder": subfolder or "hunyuan3d-dit-v2-mini-turbo",
            "tex_model_path": (args.tex_model_path or "tencent/Hunyuan3D-2") if args.enable_tex else None}


WEIGHTS = loaded_weights()

SAVE_DIR = tempfile.mkdtemp(prefix="fake-hunyuan-")
worker_id = str(uuid.uuid4())[:6]


class Control:
    """What the test sets and reads; guarded by one lock (worker threads and both servers)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.gate = threading.Event()
        self.gate.set()
        self.texture_gate = threading.Event()
        self.texture_gate.set()
        self.behaviour = "ok"  # ok | error | garbage
        self.frozen = False  # /status answers nothing while set
        self.received = []
        self.shape_jobs = 0
        self.texture_jobs = 0
        self.completed = 0
        self.running = 0
        self.most_running = 0
        self.served = open(args.glb, "rb").read() if args.glb else None

    def stats(self):
        with self.lock:
            return {
                "received": self.received,
                "shape_jobs": self.shape_jobs,
                "texture_jobs": self.texture_jobs,
                "completed": self.completed,
                "running": self.running,
                "most_running": self.most_running,
            }


control = Control()


async def thawed():
    """Holds a status request while the test has frozen /status (the control's /freeze)."""
    while control.frozen:
        await asyncio.sleep(0.05)


def summary(params):
    """A body as the test reads it: long strings (pictures, meshes) by length and SHA-256."""
    out = {}
    for key, value in params.items():
        if isinstance(value, str) and len(value) > 200:
            out[key] = {"length": len(value), "sha256": hashlib.sha256(value.encode()).hexdigest()}
        else:
            out[key] = value
    return out


def glb_bytes(extras):
    """A valid one-triangle GLB whose asset.extras say what the worker used."""
    positions = struct.pack("<9f", 0, 0, 0, 1, 0, 0, 0, 1, 0)
    gltf = {
        "asset": {"version": "2.0", "generator": "fake-hunyuan", "extras": extras},
        "buffers": [{"byteLength": len(positions)}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": len(positions)}],
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
                       "min": [0, 0, 0], "max": [1, 1, 0]}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
        "nodes": [{"mesh": 0}],
        "scenes": [{"nodes": [0]}],
        "scene": 0,
    }
    text = json.dumps(gltf).encode()
    text += b" " * (-len(text) % 4)
    total = 12 + 8 + len(text) + 8 + len(positions)
    return (struct.pack("<4sII", b"glTF", 2, total) + struct.pack("<I4s", len(text), b"JSON") + text
            + struct.pack("<I4s", len(positions), b"BIN\x00") + positions)


def model_file(uid, suffix, extras):
    path = os.path.join(SAVE_DIR, f"{uid}{suffix}")
    if control.behaviour == "garbage":
        data = b"<html>not a model</html>"
    else:
        data = control.served if control.served is not None else glb_bytes(extras)
    with open(path + ".part", "wb") as f:
        f.write(data)
    os.replace(path + ".part", path)  # /status never sees half a file
    return path


def begin(params):
    with control.lock:
        control.received.append(summary(params))
        control.running += 1
        control.most_running = max(control.most_running, control.running)


def end(ok):
    with control.lock:
        control.running -= 1
        if ok:
            control.completed += 1


def worker_2_0(uid, params):
    """Hunyuan3D-2's ModelWorker.generate, with the GPU work replaced by the gate."""
    begin(params)
    ok = False
    try:
        views = [k for k in ("image", "image_front", "image_left", "image_back", "image_right") if k in params]
        if not views:
            # text-to-image is commented out upstream: self.pipeline_t2i does not exist
            raise AttributeError("'ModelWorker' object has no attribute 'pipeline_t2i'")
        control.gate.wait()
        if control.behaviour == "error":
            raise RuntimeError("CUDA out of memory")
        used = {"variant": "2.0", "weights": WEIGHTS, "views": sorted(views)}
        if "mesh" in params:
            used["shape"] = "from mesh"
        else:
            with control.lock:
                control.shape_jobs += 1
            used["shape"] = {k: params.get(k, d) for k, d in
                             (("seed", 1234), ("octree_resolution", 128), ("num_inference_steps", 5),
                              ("guidance_scale", 5.0))}
        if params.get("texture", False):
            if not args.enable_tex:
                raise AttributeError("'ModelWorker' object has no attribute 'pipeline_tex'")
            control.texture_gate.wait()
            with control.lock:
                control.texture_jobs += 1
            used["texture"] = {"face_count": params.get("face_count", 40000)}
        kind = params.get("type", "glb")
        path = model_file(uid, f".{kind}", used)
        ok = True
        return path
    finally:
        end(ok)


def worker_2_1(uid, params):
    """Hunyuan3D-2.1's ModelWorker.generate: pipeline(image=image), then texturing, always."""
    begin(params)
    ok = False
    try:
        control.gate.wait()
        if control.behaviour == "error":
            raise RuntimeError("CUDA out of memory")
        with control.lock:
            control.shape_jobs += 1
        # pipeline(image=image) gets no generator: a new random sample on every run.
        sample = uuid.uuid4().hex
        used = {"variant": "2.1", "weights": WEIGHTS, "sample": sample}
        model_file(uid, "_initial.glb", {**used, "textured": False})
        control.texture_gate.wait()
        with control.lock:
            control.texture_jobs += 1
        path = model_file(uid, "_textured.glb", {**used, "textured": True})
        ok = True
        return path
    finally:
        end(ok)


def failure():
    return JSONResponse({"text": SERVER_ERROR_MSG, "error_code": 1}, status_code=404)


def in_thread(work, uid, params):
    def run():
        try:
            work(uid, params)
        except Exception:  # upstream's thread dies silently: the job stays "processing"
            pass

    threading.Thread(target=run, daemon=True).start()


app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True,
                   allow_methods=["*"], allow_headers=["*"])

if args.variant == "2.0":
    @app.post("/generate")
    async def generate_2_0(request: Request):
        params = await request.json()
        try:
            return FileResponse(worker_2_0(uuid.uuid4(), params))  # blocks the loop, as upstream
        except Exception:
            return failure()

    @app.post("/send")
    async def send_2_0(request: Request):
        params = await request.json()
        uid = uuid.uuid4()
        in_thread(worker_2_0, uid, params)
        return JSONResponse({"uid": str(uid)}, status_code=200)

    @app.get("/status/{uid}")
    async def status_2_0(uid: str):
        await thawed()
        path = os.path.join(SAVE_DIR, f"{uid}.glb")
        if not os.path.exists(path):
            return JSONResponse({"status": "processing"}, status_code=200)
        return JSONResponse({"status": "completed",
                             "model_base64": base64.b64encode(open(path, "rb").read()).decode()})
else:
    class GenerationRequest(BaseModel):
        image: str = Field(...)
        remove_background: bool = Field(True)
        texture: bool = Field(False)
        seed: int = Field(1234, ge=0, le=2 ** 32 - 1)
        octree_resolution: int = Field(256, ge=64, le=512)
        num_inference_steps: int = Field(5, ge=1, le=20)
        guidance_scale: float = Field(5.0, ge=0.1, le=20.0)
        num_chunks: int = Field(8000, ge=1000, le=20000)
        face_count: int = Field(40000, ge=1000, le=100000)

    @app.post("/generate")
    async def generate_2_1(request: GenerationRequest):
        try:
            return FileResponse(worker_2_1(uuid.uuid4(), request.dict()))  # blocks the loop
        except Exception:
            return failure()

    @app.post("/send")
    async def send_2_1(request: GenerationRequest):
        uid = uuid.uuid4()
        in_thread(worker_2_1, uid, request.dict())
        return JSONResponse({"uid": str(uid)}, status_code=200)

    @app.get("/health")
    async def health():
        return JSONResponse({"status": "healthy", "worker_id": worker_id}, status_code=200)

    @app.get("/status/{uid}")
    async def status_2_1(uid: str):
        await thawed()
        textured = os.path.join(SAVE_DIR, f"{uid}_textured.glb")
        initial = os.path.join(SAVE_DIR, f"{uid}_initial.glb")
        if os.path.exists(textured) and os.path.exists(initial):
            return JSONResponse({"status": "completed",
                                 "model_base64": base64.b64encode(open(textured, "rb").read()).decode(),
                                 "initial_model_base64": base64.b64encode(open(initial, "rb").read()).decode()})
        if os.path.exists(initial):
            return JSONResponse({"status": "texturing"})
        return JSONResponse({"status": "processing"})


class ControlHandler(BaseHTTPRequestHandler):
    """The test's side door: POST /hold, /release, /hold-texture, /release-texture,
    /freeze, /thaw, /behaviour/<ok|error|garbage>, /reset; GET /stats."""

    def log_message(self, *_):
        pass

    def answer(self, body, status=200):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/stats":
            return self.answer(control.stats())
        self.answer({"error": "unknown"}, 404)

    def do_POST(self):
        path = self.path
        if path == "/hold":
            control.gate.clear()
        elif path == "/release":
            control.gate.set()
        elif path == "/hold-texture":
            control.texture_gate.clear()
        elif path == "/release-texture":
            control.texture_gate.set()
        elif path == "/freeze":
            control.frozen = True
        elif path == "/thaw":
            control.frozen = False
        elif path.startswith("/behaviour/") and path[11:] in ("ok", "error", "garbage"):
            control.behaviour = path[11:]
        elif path == "/reset":
            with control.lock:
                control.received = []
                control.shape_jobs = control.texture_jobs = control.completed = 0
        else:
            return self.answer({"error": "unknown"}, 404)
        self.answer({"ok": True})


def main():
    api = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    api.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    api.bind((args.host, args.port))
    api.listen(128)  # connections wait in the backlog while the loop is blocked, as upstream
    side = ThreadingHTTPServer(("127.0.0.1", 0), ControlHandler)
    side.daemon_threads = True
    threading.Thread(target=side.serve_forever, daemon=True).start()
    print(json.dumps({"port": api.getsockname()[1], "control": side.server_address[1]}), flush=True)
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    asyncio.run(uvicorn.Server(config).serve(sockets=[api]))


if __name__ == "__main__":
    main()
