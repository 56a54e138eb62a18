#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: vps-provision authors
# MIT License (see the repository's LICENSE)
"""Ansible module vps_provision: a thin wrapper around the installed vps-provision CLI.

Everything the module reports comes from the CLI's own JSON: check mode is `plan --json`, a run is
`run --json`, a rollback is `rollback <session> --yes --json`. The pure functions below turn that
JSON into Ansible's result (changed, diff, msg, rc) and are unit-tested without a machine
(ansible/tests/unit/test_vps_provision.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vps_provision
short_description: Provision a Debian 13 VPS as a remote workstation with the vps-provision CLI
description:
  - Runs the vps-provision command that is installed on the target (the role
    C(vps_provision.fleet.provision) installs it) and reports its result.
  - C(state=provisioned) runs C(vps-provision run --yes --json --foreground). The task is
    C(changed) exactly when the run journaled at least one action; a re-run that finds everything
    done journals none and reports C(changed=false).
  - In check mode nothing runs but C(vps-provision plan --json), which changes nothing and takes no
    lock; the task is C(changed) when the plan has a step that would apply.
  - With C(--diff) the plan's unified file diffs are returned (in check mode and, taken just before
    the run, in a real run).
  - C(state=rolled_back) runs C(vps-provision rollback SESSION --yes --json); C(changed) when it
    undid at least one action. In check mode the journals are read (C(sessions --json),
    C(log --json)) to say whether anything would be undone.
  - A failure returns the CLI's own error text as C(msg) and its exit code as C(rc)
    (docs/exit-codes.md); exit codes other than 0 always fail the task.
  - A run can outlive the SSH connection only as an Ansible async task (C(async), C(poll)); the role
    does that.
version_added: "0.1.0"
author:
  - vps-provision authors
options:
  state:
    description: What the machine should be.
    type: str
    choices: [provisioned, rolled_back]
    default: provisioned
  config:
    description:
      - Configuration file passed as C(--config). Unset, the CLI reads
        C(/etc/vps-provision/config.yaml) if it exists.
    type: path
  session:
    description: For C(state=rolled_back), a session id or C(latest) (the newest session that still has something to undo).
    type: str
    default: latest
  force:
    description:
      - C(state=provisioned), C(run --force) (check every step again, ignoring checkpoints).
      - C(state=rolled_back), C(rollback --force) (undo files changed since, keeping a copy).
    type: bool
    default: false
  foreground:
    description:
      - Pass C(--foreground), so the run is this module's own process (the default).
      - Ansible's async already keeps the run alive after the SSH connection closes, and its job
        status is then the run's; a second, systemd-level detachment would let an async timeout
        report a failure while the run went on holding the lock.
      - false lets the CLI start the run as a systemd unit (where systemd is PID 1) and follow it.
    type: bool
    default: true
  environment:
    description:
      - Extra C(VPS_PROVISION_*) variables for the command. Their values are never logged
        (C(no_log)), so a secret may be passed here.
    type: dict
    default: {}
  executable:
    description: The vps-provision command.
    type: path
    default: vps-provision
notes:
  - Needs root on the target (C(become=true) or C(ansible_user=root)).
  - Passwords never appear in the CLI's JSON; the module drops the summary's C(credentials) anyway.
"""

EXAMPLES = r"""
- name: Provision (check mode is a plan; --diff shows the file diffs)
  vps_provision.fleet.vps_provision:
    state: provisioned
  async: 3600
  poll: 15

- name: Undo the newest session that changed something
  vps_provision.fleet.vps_provision:
    state: rolled_back
    session: latest
"""

RETURN = r"""
rc:
  description: The CLI's exit code (docs/exit-codes.md).
  returned: always
  type: int
session:
  description: The session id of the run or rollback.
  returned: when the CLI printed a summary
  type: str
actions:
  description: How many actions the run journaled (or the rollback undid).
  returned: when the CLI printed a summary
  type: int
summary:
  description: The CLI's summary object (status, exitCode, phases with actions, lines), credentials removed.
  returned: when the CLI printed a summary
  type: dict
plan:
  description: The steps that would apply (phase, step, why), in check mode or with --diff.
  returned: when a plan was made
  type: list
  elements: dict
"""

import json

from ansible.module_utils.basic import AnsibleModule


def parse_ndjson(text):
    """The JSON objects of an NDJSON stream; a torn or foreign line is skipped, never fatal."""
    out = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def final_object(objects):
    """The run's last word: its summary (exitCode + phases) or an error object ({error, hint})."""
    for obj in reversed(objects):
        if "error" in obj and "exitCode" in obj:
            return obj
        if "exitCode" in obj and "phases" in obj and "type" not in obj:
            return obj
    return None


def summary_actions(summary):
    """How many actions the session journaled: the sum over its phases."""
    return sum(int(p.get("actions") or 0) for p in summary.get("phases") or [])


def redact_summary(summary):
    """The summary without credentials (the CLI already sends null; this keeps it so)."""
    clean = dict(summary)
    clean.pop("credentials", None)
    return clean


