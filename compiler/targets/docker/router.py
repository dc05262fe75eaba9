"""The router of a docker target: one nginx container that owns every deployment's stable port.

Docker cannot move a published port from one container to another, so the stable URL of a
deployment is a `listen` of this router (host network, bound to the target's bind address), and
a blue/green switch is a new upstream file + `nginx -s reload` — graceful: in-flight requests
finish on the old workers, new ones go to the new backend. No request is dropped.

Each route is one file `routes/<deployment>.conf` whose first line is a JSON header; reading the
folder back (`read_routes`) is how the plan learns what serves which port. The image (Dockerfile,
nginx.conf, json-errors.conf) is rendered from templates/docker/router/.

Failover, in two tiers, both nginx's own `proxy_next_upstream` (no error interception):
- a deployment's listener balances over its replicas; a request that fails on one (connection
  refused/reset, connect timeout, or a 502/503 — the runtime's 503 means "not ready" or "busy, the
  body was not read", so nothing ran) is sent to the next replica, POSTs included (scoring is a
  pure function of the request). A 504 is not retried: the backend ran out of time scoring, and a
  retry would double the wait and the load. Every deployment listener also listens on a unix socket
  `/tmp/nginx/deployment.<name>.sock` that only the router itself can reach.
- an endpoint has, per deployment with a weight above 0, an upstream whose primary server is that
  deployment's unix socket and whose `backup` servers are the sockets of the endpoint's other
  weighted deployments. The split picks the upstream; when the chosen deployment cannot answer
  (its listener's own 502 once every replica failed, or a backend's 503), the request goes to the
  other deployments. The sockets are named by deployment, so a blue/green switch of a deployment
  (new backend ports) never touches an endpoint file.
A deployment with weight 0 gets no traffic, not even as a last resort: weight 0 is how a new
version is staged before the switch, and an untested version must not take production traffic
because the live one failed. When every deployment fails, the client gets the last answer, as JSON.

Every error the router answers itself (502, 504, 404, 405 with `Allow`, 413, ...) is JSON in the
runtime's shape, from json-errors.conf, included in every server block. `/metrics` is not split
through an endpoint: it answers a JSON 404 pointing at the deployments, the scrape targets — after
an auth_request to the split's deployment, so that without credentials it is their 401 (and 405 for
other methods than GET/HEAD), as the runtime's OpenAPI document says.
"""

from __future__ import annotations

import io
import json
import socket
import tarfile
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

import docker
from docker.errors import DockerException, NotFound
from docker.types import Mount

from ...digest import canonical_sha256
from ...errors import ApplyError
from ...render.templating import Templates
from . import labels as L
from . import names, router_tls
from .engine import RESTART_UNLESS_STOPPED
from .facts import EndpointRouteFact, RouteFact, RouterFact
from .volumes import ensure_volume

ROUTER_UID = 10002
CONF_DIR = "/etc/modelctl-router"
ROUTES_DIR = f"{CONF_DIR}/routes"
SOCKETS_DIR = "/tmp/nginx"
HEADER = "# modelctl-route "
TEMPLATES = "docker/router"
MAX_BODY = "256m"
CONNECT_TIMEOUT = "5s"  # a backend that does not accept within this fails over (replicas are local)
# Methods some route of the runtime takes: the `Allow` of the router's own 405 (nginx answers TRACE so).
ALLOW = "GET, HEAD, POST"
# The errors nginx itself can answer, each as {"error": ...}; the messages hold no `'` or `"`.
ROUTER_ERRORS = (
    (400, "bad request: the router could not parse it"),
    (401, "not authenticated: send Authorization: Bearer <key or token>"),
    (403, "the credentials do not grant this"),
    (404, "no such path on this listener"),
    (405, "method not allowed"),
    (408, "the request was not received in time"),
    (413, f"the request body is larger than the router accepts ({MAX_BODY})"),
    (414, "the request URI is too long"),
    (431, "the request headers are too large"),
    (500, "the router failed to handle the request"),
    (
        502,
        "no backend could answer: every replica (and every deployment the endpoint may fail over to) "
        "refused, reset or failed the connection",
    ),
    (503, "service unavailable"),
    (504, "the backend did not answer in time"),
)


