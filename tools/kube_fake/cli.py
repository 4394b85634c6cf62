"""Command line of ``scripts/kube-fake``."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from .server import FakeServer
from .store import Cluster, Options


def _csv(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def build_parser() -> argparse.ArgumentParser:
    d = Options()
    p = argparse.ArgumentParser(
        prog="kube-fake",
        description="A stateful fake Kubernetes API server (HTTP, bearer token) for kubernetes.core and client tests.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=6443, help="port to bind (default 6443; 0 = any free port)")
    p.add_argument("--token", default=d.token, help=f"bearer token clients must send (default {d.token})")
    p.add_argument("--admin-token", help="a second token that is never restricted by --namespace-only")
    p.add_argument(
        "--anonymous",
        action="store_true",
        help="accept requests without an Authorization header like --token (kubectl sends no token over http)",
    )
    p.add_argument("--kubeconfig-out", metavar="FILE", help="write a kubeconfig (cluster/user/context 'fake') here")
    p.add_argument(
        "--node-ip",
        default="127.0.0.1",
        help="InternalIP of node-1 (default 127.0.0.1); a comma-separated list makes node-1, node-2, ...",
    )
    p.add_argument("--lb-ip", help="LoadBalancer services (and Ingresses) get this ingress IP; comma list = pool")
    p.add_argument(
        "--unready",
        action="append",
        default=[],
        metavar="KIND/NS/NAME",
        help="keep matching objects unready (glob patterns; KIND/NAME for cluster-scoped); repeatable",
    )
    p.add_argument(
        "--namespace-only",
        type=_csv,
        default=[],
        metavar="NS[,NS...]",
        help="the --token may only touch these namespaces (403 elsewhere and for cluster-scoped resources)",
    )
    p.add_argument("--state-file", help="load objects from FILE at start (when present) and save them after each write")
    p.add_argument(
        "--kube-version", default=d.kube_version, help=f"reported version and schema version ({d.kube_version})"
    )
    p.add_argument("--no-validate", action="store_true", help="skip kubernetes-validate schema validation")
    p.add_argument(
        "--ready-after",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="workloads, jobs, PVCs, pods and load balancers become ready this long after a create or spec change",
    )
    p.add_argument("--pods", action="store_true", help="run workload controllers: ReplicaSets and Pods for workloads")
    p.add_argument("--watch-timeout", type=float, default=d.watch_timeout, help="longest watch in s (default 300)")
    p.add_argument("--quiet", action="store_true", help="no access log on stderr")
    return p


def kubeconfig_text(url: str, token: str, namespace: str = "default") -> str:
    return (
        "apiVersion: v1\n"
        "kind: Config\n"
        "clusters:\n"
        "- name: fake\n"
        "  cluster:\n"
        f"    server: {url}\n"
        "users:\n"
        "- name: fake\n"
        "  user:\n"
        f'    token: "{token}"\n'
        "contexts:\n"
        "- name: fake\n"
        "  context:\n"
        "    cluster: fake\n"
        "    user: fake\n"
        f"    namespace: {namespace}\n"
        "current-context: fake\n"
        "preferences: {}\n"
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    options = Options(
        token=args.token,
        admin_token=args.admin_token,
        namespace_only=args.namespace_only,
        node_ips=_csv(args.node_ip) or ["127.0.0.1"],
        lb_ips=_csv(args.lb_ip or ""),
        unready=args.unready,
        kube_version=args.kube_version,
        validate=not args.no_validate,
        pods=args.pods,
        state_file=args.state_file,
        watch_timeout=args.watch_timeout,
        anonymous=args.anonymous,
        ready_after=args.ready_after,
    )
    cluster = Cluster(options)
    if options.validate and not cluster.validator.enabled:
        sys.stderr.write("kube-fake: kubernetes-validate not importable, schema validation is off\n")
    server = FakeServer((args.host, args.port), cluster, quiet=args.quiet)
    if args.kubeconfig_out:
        namespace = options.namespace_only[0] if options.namespace_only else "default"
        tmp = f"{args.kubeconfig_out}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(kubeconfig_text(server.url, options.token, namespace))
        os.replace(tmp, args.kubeconfig_out)

    def _stop(signum: int, _frame: object) -> None:
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"kube-fake listening on {server.url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0
