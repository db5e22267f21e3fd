"""The deployment files agree with the code: manifests parse and point at real endpoints and
commands, and gunicorn with deploy/gunicorn.conf.py serves the app with metrics summed over
its workers."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from indexers.cli import build_parser
from indexers.commands import check_links as check_links_cmd, refresh as refresh_cmd
from service import create_app
from service.settings import Settings
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
GUNICORN_CONF = "deploy/gunicorn.conf.py"  # relative to ROOT, as every deployment runs it
MANIFESTS = sorted(K8S.glob("*.yaml"))
COMPOSE_FILES = sorted((DEPLOY / "compose").glob("*.yml"))


def documents(path: Path) -> list[dict]:
    """Every YAML document in a file."""
    with open(path, encoding="utf-8") as fh:
        return [doc for doc in yaml.safe_load_all(fh) if doc is not None]


def k8s_objects() -> dict[str, dict]:
    """The Kubernetes objects in deploy/k8s by kind (one of each kind)."""
    found = {}
    for path in MANIFESTS:
        if path.name == "kustomization.yaml":
            continue
        for doc in documents(path):
            assert doc["kind"] not in found, f"two {doc['kind']} objects"
            found[doc["kind"]] = doc
    return found


def only_container(pod_spec: dict) -> dict:
    """The single container of a pod template."""
    assert len(pod_spec["containers"]) == 1
    return pod_spec["containers"][0]


def clean_env(**settings: str) -> dict:
    """This process's environment without LINKAGE_* or metrics settings, plus `settings`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LINKAGE_") and k not in ("PROMETHEUS_MULTIPROC_DIR", "WEB_CONCURRENCY",
                                                          "HOST", "PORT", "GUNICORN_CMD_ARGS")}
    env.update(settings)
    return env


def sqlite_env(backend, tmp_path: Path, **extra: str) -> dict:
    """Environment for a server over the demo index whose writes all land in tmp_path."""
    return clean_env(
        LINKAGE_BACKEND="sqlite",
        LINKAGE_SQLITE_PATH=str(backend.path),
        LINKAGE_REFERRALS_PATH=str(tmp_path / "referrals.sqlite"),
        LINKAGE_LINK_CHECKS_PATH=str(tmp_path / "link-checks.sqlite"),
        LINKAGE_SOURCES_DIR=str(tmp_path / "sources"),
        LINKAGE_API_RATE_LIMIT="1000000/minute",
        **extra,
    )


# --- manifests ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", MANIFESTS + COMPOSE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_manifest_parses(path):
    docs = documents(path)
    assert docs, f"{path.name} is empty"
    for doc in docs:
        assert isinstance(doc, dict)
        if path.parent == K8S:
            assert doc.get("apiVersion") and doc.get("kind"), path.name
            if doc["kind"] != "Kustomization":
                assert doc["metadata"]["name"], path.name


def test_kustomization_lists_every_manifest():
    (kustomization,) = documents(K8S / "kustomization.yaml")
    assert sorted(kustomization["resources"]) == sorted(p.name for p in MANIFESTS if p.name != "kustomization.yaml")


