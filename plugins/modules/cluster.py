#!/usr/bin/python
# Copyright: fateops.kubefate contributors
# SPDX-License-Identifier: Apache-2.0 OR GPL-3.0-or-later
# Apache License 2.0 (see LICENSE), or at your option the GNU General Public License v3.0+ (see COPYING)

DOCUMENTATION = r"""
module: cluster
short_description: Install, update or delete a FATE, FATE-Exchange or FATE-Serving cluster through KubeFATE
version_added: 1.0.0
description:
  - Makes a KubeFATE cluster match a cluster.yaml. With O(state=present) the cluster is installed when
    KubeFATE has none of this name in this namespace, updated (C(PUT /v1/cluster)) when the stored
    specification differs from the desired one, and left alone when they are equal.
  - With O(state=absent) the cluster is deleted by UUID; a cluster that is already gone is not an error.
  - When a KubeFATE job for the same cluster is still in flight (for example after an interrupted run),
    the module waits for that job instead of starting another one. A job KubeFATE abandoned (still active, but
    its record has not changed for C(min(60, wait_timeout/2)) seconds, as after a KubeFATE restart) is not
    waited for; the module takes the cluster over, re-applying the cluster.yaml to a cluster left
    C(Creating) or C(Updating), or deleting it with O(state=absent).
  - A change of chart version is an upgrade (KubeFATE runs its C(fate-upgrade-manager) job first for chart
    C(fate)). A move to another chart, to an older version, or a version upgrade of chart C(fate) from 1.7.1
    or older is refused before any change, in check mode too, with the reason; KubeFATE cannot do them.
  - Never sends C(cover=true) unless O(cover) asks for it; KubeFATE's cover uninstalls an existing release
    of the same name first.
  - With O(wait) the module polls the job until it ends and fails on C(Failed), C(Rollback), C(Canceled) or
    its own deadline, naming the sub-jobs that did not become C(Available), the job's last state and the
    phases of pods that are not running.
author:
  - fateops maintainers (@fateops)
options:
  state:
    description:
      - V(present) installs or updates the cluster, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - Cluster (and Helm release) name. Defaults to C(name) in O(definition).
      - Must equal C(name) inside the cluster.yaml; the module sets it there when it is missing.
    type: str
  namespace:
    description:
      - Kubernetes namespace of the cluster. Defaults to C(namespace) in O(definition).
      - The namespace must exist; KubeFATE does not create it.
    type: str
  uuid:
    description:
      - Cluster UUID, as an alternative to O(name) and O(namespace) with O(state=absent).
    type: str
  chart_name:
    description:
      - Chart to install, C(fate), C(fate-exchange) or C(fate-serving). Defaults to C(chartName) in O(definition).
    type: str
  chart_version:
    description:
      - Chart version with its leading C(v), for example C(v2.0.0). Defaults to C(chartVersion) in O(definition).
    type: str
  definition:
    description:
      - The cluster.yaml, as a dictionary or as YAML text (for example from C(lookup('template', ...))).
      - Mutually exclusive with O(src).
    type: raw
    aliases: [cluster_yaml]
  src:
    description:
      - Path of a cluster.yaml file on the host the module runs on (the controller with a local connection).
    type: path
  cover:
    description:
      - On install, ask KubeFATE to uninstall an existing Helm release of the same name first.
      - Destroys whatever that release runs. Only for recovering a release KubeFATE has lost track of.
    type: bool
    default: false
  keep_upgrade_job:
    description:
      - On a version upgrade, keep KubeFATE's C(fate-upgrade-manager) release and its job for inspection.
    type: bool
    default: false
extends_documentation_fragment:
  - fateops.kubefate.connection
  - fateops.kubefate.connection.WAIT
  - ansible.builtin.action_common_attributes
  - fateops.kubefate.connection.ACTION_GROUP
attributes:
  check_mode:
    support: full
    details: Makes no write call; reports whether the cluster would be installed, updated or deleted.
  diff_mode:
    support: full
    details: Shows the cluster.yaml before and after, with passwords and other secrets masked.
  platform:
    platforms: all
notes:
  - KubeFATE compares nothing itself for the C(fate-exchange) and C(fate-serving) charts, so this module
    decides by comparing the desired cluster.yaml with the C(Spec) KubeFATE stored.
  - Updates identify the cluster by name and namespace, deletes by UUID, as the KubeFATE API does.
"""