@cache
def image_files() -> dict[str, str]:
    """The router image's build context (base left as `{base}`): Dockerfile, nginx.conf, json-errors.conf."""
    t = Templates()
    context = {
        "base": "{base}",
        "uid": ROUTER_UID,
        "conf_dir": CONF_DIR,
        "routes_dir": ROUTES_DIR,
        "max_body": MAX_BODY,
        "connect_timeout": CONNECT_TIMEOUT,
        "errors": ROUTER_ERRORS,
        "allow": ALLOW,
    }
    return {
        name: t.render(f"{TEMPLATES}/{name}.j2", context, resource="Router")
        for name in ("Dockerfile", "nginx.conf", "json-errors.conf")
    }


def dockerfile(base: str) -> str:
    return image_files()["Dockerfile"].replace("{base}", base)


# Every server block of the router: JSON errors, and what a proxied request carries. A request that
# reached a deployment's listener through an endpoint keeps the endpoint's client address and id.
SERVER_ERRORS = f"    include {CONF_DIR}/json-errors.conf;"
PROXY_HEADERS = """        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $modelctl_client;
        proxy_set_header X-Request-ID $modelctl_request_id;"""
# Retry on the next server what never ran: no connection, a connect timeout, a 502/503 (see above).
NEXT_UPSTREAM = "        proxy_next_upstream error timeout http_502 http_503 non_idempotent;"

# least_conn: scoring latency varies per request, so the replica with fewest requests in flight
# takes the next one. A replica that fails is skipped for fail_timeout (nginx's default 10 s).
ROUTE = """\
{header}
upstream {upstream} {{
    least_conn;
{servers}
    keepalive 32;
}}
server {{
    listen {bind}:{port};
    listen unix:{socket};
{errors}
    location / {{
        proxy_pass http://{upstream};
{next_upstream}
{proxy_headers}
    }}
}}
"""


ENDPOINT_HEADER = "# modelctl-endpoint "

# An endpoint: its own stable port; each request goes to one failover upstream, chosen by hashing
# its (random) request id into the traffic split. The path prefix is stripped.
ENDPOINT = """\
{header}
{upstreams}split_clients "${{request_id}}" ${variable} {{
{split}
}}
server {{
    listen {bind}:{port};
{errors}
{metrics}    location {location} {{
{rewrite}{body}
    }}
{outside}}}
"""

ENDPOINT_UPSTREAM = """\
upstream {name} {{
{servers}
}}
"""

ENDPOINT_PROXY = """\
        proxy_pass http://${variable};
{next_upstream}
{proxy_headers}"""

NO_TRAFFIC = """\
        default_type application/json;
        return 503 '{{"error": "endpoint {name} routes no traffic (every weight is 0)"}}';"""

# /metrics counts one deployment's requests: through a split it would be a random deployment's.
METRICS_404 = (
    "/metrics is per deployment: an endpoint does not serve it; scrape each deployment at its own URL "
    "(modelctl deployments list): {deployments}"
)
# The 404 is answered to whoever the deployments would let read /metrics: the access phase asks the
# split's deployment (GET /v2, which needs the same credentials) through auth_request, so a request
# without valid credentials gets the runtime's 401 as on a deployment; `try_files` then yields the 404.
ENDPOINT_METRICS = """\
    location @modelctl_metrics {{
        default_type application/json;
        return 404 '{{"error": "{message}"}}';
    }}
    location @modelctl_metrics_405 {{
        default_type application/json;
        add_header Allow "GET" always;
        return 405 '{{"error": "method $request_method not allowed"}}';
    }}
    location = /_modelctl/credentials {{
        internal;
        proxy_pass http://${variable}/v2;
        proxy_pass_request_body off;
        proxy_set_header Content-Length "";
{next_upstream}
{proxy_headers}
    }}
{locations}"""
METRICS_LOCATION = """\
    location = {path} {{
        if ($request_method !~ ^(GET|HEAD)$) {{
            return 405;
        }}
        auth_request /_modelctl/credentials;
        error_page 405 @modelctl_metrics_405;
        error_page 401 @modelctl_401;
        error_page 403 @modelctl_403;
        error_page 500 @modelctl_500;
        error_page 404 @modelctl_metrics;
        try_files /modelctl-no-such-file =404;
    }}
"""
NO_TRAFFIC_METRICS = """\
    location = {path} {{
        default_type application/json;
        return 404 '{{"error": "{message}"}}';
    }}
"""

