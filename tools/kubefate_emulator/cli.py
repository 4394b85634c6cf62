"""Command line of ``scripts/kubefate-emulator``."""

from __future__ import annotations

import argparse
import sys

from .options import OptionError, Options


def _codes(text: str) -> list[int]:
    try:
        codes = [int(v) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a list of status codes: {text}") from exc
    if not codes:
        raise argparse.ArgumentTypeError("at least one status code is needed")
    return codes


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def build_parser() -> argparse.ArgumentParser:
    d = Options()
    p = argparse.ArgumentParser(
        prog="kubefate-emulator",
        description="An emulated KubeFATE v1.4.5 server (REST API, jobs, helm releases) for tests.",
    )
    g = p.add_argument_group("server")
    g.add_argument("--host", default=d.host, help=f"address to bind (default {d.host})")
    g.add_argument("--port", type=int, default=d.port, help=f"port to bind (default {d.port}; 0 = any free port)")
    g.add_argument("--username", default=d.username, help="bootstrap user (default admin)")
    g.add_argument("--password", default=d.password, help="bootstrap password (default admin)")
    g.add_argument("--token-ttl", type=_seconds, default=d.token_ttl, help="JWT lifetime in s (default 1800)")
    g.add_argument("--charts-dir", help="chart repository directory of *.tgz (default: ../shared/kubefate/charts)")
    g.add_argument(
        "--repo-has-all",
        action="store_true",
        help="the repository also serves fate v2.0.0 (the real default repository does not)",
    )
    g.add_argument("--strict-namespaces", action="store_true", help="only namespaces created via the control API exist")
    g.add_argument("--node-ip", default=d.node_ip, help=f"what Info.ip reports (default {d.node_ip})")
    g.add_argument(
        "--kube-version", default=d.kube_version, help=f"Kubernetes version for validation ({d.kube_version})"
    )
    g.add_argument("--quiet", action="store_true", help="no access log on stderr")
    g.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate (chain) instead of HTTP")
    g.add_argument("--tls-key", metavar="PEM", help="private key of --tls-cert (default: inside the --tls-cert file)")
    t = p.add_argument_group("timing")
    t.add_argument("--job-seconds", type=_seconds, default=d.job_seconds, help="time for workloads to converge (3)")
    t.add_argument(
        "--module-spread",
        type=_fraction,
        default=d.module_spread,
        help="0..1: workloads become Available spread over [T*(1-F), T] (default 0.5)",
    )
    t.add_argument("--time-limit", type=_seconds, default=d.time_limit, help="job time limit in s (real: 3600)")
    f = p.add_argument_group("faults")
    f.add_argument("--fail-module", action="append", default=[], metavar="NAME", help="workload never Available")
    f.add_argument("--stuck", action="store_true", help="jobs go Running and never progress")
    f.add_argument("--http-error-rate", type=_fraction, default=0.0, help="share of /v1 requests answered 5xx")
    f.add_argument("--http-error-codes", type=_codes, default=d.http_error_codes, help="e.g. 502,503,504")
    f.add_argument(
        "--http-error-after", action="store_true", help="inject errors after the request was processed (lost answer)"
    )
    f.add_argument("--seed", type=int, help="seed of the fault random generator")
    f.add_argument("--latency", type=_seconds, default=0.0, help="delay every non-control answer by this many s")
    f.add_argument("--restart-after", type=_seconds, help="emulate a kubefate pod restart after this many s")
    f.add_argument("--restart-downtime", type=_seconds, default=0.0, help="answer 503 for this long after a restart")
    f.add_argument("--ephemeral-db", action="store_true", help="a restart also forgets every DB record")
    f.add_argument("--start-delay", type=_seconds, default=0.0, help="bind the port only after this many s")
    return p


def options_from_args(argv: list[str] | None = None) -> Options:
    ns = build_parser().parse_args(argv)
    return Options(
        host=ns.host,
        port=ns.port,
        username=ns.username,
        password=ns.password,
        token_ttl=ns.token_ttl,
        charts_dir=ns.charts_dir,
        repo_has_all=ns.repo_has_all,
        job_seconds=ns.job_seconds,
        module_spread=ns.module_spread,
        time_limit=ns.time_limit,
        fail_modules=list(ns.fail_module),
        stuck=ns.stuck,
        http_error_rate=ns.http_error_rate,
        http_error_codes=ns.http_error_codes,
        http_error_after=ns.http_error_after,
        seed=ns.seed,
        latency=ns.latency,
        restart_after=ns.restart_after,
        restart_downtime=ns.restart_downtime,
        ephemeral_db=ns.ephemeral_db,
        start_delay=ns.start_delay,
        strict_namespaces=ns.strict_namespaces,
        tls_cert=ns.tls_cert,
        tls_key=ns.tls_key,
        node_ip=ns.node_ip,
        kube_version=ns.kube_version,
        quiet=ns.quiet,
    )


def main(argv: list[str] | None = None) -> int:
    from .server import serve  # noqa: PLC0415 - keep --help fast

    try:
        options = options_from_args(argv)
        if options.tls_key and not options.tls_cert:
            raise OptionError("--tls-key needs --tls-cert")
    except OptionError as exc:
        print(f"kubefate-emulator: {exc}", file=sys.stderr)
        return 2
    serve(options)
    return 0