def test_probes_point_at_health_endpoints_the_app_serves(sqlite_backend, gazetteer, tmp_path):
    deployment = k8s_objects()["Deployment"]
    container = only_container(deployment["spec"]["template"]["spec"])
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["port"] in ports, probe
    assert ports["http"] == 8000  # gunicorn.conf.py's default PORT

    app = create_app({"referrals_path": str(tmp_path / "referrals.sqlite")}, backend=sqlite_backend, geocoder=gazetteer)
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert {"/readyz", "/healthz", "/metrics"} <= rules
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_pods_run_as_the_image_user_on_a_read_only_root():
    objects = k8s_objects()
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^USER 10001:10001$", dockerfile, re.M)
    pods = [objects["Deployment"]["spec"]["template"]["spec"],
            objects["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]]
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001
        container = only_container(pod)
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        volumes = {v["name"] for v in pod["volumes"]}
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        # The only places the app and imports write (gunicorn.conf.py's metrics dir is in /tmp).
        assert {"/app/var", "/tmp"} <= set(mounts) and set(mounts.values()) <= volumes
    assert only_container(pods[0])["image"] == only_container(pods[1])["image"]


def test_cronjob_runs_linkage_refresh_one_at_a_time():
    cronjob = k8s_objects()["CronJob"]
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    command = only_container(cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"])["command"]
    assert command[:2] == ["linkage", "refresh"]
    args = build_parser().parse_args(command[1:])
    assert args.func is refresh_cmd.run
    # The image's working directory holds data/ as the repository does.
    assert (ROOT / args.config).is_file()


def test_hpa_scales_the_deployment():
    objects = k8s_objects()
    hpa = objects["HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", objects["Deployment"]["metadata"]["name"])
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    # CPU utilisation is relative to the request; without one the autoscaler cannot work.
    assert only_container(objects["Deployment"]["spec"]["template"]["spec"])["resources"]["requests"]["cpu"]
    assert "replicas" not in objects["Deployment"]["spec"]  # the autoscaler owns it
    service = objects["Service"]
    labels = objects["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()


def test_environment_names_are_real_settings_and_sources_exist():
    objects = k8s_objects()
    known = {f"LINKAGE_{f.name.upper()}" for f in fields(Settings)}
    config_map = objects["ConfigMap"]
    names = set(config_map["data"])
    for pod in (objects["Deployment"]["spec"]["template"]["spec"],
                objects["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]):
        container = only_container(pod)
        assert [s["configMapRef"]["name"] for s in container["envFrom"]] == [config_map["metadata"]["name"]]
        for entry in container.get("env", []):
            names.add(entry["name"])
            assert entry["valueFrom"]["secretKeyRef"]["name"] == "linkage-secrets"
    unknown = {n for n in names if n.startswith("LINKAGE_")} - known
    assert not unknown, f"not settings (see service/settings.py): {sorted(unknown)}"
    assert config_map["data"]["LINKAGE_BACKEND"] in ("opensearch", "elasticsearch")
    # Every value converts to its setting's type (a bad one would stop each pod at start).
    settings = Settings.from_env(config_map["data"])
    assert (settings.proxy_hops, settings.index_replicas, settings.stale_after_days) == (1, 1, 180)


def test_compose_serves_the_app_beside_the_engine():
    for path in COMPOSE_FILES:
        services = documents(path)[0]["services"]
        app = services["app"]
        assert app["build"]["dockerfile"] == "deploy/Dockerfile"
        assert (path.parent / app["build"]["context"] / app["build"]["dockerfile"]).resolve().is_file()
        assert "/readyz" in " ".join(app["healthcheck"]["test"])
        engines = set(services) - {"app", "index"}
        assert engines & set(app["depends_on"]), path.name
        # Imports write each feed's cache under /app/var; the root filesystem is read-only.
        assert app["read_only"] is True and "linkage-var:/app/var" in services["index"]["volumes"]


def test_image_runs_gunicorn_with_the_production_config():
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert f"COPY {GUNICORN_CONF} {GUNICORN_CONF}" in dockerfile
    cmd = json.loads(re.findall(r"^CMD (\[.*\])$", dockerfile, re.M)[-1])
    assert cmd == ["gunicorn", "--config", GUNICORN_CONF]
    # The root .dockerignore keeps deploy/ out of the build context: this file must be let through.
    rules = [line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()]
    if "deploy" in rules:
        assert f"!{GUNICORN_CONF}" in rules[rules.index("deploy") + 1:], \
            f".dockerignore leaves {GUNICORN_CONF} out of the build context: add !{GUNICORN_CONF} after deploy"


def _makefile_variable(name: str) -> str:
    """A `NAME := ...` line of the Makefile with its continuation lines, the value alone."""
    found = re.search(rf"^{name} := ((?:.*\\\n)*.*)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    assert found, f"{name} is not set in the Makefile"
    return found.group(1).replace("\\\n", " ")


def test_image_has_what_a_checkout_installs_for_handouts():
    """The runtime image installs the Debian packages `make install` does (Pango, fontconfig
    and the fonts handouts print with; poppler-utils only reads PDFs in tests), builds the
    compact print fonts, failing without Noto CJK, and renders a PDF at build time, failing
    if it cannot: a server without Pango starts, but refuses every PDF."""
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    runtime = dockerfile[dockerfile.rindex("\nFROM "):]
    installs = re.search(r"apt-get install ((?:.*\\\n)*.*)", runtime)
    assert installs, "the runtime stage installs no Debian packages"
    command = installs.group(1).replace("\\\n", " ").split("&&")[0]
    image = {word for word in command.split() if not word.startswith("-")}
    assert image == set(_makefile_variable("SYSTEM_PACKAGES").split()) - {"poppler-utils"}
    assert "RUN linkage print-fonts --require" in runtime
    assert "warm_pdf_renderer()" in runtime and "assert why() is None" in runtime


def test_image_compiles_the_catalogues_a_checkout_compiles():
    """git holds the .po catalogues, not the compiled .mo the app finds its languages by: the
    build stage compiles the same domains into the tree it makes wheels from, as `make
    install` does in a checkout."""
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    build = dockerfile[:dockerfile.rindex("\nFROM ")]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    compile_line = re.search(r"pybabel compile (.*)$", makefile, re.M).group(1)
    assert f"pybabel compile {compile_line}" in build
    assert build.index("pybabel compile") < build.index("pip wheel")
    assert "*.mo" in (ROOT / ".gitignore").read_text(encoding="utf-8")



def unit_settings(path: Path) -> dict[str, list[str]]:
    """A systemd unit's `Key=value` lines, by key (sections merged; keys repeat)."""
    found: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_systemd_units_run_gunicorn_and_refresh_with_real_settings():
    known = {f"LINKAGE_{f.name.upper()}" for f in fields(Settings)}
    web = unit_settings(DEPLOY / "systemd" / "linkage.service")
    refresh = unit_settings(DEPLOY / "systemd" / "linkage-refresh.service")
    timer = unit_settings(DEPLOY / "systemd" / "linkage-refresh.timer")
    assert web["ExecStart"][0].split()[1:] == ["--config", GUNICORN_CONF]
    assert web["ExecReload"] == ["/bin/kill -s HUP $MAINPID"] and web["Restart"] == ["on-failure"]
    assert web["NoNewPrivileges"] == ["yes"] and web["ProtectSystem"] == ["strict"]
    refresh_command = refresh["ExecStart"][0].split()
    assert Path(refresh_command[0]).name == "linkage"
    assert build_parser().parse_args(refresh_command[1:]).func is refresh_cmd.run
    assert timer["Unit"] == ["linkage-refresh.service"] and timer["OnCalendar"]
    checks = unit_settings(DEPLOY / "systemd" / "linkage-check-links.service")
    checks_timer = unit_settings(DEPLOY / "systemd" / "linkage-check-links.timer")
    checks_command = checks["ExecStart"][0].split()
    assert build_parser().parse_args(checks_command[1:]).func is check_links_cmd.run
    assert checks_timer["Unit"] == ["linkage-check-links.service"] and checks_timer["OnCalendar"]
    # The two units must find the same index; and every variable must be one create_app reads.
    environment = {unit: {assignment.split("=", 1)[0]: assignment.split("=", 1)[1]
                          for line in settings["Environment"] for assignment in line.split()}
                   for unit, settings in (("web", web), ("refresh", refresh), ("checks", checks))}
    for name, value in {**environment["refresh"], **environment["checks"]}.items():
        assert environment["web"][name] == value, name
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    names = {n for env in environment.values() for n in env} | set(re.findall(r"\b(LINKAGE_[A-Z_]+)=", dockerfile))
    unknown = {n for n in names if n.startswith("LINKAGE_")} - known
    assert not unknown, f"not settings (see service/settings.py): {sorted(unknown)}"
    assert Settings.from_env(environment["web"]).proxy_hops == 1  # values of their settings' types

# --- gunicorn ----------------------------------------------------------------------------

# Reads the config as gunicorn does (a Python file), prints what it set, exercises the hooks.
_READ_CONFIG = """
import json, os, runpy, sys
config = runpy.run_path(sys.argv[1])
metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]
for name in ("gauge_livemostrecent_4242.db", "histogram_4242.db"):
    open(os.path.join(metrics_dir, name), "wb").close()
config["on_starting"](None)
after_start = sorted(os.listdir(metrics_dir))
class Worker:
    pid = 4242
config["child_exit"](None, Worker())
keys = ("workers", "bind", "preload_app", "wsgi_app", "timeout", "graceful_timeout",
        "max_requests", "accesslog", "control_socket_disable", "MAX_WORKERS")
print(json.dumps({**{k: config.get(k) for k in keys}, "metrics_dir": metrics_dir,
                  "after_start": after_start, "after_exit": sorted(os.listdir(metrics_dir))}))
"""


def read_config(env: dict) -> dict:
    """deploy/gunicorn.conf.py's settings in a fresh interpreter with this environment."""
    done = subprocess.run([sys.executable, "-c", _READ_CONFIG, GUNICORN_CONF], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_config_reads_its_settings_from_the_environment(tmp_path):
    given = read_config(clean_env(WEB_CONCURRENCY="3", HOST="127.0.0.1", PORT="8123", TMPDIR=str(tmp_path)))
    assert given["workers"] == 3 and given["bind"] == "127.0.0.1:8123"
    assert given["preload_app"] is True and given["wsgi_app"] == "service.wsgi:app"
    assert given["graceful_timeout"] < given["timeout"] and given["max_requests"] == 0
    assert given["accesslog"] == "-" and given["control_socket_disable"] is True
    # A private directory, removed when the master exits; a dead worker's live gauges go,
    # its counts stay in the totals.
    assert Path(given["metrics_dir"]).parent == tmp_path and not Path(given["metrics_dir"]).exists()
    assert given["after_start"] == ["gauge_livemostrecent_4242.db", "histogram_4242.db"]
    assert given["after_exit"] == ["histogram_4242.db"]

    default = read_config(clean_env(TMPDIR=str(tmp_path)))
    assert 2 <= default["workers"] <= default["MAX_WORKERS"] and default["bind"] == "0.0.0.0:8000"


def test_a_given_metrics_directory_is_emptied_at_start_and_kept(tmp_path):
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"")  # left by an earlier run
    seen = read_config(clean_env(PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)))
    assert seen["after_start"] == []
    assert metrics_dir.is_dir()


def test_gunicorn_accepts_the_config(sqlite_backend, tmp_path):
    done = subprocess.run([sys.executable, "-m", "gunicorn", "--config", GUNICORN_CONF, "--check-config"],
                          cwd=ROOT, env=sqlite_env(sqlite_backend, tmp_path, TMPDIR=str(tmp_path)),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not list(tmp_path.glob("linkage-metrics-*"))


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> str:
    """The body of a GET that must answer 200."""
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200, url
        return response.read().decode("utf-8")


@contextmanager
def held_request(port: int, path: str):
    """A GET sent only as far as its request line while the block runs, then finished.

    The sync worker that accepts it (the first in the accept queue) waits for its headers, so
    the server's other workers answer whatever the block sends: requests now take well under
    a millisecond, and without this one worker may answer them all. The list yielded holds
    the held request's status and body once the block has ended.
    """
    answer: list = []
    with socket.create_connection(("127.0.0.1", port), timeout=30) as held:
        held.sendall(f"GET {path} HTTP/1.1\r\n".encode("ascii"))
        yield answer
        held.sendall(b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n")
        with held.makefile("rb") as reply:
            head, _, body = reply.read().partition(b"\r\n\r\n")
    answer.extend([int(head.split()[1]), body])


def request_count(metrics_text: str, endpoint: str) -> float:
    """Requests answered for an endpoint, over every method and status."""
    total = 0.0
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "linkage_request_seconds_count" and sample.labels.get("endpoint") == endpoint:
                total += sample.value
    return total


def gauge(metrics_text: str, name: str) -> float | None:
    """An unlabelled gauge's value."""
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == name:
                return sample.value
    return None


def test_gunicorn_workers_report_metrics_for_the_whole_server(sqlite_backend, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "gunicorn.log"
    env = sqlite_env(sqlite_backend, tmp_path, HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY="2",
                     TMPDIR=str(tmp_path), PYTHONUNBUFFERED="1")
    # The worker's pid in each access log line tells which worker answered.
    command = [sys.executable, "-m", "gunicorn", "--config", GUNICORN_CONF, "--access-logformat", "%(p)s %(r)s %(s)s"]
    with open(log_path, "w", encoding="utf-8") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert server.poll() is None, log_path.read_text(encoding="utf-8")
            try:
                fetch(f"{base}/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not answer within 20 s"
                time.sleep(0.2)
        assert len(list(tmp_path.glob("linkage-metrics-*"))) == 1

        def answered_by(path: str) -> set[str]:
            """Pids of the workers that answered GETs of this path so far."""
            time.sleep(0.2)  # a worker logs just after it has answered
            return set(re.findall(rf"^<(\d+)> GET {re.escape(path)}[? ]", log_path.read_text(encoding="utf-8"), re.M))

        # Both workers answer searches: one holds a half-sent search while the other answers.
        with ThreadPoolExecutor(max_workers=8) as pool:
            with held_request(port, "/v1/search?near=2000") as held_search:
                list(pool.map(fetch, [f"{base}/v1/search?near=2000"] * 19))
        sent = 20
        assert held_search[0] == 200
        assert len(answered_by("/v1/search")) == 2, "one worker answered every search"

        # Whichever worker answers /metrics reports both workers' searches.
        with held_request(port, "/metrics") as held_scrape:
            bodies = [fetch(f"{base}/metrics")]
        assert held_scrape[0] == 200
        bodies.append(held_scrape[1].decode("utf-8"))
        assert len(answered_by("/metrics")) == 2, "one worker answered every scrape"
        for body in bodies:
            assert request_count(body, "/v1/search") == sent
            assert gauge(body, "linkage_listings") == sqlite_backend.count()
        # Size limits before the app: gunicorn refuses an over-long request line itself.
        with pytest.raises(urllib.error.HTTPError) as refused:
            fetch(f"{base}/v1/search?q={'x' * 5000}")
        assert refused.value.code == 414  # URI Too Long
    finally:
        if server.poll() is None:
            server.terminate()
        try:
            returncode = server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
            raise
    assert returncode == 0, log_path.read_text(encoding="utf-8")
    assert not list(tmp_path.glob("linkage-metrics-*")), "the metrics directory outlived gunicorn"