OUTSIDE_PREFIX = """\
    location / {{
        default_type application/json;
        return 404 '{{"error": "endpoint {name} serves only under {prefix}/"}}';
    }}
"""


def socket_path(deployment: str) -> str:
    """The unix socket a deployment's listener also listens on (only the router reaches it)."""
    return f"{SOCKETS_DIR}/deployment.{deployment}.sock"


def endpoint_upstream(endpoint: str, deployment: str) -> str:
    return f"modelctl_ep.{endpoint}.{deployment}"  # dots: never a deployment's upstream name


def upstream_name(deployment: str) -> str:
    return "modelctl_" + deployment.replace("-", "_")


def endpoint_file(name: str) -> str:
    return f"ep.{name}.conf"  # a dot cannot appear in a deployment's name: no clash with its route file


def router_base(base_images: dict[str, str]) -> str:
    """The router is built FROM a Debian image, through the workspace's baseImages map."""
    for name in ("debian:bookworm-slim", "python:3.11-slim"):
        if name in base_images:
            return base_images[name]
    return "debian:bookworm-slim"


def router_image_tag(base: str) -> str:
    """Changes with the image's base and every file of its build context."""
    return "modelctl/router:" + canonical_sha256([image_files(), base])[:16]


# nginx writes only here (pid, temp files; the Debian package's own folders for good measure): the
# router's root file system is read-only, its route files live in a volume (put_archive writes them).
ROUTER_TMPFS = {
    "/tmp": "rw,noexec,nosuid,size=16m",
    "/tmp/nginx": f"rw,noexec,nosuid,size=64m,uid={ROUTER_UID},gid={ROUTER_UID},mode=0700",
    "/run": "rw,noexec,nosuid,size=1m",
    "/var/lib/nginx": f"rw,noexec,nosuid,size=1m,uid={ROUTER_UID},gid={ROUTER_UID},mode=0700",
    "/var/cache/nginx": f"rw,noexec,nosuid,size=1m,uid={ROUTER_UID},gid={ROUTER_UID},mode=0700",
}


def router_name(workspace: str, target: str) -> str:
    return names.router(workspace, target)


def router_fingerprint(tag: str) -> str:
    """The router's image and how it is run: a router with another one is replaced."""
    return tag + "+" + canonical_sha256(["read-only", ROUTER_TMPFS, ROUTES_DIR, router_tls.TLS_DIR])[:8]