def failure_text(final, stdout, stderr, rc):
    """The CLI's own error text: the summary's `Failed: ...` lines, an error object, or stderr."""
    if final is not None and "error" in final:
        hint = final.get("hint")
        return final["error"] + ("\nhint: " + hint if hint else "")
    if final is not None:
        lines = final.get("lines") or []
        for i, line in enumerate(lines):
            if line.startswith("Failed:"):
                return "\n".join(lines[i:])
    text = (stderr or "").strip() or (stdout or "").strip()[-2000:]
    return text or "vps-provision exited %d without a message" % rc


def plan_pending(report):
    """The steps of a PlanReport that would apply: not done, in a phase that is not skipped."""
    pending = []
    for phase in report.get("phases") or []:
        if phase.get("skipped"):
            continue
        for step in phase.get("steps") or []:
            if not step.get("done"):
                pending.append(step)
    return pending


def plan_diff(pending):
    """Ansible's diff list from the plan's unified diffs, one entry per file-writing step."""
    out = []
    for step in pending:
        if step.get("diff"):
            text = step["diff"]
            out.append({"prepared": text if text.endswith("\n") else text + "\n"})
    return out


def plan_brief(pending):
    return [{"phase": s.get("phase"), "step": s.get("step"), "why": s.get("why")} for s in pending]


def live_actions(log_view):
    """How many actions of a session's journal (`log --json`) are not undone yet."""
    return sum(1 for e in log_view.get("entries") or [] if e.get("state") != "undone")


def newest_first(sessions):
    return sorted(sessions, key=lambda s: str(s.get("session_id", "")), reverse=True)


class Cli(object):
    def __init__(self, module):
        self.module = module
        self.executable = module.params["executable"]
        env = {str(k): str(v) for k, v in (module.params["environment"] or {}).items()}
        env["NO_COLOR"] = "1"
        self.env = env

    def run(self, args):
        exe = self.executable
        if "/" not in exe:
            exe = self.module.get_bin_path(exe, required=True, opt_dirs=["/usr/local/bin"])
        cmd = [exe] + args
        # The CLI never reads stdin here (--yes); environ_update carries the VPS_PROVISION_* variables.
        rc, out, err = self.module.run_command(cmd, environ_update=self.env, check_rc=False)
        return rc, out, err

    def json_doc(self, args):
        rc, out, err = self.run(args)
        try:
            doc = json.loads(out)
        except ValueError:
            doc = None
        if rc != 0 or doc is None or (isinstance(doc, dict) and "error" in doc and "exitCode" in doc):
            final = doc if isinstance(doc, dict) else None
            self.module.fail_json(msg=failure_text(final, out, err, rc), rc=rc, cmd=" ".join(args))
        return doc


def config_args(params):
    return ["--config", params["config"]] if params.get("config") else []


def make_plan(cli, params):
    report = cli.json_doc(["plan", "--json", "--no-color"] + config_args(params))
    return plan_pending(report)


def rollback_would_change(cli, params):
    session = params["session"]
    if session != "latest":
        return live_actions(cli.json_doc(["log", session, "--json", "--no-color"])) > 0
    for s in newest_first(cli.json_doc(["sessions", "--json", "--no-color"]) or []):
        if live_actions(cli.json_doc(["log", s["session_id"], "--json", "--no-color"])) > 0:
            return True
    return False


def finish_stream(module, rc, out, err, result):
    final = final_object(parse_ndjson(out))
    if final is not None and "phases" in final:
        result["session"] = final.get("sessionId")
        result["actions"] = summary_actions(final)
        result["summary"] = redact_summary(final)
        result["changed"] = result["actions"] > 0
    result["rc"] = rc
    if rc != 0:
        module.fail_json(msg=failure_text(final, out, err, rc), stderr=err, **result)
    module.exit_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", default="provisioned", choices=["provisioned", "rolled_back"]),
            config=dict(type="path"),
            session=dict(type="str", default="latest"),
            force=dict(type="bool", default=False),
            foreground=dict(type="bool", default=True),
            environment=dict(type="dict", default={}, no_log=True),
            executable=dict(type="path", default="vps-provision"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    cli = Cli(module)
    result = dict(changed=False, rc=0)

    if p["state"] == "rolled_back":
        if module.check_mode:
            result["changed"] = rollback_would_change(cli, p)
            module.exit_json(**result)
        args = ["rollback", p["session"], "--yes", "--json", "--no-color"] + (["--force"] if p["force"] else [])
        rc, out, err = cli.run(args)
        finish_stream(module, rc, out, err, result)

    if module.check_mode or module._diff:
        pending = make_plan(cli, p)
        result["plan"] = plan_brief(pending)
        if module._diff:
            result["diff"] = plan_diff(pending)
        if module.check_mode:
            result["changed"] = len(pending) > 0
            module.exit_json(**result)

    args = ["run", "--yes", "--json", "--no-color"] + config_args(p)
    args += ["--force"] if p["force"] else []
    args += ["--foreground"] if p["foreground"] else []
    rc, out, err = cli.run(args)
    finish_stream(module, rc, out, err, result)


if __name__ == "__main__":
    main()