EXAMPLES = r"""
- name: Install or update the FATE cluster of party 9999 and wait until it runs
  fateops.kubefate.cluster:
    url: https://kubefate.example.com
    password: "{{ vault_kubefate_password }}"
    definition: "{{ lookup('ansible.builtin.template', 'cluster-9999.yaml.j2') | from_yaml }}"
    wait: true
    wait_timeout: 3600

- name: Same, with the connection set once for the whole play
  module_defaults:
    group/fateops.kubefate.kubefate:
      url: "{{ kubefate_url }}"
      password: "{{ vault_kubefate_password }}"
  block:
    - name: Deploy the exchange from a file on the controller
      fateops.kubefate.cluster:
        src: files/exchange.yaml
        wait: true

- name: Delete the cluster (nothing happens when it is already gone)
  fateops.kubefate.cluster:
    url: https://kubefate.example.com
    password: "{{ vault_kubefate_password }}"
    name: fate-9999
    namespace: fate-9999
    state: absent
    wait: true
"""

RETURN = r"""
msg:
  description: One line saying what happened.
  returned: always
  type: str
  sample: cluster fate-9999 installed, job 3f2a0c1d Success in 212s
cluster:
  description: The KubeFATE cluster record after the task (secrets in C(Spec) masked, C(values) left out).
  returned: when the cluster exists
  type: dict
  sample: {"uuid": "24bb75ff-f636-4c64-8c04-1b9073f89a2f", "name": "fate-9999", "namespaces": "fate-9999",
           "chart_name": "fate", "chart_version": "v2.0.0", "status": "Running", "revision": 1}
uuid:
  description: The cluster UUID (empty when an install job has not created the cluster record yet).
  returned: always
  type: str
job:
  description: The KubeFATE job this task started or waited for, without its base64 cluster.yaml.
  returned: when a job was started or found in flight
  type: dict
sub_jobs:
  description: One row per Deployment and StatefulSet of the job, with the seconds it took to become Available.
  returned: when a job was started or found in flight
  type: list
  elements: dict
  sample: [{"module": "mysql", "status": "Success", "module_status": "Available", "seconds": 41.0}]
duration:
  description: Seconds the task spent waiting for the job.
  returned: when O(wait) waited for a job
  type: float
job_seconds:
  description: Seconds from the start to the end of the job, as KubeFATE recorded them (KubeFATE keeps no end
    time for failed installs).
  returned: when the job has ended with an end time
  type: float
operation:
  description: What the task did or, in check mode, would do (C(install), C(update), C(upgrade), C(delete),
    C(in_flight), C(none)), or C(refused).
  returned: always
  type: str
  sample: install
changed_paths:
  description: Dotted cluster.yaml paths that differ between the stored and the desired specification.
  returned: when the cluster exists with O(state=present)
  type: list
  elements: str
abandoned_jobs:
  description:
    - UUIDs of jobs for this cluster that KubeFATE abandoned (still active, but their record stopped changing,
      for example after a KubeFATE restart). The task did not wait for them again; it took the cluster over.
  returned: when such a job was found
  type: list
  elements: str
api_calls:
  description: Number of KubeFATE API requests the task made.
  returned: always
  type: int
"""

from ansible.module_utils.common.yaml import HAS_YAML, yaml_dump, yaml_load
from ansible_collections.fateops.kubefate.plugins.module_utils.common import (
    AbandonedJob,
    JobError,
    KubefateModule,
    active_jobs_for,
    argument_spec,
    compact_job,
    job_seconds,
    sub_job_table,
    timed_wait,
)
from ansible_collections.fateops.kubefate.plugins.module_utils.kubefate import (
    KubefateError,
    encode_cluster_yaml,
    is_not_found,
)
from ansible_collections.fateops.kubefate.plugins.module_utils.spec import (
    changed_paths,
    mask_secrets,
    secret_values,
    specs_equal,
    with_identity,
)
from ansible_collections.fateops.kubefate.plugins.module_utils.upgrade import transition

NO_CHANGE_TEXT = "the configuration file did not change"
#: Cluster states only a running job moves on from; without one the cluster is not up to date.
UNFINISHED_STATUSES = ("Creating", "Updating", "Pending")
IDENTITY = (
    ("name", "name"),
    ("namespace", "namespace"),
    ("chart_name", "chartName"),
    ("chart_version", "chartVersion"),
)