@dataclass
class Router:
    client: docker.DockerClient
    workspace: str
    target_name: str
    bind_address: str
    base: str

    @property
    def name(self) -> str:
        return router_name(self.workspace, self.target_name)

    def _labels(self, role: str = "router") -> dict[str, str]:
        return {
            L.MANAGED_BY_KEY: L.MANAGED_BY,
            L.WORKSPACE: self.workspace,
            L.ROLE: role,
            L.TARGET: self.target_name,
            L.RESOURCE: f"Router/{self.target_name}",
        }

    # --- finding it: by labels, never by name alone -----------------------------------------------

    def found(self) -> list[Any]:
        """Every container labelled as this (workspace, target)'s router, whatever its name (an earlier
        version named it `modelctl-<ws>-<target>-router`)."""
        return find_routers(self.client, self.workspace, self.target_name)

    def container(self) -> Any | None:
        """This (workspace, target)'s router container, found by its labels; None when there is none."""
        return pick_router(self.found(), self.name)

    def _require(self) -> Any:
        c = self.container()
        if c is None:
            raise ApplyError(f"the router {self.name} of target {self.target_name} is gone (apply again)")
        return c

    def _refuse_foreign(self) -> None:
        """A container with this router's name that is not this (workspace, target)'s router by its
        labels is never used, changed or removed: apply stops and says whose it is."""
        try:
            c = self.client.containers.get(self.name)
        except NotFound:
            return
        if not L.owned_by(c.labels, self.workspace, **{L.TARGET: self.target_name, L.ROLE: "router"}):
            raise ApplyError(
                f"a container named {self.name} exists that is not the router of workspace "
                f"{self.workspace!r}, target {self.target_name!r} (its labels: {L.describe(c.labels)}); "
                "modelctl leaves it alone: rename or remove it"
            )

    # --- lifecycle ---------------------------------------------------------------------------

    def ensure(self) -> Any:
        """The router container, built and started if needed (idempotent). A router of this workspace
        and target (by labels) with another name or image is replaced, its route files carried over."""
        tag = router_image_tag(self.base)
        fingerprint = router_fingerprint(tag)
        self._refuse_foreign()
        found = self.found()
        keep = next((c for c in found if c.name == self.name and c.labels.get(L.FINGERPRINT) == fingerprint), None)
        if keep is not None:
            for c in found:
                if c is not keep:
                    c.remove(force=True)  # an earlier version's router left by an interrupted replacement
            keep.reload()
            if keep.status != "running":
                keep.start()
                self._wait_running(keep)
            return keep
        self._build_image(tag)
        files: dict[str, bytes] = {}
        for c in sorted(found, key=lambda c: c.status == "running"):  # the running router's files win
            files.update(route_files(self.client, c.id))
        for c in found:
            if c.name == self.name:
                c.remove(force=True)  # the name is taken by the one being replaced
        volume = self._routes_volume()
        new = self.client.containers.create(
            tag,
            name=self.name,
            network_mode="host",
            user=f"{ROUTER_UID}:{ROUTER_UID}",
            restart_policy=RESTART_UNLESS_STOPPED,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            read_only=True,
            tmpfs=ROUTER_TMPFS,
            mounts=[Mount(target=ROUTES_DIR, source=volume, type="volume"), self._tls_mount(volume)],
            labels={**self._labels(), L.FINGERPRINT: fingerprint},
            mem_limit="128m",
        )
        if files:
            _put_files(new, ROUTES_DIR, self.rendered_again(files))
        for c in found:
            if c.name != self.name:
                c.remove(force=True)  # an earlier version's name: its routes are in the new one
        new.start()
        self._wait_running(new)
        return new

    def _routes_volume(self) -> str:
        """The route files' volume, created with this router's labels; one with another owner's labels
        is never mounted."""
        name = names.routes_volume(self.workspace, self.target_name)
        ensure_volume(self.client, name, self._labels("routes"))
        return name

    def _tls_mount(self, routes_volume: str) -> Mount:
        """The certificates' volume (router_tls.py), with the routes volume's labels."""
        ensure_volume(self.client, router_tls.volume_name(routes_volume), self._labels("tls"))
        return router_tls.mount(routes_volume)

    def _wait_running(self, c) -> None:  # noqa: ANN001
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            c.reload()
            if c.status == "running":
                ok = c.exec_run(["nginx", "-c", f"{CONF_DIR}/nginx.conf", "-t"])
                if ok.exit_code == 0 and self._pid_ready(c):
                    return
            elif c.status in ("exited", "dead"):
                break
            time.sleep(0.2)
        logs = c.logs(tail=20).decode(errors="replace")
        raise ApplyError(f"the router {self.name} of target {self.target_name} did not start:\n{logs}")

    def _pid_ready(self, c) -> bool:  # noqa: ANN001
        return c.exec_run(["test", "-s", "/tmp/nginx/nginx.pid"]).exit_code == 0

    def _build_image(self, tag: str) -> None:
        try:
            self.client.api.inspect_image(tag)
            return
        except docker.errors.ImageNotFound:
            pass
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for name, text in {**image_files(), "Dockerfile": dockerfile(self.base)}.items():
                data = text.encode()
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        buf.seek(0)
        output: list[str] = []
        for chunk in self.client.api.build(
            fileobj=buf,
            custom_context=True,
            tag=tag,
            rm=True,
            forcerm=True,
            decode=True,
            labels={L.MANAGED_BY_KEY: L.MANAGED_BY},
        ):
            if "error" in chunk:
                raise ApplyError(
                    f"building the router image {tag} FROM {self.base} failed: {chunk['error']}\n"
                    + "\n".join(output[-20:])
                )
            output += [x for x in chunk.get("stream", "").splitlines() if x.strip()]

    # --- routes ------------------------------------------------------------------------------

    def allocate_port(self, deployment: str, port_range: list[int], *, endpoint: bool = False) -> int:
        """The deployment's (or endpoint's) current port, else the lowest free one in the target's range."""
        c = self.container()
        routes, endpoints = read_route_files(self.client, c.id) if c is not None else ([], [])
        if endpoint:
            current = next((e.port for e in endpoints if e.endpoint == deployment), None)
        else:
            current = next((r.port for r in routes if r.deployment == deployment), None)
        if current:
            return current
        used = {r.port for r in routes} | {e.port for e in endpoints}
        for port in range(port_range[0], port_range[1] + 1):
            if port not in used and _bindable(self.bind_address, port):
                return port
        raise ApplyError(
            f"no free port left in {port_range[0]}-{port_range[1]} on target {self.target_name} "
            "(set a wider spec.targets.<name>.portRange)"
        )

    def route_text(self, route: RouteFact) -> str:
        header = HEADER + json.dumps(
            {
                "deployment": route.deployment,
                "container": route.container,
                "port": route.port,
                "backendPort": route.backend_port,
                "replicas": [list(s) for s in route.servers],
                "fingerprint": route.fingerprint,
                "preventDestroy": route.prevent_destroy,
                **({"tls": route.tls.header()} if route.tls else {}),
            },
            sort_keys=True,
        )
        servers = "\n".join(f"    server 127.0.0.1:{port};" for _, port in route.servers)
        text = ROUTE.format(
            header=header,
            upstream=upstream_name(route.deployment),
            servers=servers,
            bind=self.bind_address,
            port=route.port,
            socket=socket_path(route.deployment),
            errors=SERVER_ERRORS,
            next_upstream=NEXT_UPSTREAM,
            proxy_headers=PROXY_HEADERS,
        )
        return router_tls.with_tls(text, route.tls)

    def endpoint_text(self, ep: EndpointRouteFact) -> str:
        header = ENDPOINT_HEADER + json.dumps(
            {
                "endpoint": ep.endpoint,
                "port": ep.port,
                "fingerprint": ep.fingerprint,
                "traffic": [list(t) for t in ep.traffic],
                "path": ep.path,
                **({"tls": ep.tls.header()} if ep.tls else {}),
            },
            sort_keys=True,
        )
        variable = "modelctl_ep_" + ep.endpoint.replace("-", "_")
        weighted = [(d, w) for d, w in ep.traffic if w > 0]
        upstreams = ""
        if weighted:
            # Per weighted deployment: itself first, the other weighted deployments as backups.
            for d, _ in weighted:
                servers = [f"    server unix:{socket_path(d)};"]
                servers += [f"    server unix:{socket_path(o)} backup;" for o, _ in weighted if o != d]
                upstreams += ENDPOINT_UPSTREAM.format(
                    name=endpoint_upstream(ep.endpoint, d), servers="\n".join(servers)
                )
            lines = [f"    {w}% {endpoint_upstream(ep.endpoint, d)};" for d, w in weighted[:-1]]
            lines.append(f"    * {endpoint_upstream(ep.endpoint, weighted[-1][0])};")
            body = ENDPOINT_PROXY.format(variable=variable, next_upstream=NEXT_UPSTREAM, proxy_headers=PROXY_HEADERS)
        else:
            lines = ['    * "";']
            body = NO_TRAFFIC.format(name=ep.endpoint)
        prefix = ep.path.rstrip("/")
        location = f"{prefix}/" if prefix else "/"
        rewrite = f"        rewrite ^{prefix}/(.*)$ /$1 break;\n" if prefix and weighted else ""
        deployments = ", ".join(d for d, _ in ep.traffic) or "none"
        message = METRICS_404.format(deployments=deployments)
        paths = (f"{prefix}/metrics", f"{prefix}/metrics/")
        if weighted:
            metrics = ENDPOINT_METRICS.format(
                message=message,
                variable=variable,
                next_upstream=NEXT_UPSTREAM,
                proxy_headers=PROXY_HEADERS,
                locations="".join(METRICS_LOCATION.format(path=path) for path in paths),
            )
        else:
            metrics = "".join(NO_TRAFFIC_METRICS.format(path=path, message=message) for path in paths)
        outside = OUTSIDE_PREFIX.format(name=ep.endpoint, prefix=prefix) if prefix else ""
        text = ENDPOINT.format(
            header=header,
            upstreams=upstreams,
            variable=variable,
            split="\n".join(lines),
            bind=self.bind_address,
            port=ep.port,
            errors=SERVER_ERRORS,
            metrics=metrics,
            location=location,
            rewrite=rewrite,
            body=body,
            outside=outside,
        )
        return router_tls.with_tls(text, ep.tls)

    def rendered_again(self, files: dict[str, bytes]) -> dict[str, bytes]:
        """Route files as this version writes them, from their headers (a replaced router's routes
        take this version's form); a file that is not ours is kept as it is."""
        out = {}
        for name, data in files.items():
            first = data.split(b"\n", 1)[0].decode(errors="replace")
            route, endpoint = parse_route_header(first), parse_endpoint_header(first)
            if route is not None:
                data = self.route_text(route).encode()
            elif endpoint is not None:
                data = self.endpoint_text(endpoint).encode()
            out[name] = data
        return out

    def set_endpoint(self, ep: EndpointRouteFact) -> None:
        c = self._require()
        _put_files(c, ROUTES_DIR, {endpoint_file(ep.endpoint): self.endpoint_text(ep).encode()})
        self._reload(c)

    def remove_endpoint(self, name: str) -> None:
        self._remove_file(endpoint_file(name))

    def set_route(self, route: RouteFact) -> None:
        self.set_routes([route])

    def set_routes(self, routes: list[RouteFact]) -> None:
        """Write the routes' files in one archive, then one graceful reload."""
        c = self._require()
        _put_files(c, ROUTES_DIR, {f"{r.deployment}.conf": self.route_text(r).encode() for r in routes})
        self._reload(c)

    def remove_route(self, deployment: str) -> None:
        self._remove_file(f"{deployment}.conf")

    def _remove_file(self, filename: str) -> None:
        c = self.container()
        if c is None:
            return
        if c.status != "running":
            c.start()
            self._wait_running(c)
        c.exec_run(["rm", "-f", f"{ROUTES_DIR}/{filename}"])
        self._reload(c)

    def _reload(self, c) -> None:  # noqa: ANN001
        test = c.exec_run(["nginx", "-c", f"{CONF_DIR}/nginx.conf", "-t"])
        if test.exit_code != 0:
            raise ApplyError(
                f"router {self.name}: the new configuration is invalid:\n" + test.output.decode(errors="replace")
            )
        before = self._workers(c)
        reload = c.exec_run(["nginx", "-c", f"{CONF_DIR}/nginx.conf", "-s", "reload"])
        if reload.exit_code != 0:
            raise ApplyError(f"router {self.name}: reload failed:\n" + reload.output.decode(errors="replace"))
        self._wait_reloaded(c, before)

    def _workers(self, c) -> dict[str, bool]:  # noqa: ANN001
        """nginx worker pids → still accepting (False once it is shutting down after a reload)."""
        script = "for d in /proc/[0-9]*; do printf '%s ' \"${d#/proc/}\"; tr '\\0' ' ' < \"$d/cmdline\"; echo; done"
        out = c.exec_run(["sh", "-c", script + " 2>/dev/null"]).output.decode(errors="replace")
        workers = {}
        for line in out.splitlines():
            pid, _, cmd = line.partition(" ")
            if "nginx: worker process" in cmd:
                workers[pid] = "shutting down" not in cmd
        return workers

    def _wait_reloaded(self, c, before: dict[str, bool]) -> None:  # noqa: ANN001
        """`nginx -s reload` only signals the master: wait until new workers run and the old ones stopped
        accepting, so that when apply returns every new connection sees the new routes."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            now = self._workers(c)
            if any(pid not in before for pid in now) and not any(now.get(pid) for pid in before):
                return
            time.sleep(0.05)
        raise ApplyError(f"router {self.name}: the reloaded configuration did not take over within 10 s")


def _bindable(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((address, port))
            return True
        except OSError:
            return False


def _put_files(container, folder: str, files: dict[str, bytes]) -> None:  # noqa: ANN001
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = len(data), 0o644, ROUTER_UID, ROUTER_UID
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
    if not container.put_archive(folder, buf.getvalue()):
        raise ApplyError(f"could not write {len(files)} route file(s) into {container.name}:{folder}")


def parse_route_header(first_line: str) -> RouteFact | None:
    """The route a route file describes, from its first line; None for a file that is not ours."""
    if not first_line.startswith(HEADER):
        return None
    try:
        h = json.loads(first_line[len(HEADER) :])
        replicas = tuple((str(name), int(port)) for name, port in h.get("replicas", ()))
        if len(replicas) == 1:
            replicas = ()
        return RouteFact(
            h["deployment"],
            h["container"],
            int(h["port"]),
            int(h["backendPort"]),
            h["fingerprint"],
            bool(h.get("preventDestroy", False)),
            replicas,
            router_tls.TlsRoute.from_header(h.get("tls")),
        )
    except (ValueError, KeyError, TypeError):
        return None


def parse_endpoint_header(first_line: str) -> EndpointRouteFact | None:
    if not first_line.startswith(ENDPOINT_HEADER):
        return None
    try:
        h = json.loads(first_line[len(ENDPOINT_HEADER) :])
        return EndpointRouteFact(
            h["endpoint"],
            int(h["port"]),
            h["fingerprint"],
            tuple((str(d), int(w)) for d, w in h["traffic"]),
            str(h.get("path", "/")),
            router_tls.TlsRoute.from_header(h.get("tls")),
        )
    except (ValueError, KeyError, TypeError):
        return None


def route_files(client: docker.DockerClient, container: str) -> dict[str, bytes]:
    """Every `.conf` file in the routes folder of a router container (by id), by file name."""
    try:
        stream, _ = client.api.get_archive(container, ROUTES_DIR)
    except NotFound:
        return {}
    except DockerException as exc:
        raise ApplyError(f"cannot read the routes of {container}: {exc}") from None
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        for member in tar.getmembers():
            if not member.isfile() or not member.name.endswith(".conf"):
                continue
            file = tar.extractfile(member)  # a file object for every regular file
            if file is not None:
                files[member.name.rsplit("/", 1)[-1]] = file.read()
    return files


def read_route_files(client: docker.DockerClient, container: str) -> tuple[list[RouteFact], list[EndpointRouteFact]]:
    """The deployments' routes and the endpoints' listeners written into the router `container` (its id)."""
    routes: list[RouteFact] = []
    endpoints: list[EndpointRouteFact] = []
    for data in route_files(client, container).values():
        first = data.split(b"\n", 1)[0].decode(errors="replace")
        route = parse_route_header(first)
        if route is not None:
            routes.append(route)
        endpoint = parse_endpoint_header(first)
        if endpoint is not None:
            endpoints.append(endpoint)
    return sorted(routes, key=lambda r: r.deployment), sorted(endpoints, key=lambda e: e.endpoint)


def read_routes(client: docker.DockerClient, container: str) -> list[RouteFact]:
    return read_route_files(client, container)[0]


def router_filter(workspace: str, target_name: str) -> dict:
    return L.managed_filter(workspace, **{L.ROLE: "router", L.TARGET: target_name})


def find_routers(client: docker.DockerClient, workspace: str, target_name: str) -> list[Any]:
    """The containers labelled as the router of (workspace, target), whatever their names."""
    return client.containers.list(all=True, filters=router_filter(workspace, target_name))


def pick_router(found: list[Any], name: str) -> Any | None:
    """Of the labelled routers, the one with this version's name, else a running one, else any."""
    return (
        next((c for c in found if c.name == name), None)
        or next((c for c in found if c.status == "running"), None)
        or (found[0] if found else None)
    )


def read_router(client: docker.DockerClient, workspace: str, target_name: str, bind_address: str) -> RouterFact | None:
    """The router of (workspace, target), found by its labels; `renamed` when it (or a leftover) has the
    name of an earlier version, so the plan replaces it."""
    rows = client.api.containers(all=True, filters=router_filter(workspace, target_name))
    if not rows:
        return None
    name = router_name(workspace, target_name)

    def row_name(row: dict) -> str:
        return (row.get("Names") or ["/?"])[0].lstrip("/")

    row = (
        next((r for r in rows if row_name(r) == name), None)
        or next((r for r in rows if r.get("State") == "running"), None)
        or rows[0]
    )
    routes, endpoints = read_route_files(client, row["Id"])
    renamed = any(row_name(r) != name for r in rows)
    return RouterFact(
        target_name,
        row_name(row),
        row.get("State") == "running",
        bind_address,
        tuple(routes),
        tuple(endpoints),
        renamed=renamed,
    )