def load_definition(module):
    p = module.params
    if p["src"]:
        try:
            with open(p["src"], encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            module.fail_json(msg=f"cannot read cluster.yaml {p['src']}: {exc}")
        return parse_yaml(module, text, p["src"])
    definition = p["definition"]
    if definition is None:
        return {}
    if isinstance(definition, str):
        return parse_yaml(module, definition, "definition")
    if not isinstance(definition, dict):
        module.fail_json(msg=f"definition must be a dictionary or YAML text, got {type(definition).__name__}")
    return definition


def parse_yaml(module, text, origin):
    if not HAS_YAML:
        module.fail_json(msg="PyYAML is needed to read a cluster.yaml given as text")
    try:
        data = yaml_load(text)
    except Exception as exc:  # any parser error is reported the same way
        module.fail_json(msg=f"{origin} is not valid YAML: {exc}")
    if not isinstance(data, dict):
        module.fail_json(msg=f"{origin} must hold a YAML mapping (a cluster.yaml)")
    return data


def identity(module, spec):
    """name, namespace, chart_name, chart_version from the parameters, else from the cluster.yaml; they must agree."""
    p = module.params
    out = {}
    for param, key in IDENTITY:
        given, inside = p[param], spec.get(key)
        if given is not None and inside is not None and str(given) != str(inside):
            module.fail_json(msg=f"{param}={given!r} but the cluster.yaml says {key}: {inside!r}; they must be equal")
        out[param] = given if given is not None else (str(inside) if inside is not None else None)
    return out


def as_yaml(spec):
    if not spec:
        return ""
    return yaml_dump(mask_secrets(spec), default_flow_style=False, sort_keys=True) if HAS_YAML else str(spec)


def public_cluster(cluster):
    if not cluster:
        return None
    out = {k: v for k, v in cluster.items() if k not in ("values", "Spec")}
    if cluster.get("Spec") is not None:
        out["Spec"] = mask_secrets(cluster["Spec"])
    return out


def short(uuid):
    return (uuid or "")[:8]


class ClusterRunner:
    def __init__(self, module):
        self.module = module
        self.client = module.client
        self.result = {"changed": False, "uuid": "", "operation": "none"}
        self.abandoned = []

    # ----------------------------------------------------------- helpers
    def finish(self, msg, **extra):
        self.result.update(extra)
        if self.abandoned:
            msg += f"; took the cluster over from the abandoned job {', '.join(short(u) for u in self.abandoned)}"
        self.result["msg"] = msg
        self.result["api_calls"] = self.module.api_calls()
        self.module.exit_json(**self.result)

    def fail(self, msg, job=None):
        if job:
            self.record_job(job)
        self.result["msg"] = msg
        self.result["api_calls"] = self.module.api_calls()
        self.module.fail_json(**self.result)

    def record_job(self, job):
        self.result["job"] = compact_job(job)
        self.result["sub_jobs"] = sub_job_table(job)
        seconds = job_seconds(job)
        if seconds is not None:
            self.result["job_seconds"] = seconds
        if job.get("cluster_id"):
            self.result["uuid"] = job["cluster_id"]

    def wait(self, job, abandon=False):
        p = self.module.params
        try:
            job, self.result["duration"] = timed_wait(
                self.client, job, p["wait_timeout"], p["wait_sleep"], abandon=abandon
            )
        except AbandonedJob:
            raise
        except JobError as exc:
            self.result["duration"] = exc.seconds
            self.fail(str(exc), exc.job)
        self.record_job(job)
        return job

    def outcome(self, job):
        """``job 3f2a0c1d Success in 212s`` or ``job 3f2a0c1d Pending`` when not waited for."""
        seconds = job_seconds(job)
        if seconds is None and "duration" in self.result and job.get("status") == "Success":
            seconds = self.result["duration"]
        timing = f" in {round(seconds)}s" if seconds is not None else ""
        return f"job {short(job.get('uuid'))} {job.get('status')}{timing}"

    def settle_inflight(self, name, namespace, uuid):
        """Wait for (or report) a job that is already running for this cluster.

        Returns True when one was found and has finished. A job KubeFATE abandoned (its record no longer
        changes: the server restarted while it ran) is not waited for again: it is noted in ``self.abandoned``
        and the caller takes the cluster over.
        """
        jobs = self.client.list_jobs()
        inflight = [j for j in active_jobs_for(jobs, name, namespace, uuid) if j.get("uuid") not in self.abandoned]
        if not inflight:
            return False
        job = inflight[-1]
        self.record_job(job)
        if self.module.check_mode or not self.module.params["wait"]:
            self.finish(
                f"cluster {name}: {job.get('method')} job {short(job['uuid'])} already {job.get('status')}; "
                "not starting another",
                operation="in_flight",
            )
        try:
            self.wait(job, abandon=True)
        except AbandonedJob:
            self.abandoned.append(job["uuid"])
            self.result["abandoned_jobs"] = list(self.abandoned)
            return self.settle_inflight(name, namespace, uuid)
        return True

    # ----------------------------------------------------------- present
    def present(self):
        module = self.module
        spec = load_definition(module)
        ident = identity(module, spec)
        missing = [k for k, v in ident.items() if not v]
        if missing:
            module.fail_json(msg="missing " + ", ".join(missing) + ": give them as options or inside the cluster.yaml")
        name, namespace = ident["name"], ident["namespace"]
        desired = with_identity(spec, name, namespace, ident["chart_name"], ident["chart_version"])
        module.no_log_values.update(secret_values(desired))

        clusters = self.client.list_clusters()
        existing = self.client.find_cluster(name, namespace, clusters)
        waited = self.settle_inflight(name, namespace, existing and existing.get("uuid"))
        if waited:
            existing = self.client.find_cluster(name, namespace)

        args = {
            "name": name,
            "namespace": namespace,
            "chart_name": ident["chart_name"],
            "chart_version": ident["chart_version"],
            "data": encode_cluster_yaml(desired),
        }
        if existing is None:
            return self.install(args, desired, waited)
        return self.update(args, desired, existing, waited)

    def install(self, args, desired, waited):
        module, name = self.module, args["name"]
        self.result["operation"] = "install"
        if module._diff:
            self.result["diff"] = {"before": "", "after": as_yaml(desired), "after_header": f"{name} (cluster.yaml)"}
        if module.check_mode:
            self.finish(
                f"cluster {name} would be installed in {args['namespace']} (chart {args['chart_name']} "
                f"{args['chart_version']})",
                changed=True,
            )
        args["cover"] = bool(module.params["cover"])
        try:
            job = self.client.install_cluster(args)
        except KubefateError as exc:
            self.fail(f"cluster {name}: install refused: {exc.server_text or exc}")
        self.result["changed"] = True
        self.record_job(job)
        if module.params["wait"]:
            job = self.wait(job)
            self.result["cluster"] = public_cluster(self.client.get_cluster(job["cluster_id"]))
        self.finish(f"cluster {name} installed, {self.outcome(job)}")

    def reinstall(self, args, desired, existing):
        """An install KubeFATE abandoned: the cluster never ran under KubeFATE; delete its record and install anew."""
        module, name = self.module, args["name"]
        if module.check_mode:
            self.result["operation"] = "install"
            self.finish(f"cluster {name} would be installed again (its install job was abandoned)", changed=True)
        p = self.module.params
        try:
            job = self.client.delete_cluster(existing["uuid"], name)
            timed_wait(self.client, job, p["wait_timeout"], p["wait_sleep"])
        except JobError as exc:
            # Its release may never have been installed: helm uninstall then fails, the record is gone all the same.
            if (self.client.find_cluster(name, args["namespace"]) or {}).get("status") not in (None, "Deleted"):
                self.fail(f"cluster {name}: could not remove the abandoned install: {exc}", exc.job)
        except KubefateError as exc:
            if not is_not_found(exc):
                self.fail(f"cluster {name}: could not remove the abandoned install: {exc.server_text or exc}")
        self.result["changed"] = True
        return self.install(args, desired, True)

    def update(self, args, desired, existing, waited):
        module, name = self.module, args["name"]
        if self.abandoned and existing.get("status") == "Creating":
            return self.reinstall(args, desired, existing)
        self.result["uuid"] = existing.get("uuid", "")
        self.result["cluster"] = public_cluster(existing)
        stored = existing.get("Spec") or {}
        # After a rollback KubeFATE keeps the new chart version on the cluster row but restores the old Spec.
        current_chart = stored.get("chartName") or existing.get("chart_name")
        current_version = stored.get("chartVersion") or existing.get("chart_version")
        operation, refusal = transition(current_chart, current_version, args["chart_name"], args["chart_version"])
        same_chart = operation == "update"
        paths = changed_paths(desired, stored)
        self.result["changed_paths"] = paths
        unfinished = existing.get("status") in UNFINISHED_STATUSES
        if same_chart and specs_equal(desired, stored) and not unfinished:
            note = " (after waiting for the job in flight)" if waited else ""
            return self.finish(f"cluster {name} is up to date ({existing.get('status')}){note}")
        if refusal:
            self.result["operation"] = "refused"
            self.fail(f"cluster {name}: refused before any change: {refusal}")
        self.result["operation"] = operation
        if module._diff:
            self.result["diff"] = {
                "before": as_yaml(stored),
                "after": as_yaml(desired),
                "before_header": f"{name} (stored in KubeFATE)",
                "after_header": f"{name} (desired)",
            }
        what = ", ".join(paths[:6]) + (f" and {len(paths) - 6} more" if len(paths) > 6 else "")
        if unfinished and not paths and same_chart:
            what = f"re-applied: KubeFATE left it {existing.get('status')} with no job working on it"
        if not same_chart:
            what = f"chart {current_chart} {current_version} -> {args['chart_version']}" + (f"; {what}" if what else "")
        if module.check_mode:
            self.finish(f"cluster {name} would be {self.result['operation']}d: {what}", changed=True)
        args["Keep_upgrade_job"] = bool(module.params["keep_upgrade_job"])
        try:
            job = self.client.update_cluster(args)
        except KubefateError as exc:
            if NO_CHANGE_TEXT in exc.server_text and unfinished:
                self.fail(
                    f"cluster {name} is {existing.get('status')} but no KubeFATE job works on it, and KubeFATE "
                    f"refuses to re-apply the same cluster.yaml ({NO_CHANGE_TEXT}); delete it (state=absent) and "
                    "re-run to install it anew"
                )
            if NO_CHANGE_TEXT in exc.server_text:
                self.result["operation"] = "none"
                return self.finish(f"cluster {name} is up to date (KubeFATE: {NO_CHANGE_TEXT})")
            self.fail(f"cluster {name}: update refused: {exc.server_text or exc}")
        self.result["changed"] = True
        self.record_job(job)
        if module.params["wait"]:
            job = self.wait(job)
            self.result["cluster"] = public_cluster(self.client.get_cluster(existing["uuid"]))
        self.finish(f"cluster {name} {self.result['operation']}d ({what}), {self.outcome(job)}")

    # ----------------------------------------------------------- absent
    def absent(self):
        module, p = self.module, self.module.params
        cluster = None
        if p["uuid"]:
            try:
                cluster = self.client.get_cluster(p["uuid"])
            except KubefateError as exc:
                if not is_not_found(exc):
                    self.fail(str(exc))
        else:
            spec = load_definition(module) if (p["definition"] is not None or p["src"]) else {}
            ident = identity(module, spec)
            if not ident["name"] or not ident["namespace"]:
                module.fail_json(
                    msg="state=absent needs uuid, or name and namespace (as options or in the cluster.yaml)"
                )
            cluster = self.client.find_cluster(ident["name"], ident["namespace"])
            if self.settle_inflight(ident["name"], ident["namespace"], cluster and cluster.get("uuid")):
                cluster = self.client.find_cluster(ident["name"], ident["namespace"])
        label = (cluster or {}).get("name") or p["name"] or p["uuid"]
        if not cluster or cluster.get("status") == "Deleted":
            return self.finish(f"cluster {label} is absent")
        self.result["uuid"] = cluster["uuid"]
        self.result["operation"] = "delete"
        if module._diff:
            self.result["diff"] = {"before": as_yaml(cluster.get("Spec")), "after": ""}
        if module.check_mode:
            self.finish(f"cluster {label} would be deleted", changed=True)
        try:
            job = self.client.delete_cluster(cluster["uuid"], label)
        except KubefateError as exc:
            if is_not_found(exc):
                self.result["operation"] = "none"
                return self.finish(f"cluster {label} is absent (already deleted)")
            self.fail(f"cluster {label}: delete refused: {exc.server_text or exc}")
        self.result["changed"] = True
        self.record_job(job)
        if p["wait"]:
            job = self.wait(job)
        self.finish(f"cluster {label} deleted, {self.outcome(job)}")


def main():
    module = KubefateModule(
        argument_spec=argument_spec(
            dict(
                state=dict(type="str", default="present", choices=["present", "absent"]),
                name=dict(type="str"),
                namespace=dict(type="str"),
                uuid=dict(type="str"),
                chart_name=dict(type="str"),
                chart_version=dict(type="str"),
                definition=dict(type="raw", aliases=["cluster_yaml"]),
                src=dict(type="path"),
                cover=dict(type="bool", default=False),
                keep_upgrade_job=dict(type="bool", default=False),
            ),
            wait=True,
        ),
        mutually_exclusive=[("definition", "src"), ("uuid", "name")],
    )
    runner = ClusterRunner(module)
    try:
        if module.params["state"] == "present":
            runner.present()
        else:
            runner.absent()
    except KubefateError as exc:
        runner.fail(str(exc))


if __name__ == "__main__":
    main()
