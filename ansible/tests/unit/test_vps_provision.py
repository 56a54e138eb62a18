# Unit tests of the module's pure parts: how the CLI's JSON becomes Ansible's changed, diff, msg.
# Run: python3 -m unittest discover -s ansible/tests/unit (needs ansible-core for the import).
import importlib.util
import json
import os
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = importlib.util.spec_from_file_location(
    "vps_provision_module", os.path.join(HERE, "..", "..", "plugins", "modules", "vps_provision.py")
)
m = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(m)


def summary(actions, exit_code=0, lines=None):
    return {
        "sessionId": "20261206-230000-abc123",
        "status": "COMPLETED" if exit_code == 0 else "FAILED",
        "exitCode": exit_code,
        "durationSeconds": 12,
        "phases": [
            {"name": "preflight", "status": "COMPLETED", "durationSeconds": 1, "actions": 0},
            {"name": "system-prep", "status": "COMPLETED", "durationSeconds": 9, "actions": actions},
        ],
        "lines": lines or ["RDP: 10.0.0.2:3389"],
        "credentials": None,
    }


def stream(final):
    events = [
        {"type": "session-start", "ts": "t", "command": "run", "sessionId": "x", "phases": []},
        {"type": "phase-end", "ts": "t", "phase": "system-prep", "status": "COMPLETED", "durationMs": 1, "actions": 2},
    ]
    if final is not None and "phases" in final:
        events.append({"type": "session-end", "ts": "t", "summary": final})
    return "\n".join(json.dumps(e) for e in events + ([final] if final else [])) + "\n"


class RunMapping(unittest.TestCase):
    def test_changed_exactly_when_actions_were_journaled(self):
        for n, changed in ((0, False), (1, True), (7, True)):
            final = m.final_object(m.parse_ndjson(stream(summary(n))))
            self.assertEqual(m.summary_actions(final), n)
            self.assertEqual(m.summary_actions(final) > 0, changed)

    def test_the_last_summary_wins_over_the_session_end_event(self):
        final = m.final_object(m.parse_ndjson(stream(summary(3))))
        self.assertNotIn("type", final)
        self.assertEqual(final["sessionId"], "20261206-230000-abc123")

    def test_a_torn_line_and_foreign_output_are_skipped(self):
        text = "warning: something\n" + stream(summary(1)) + '{"type": "outp'
        self.assertEqual(m.summary_actions(m.final_object(m.parse_ndjson(text))), 1)

    def test_failure_text_is_the_failed_lines_of_the_summary(self):
        s = summary(0, 1, ["RDP: x", "Failed: preflight: Unable to use port 3389: port 3389 is used by node", "Fix: stop it"])
        self.assertEqual(
            m.failure_text(s, "", "", 1),
            "Failed: preflight: Unable to use port 3389: port 3389 is used by node\nFix: stop it",
        )

    def test_failure_text_of_an_error_object_keeps_its_hint(self):
        e = {"error": "Unable to use the configuration: rdp.port: bad", "hint": "See docs", "exitCode": 5}
        self.assertEqual(m.final_object(m.parse_ndjson(json.dumps(e))), e)
        self.assertEqual(m.failure_text(e, "", "", 5), "Unable to use the configuration: rdp.port: bad\nhint: See docs")

    def test_failure_without_json_falls_back_to_stderr(self):
        self.assertEqual(m.failure_text(None, "", "boom\n", 2), "boom")
        self.assertIn("exited 6", m.failure_text(None, "", "", 6))

    def test_credentials_never_leave_the_module(self):
        s = summary(1)
        s["credentials"] = {"username": "devuser", "password": "hunter2"}
        self.assertNotIn("hunter2", json.dumps(m.redact_summary(s)))


class PlanMapping(unittest.TestCase):
    REPORT = {
        "phases": [
            {"name": "preflight", "title": "Preflight", "skipped": None, "steps": [
                {"phase": "preflight", "step": "preflight.os", "title": "t", "done": True, "why": None, "diff": None}]},
            {"name": "desktop-install", "title": "Desktop", "skipped": "not selected", "steps": [
                {"phase": "desktop-install", "step": "desktop-install.xfce", "title": "t", "done": False, "why": "missing", "diff": None}]},
            {"name": "rdp-config", "title": "RDP", "skipped": None, "steps": [
                {"phase": "rdp-config", "step": "rdp-config.xrdp-ini", "title": "t", "done": False, "why": "differs",
                 "diff": "--- /etc/xrdp/xrdp.ini\n+++ /etc/xrdp/xrdp.ini\n@@ -1 +1 @@\n-a\n+b"},
                {"phase": "rdp-config", "step": "rdp-config.install", "title": "t", "done": False, "why": "xrdp missing", "diff": None}]},
        ]
    }

    def test_pending_steps_skip_done_steps_and_skipped_phases(self):
        pending = m.plan_pending(self.REPORT)
        self.assertEqual([s["step"] for s in pending], ["rdp-config.xrdp-ini", "rdp-config.install"])

    def test_nothing_pending_is_no_change(self):
        done = {"phases": [{"name": "x", "skipped": None, "steps": [{"done": True}]}]}
        self.assertEqual(m.plan_pending(done), [])

    def test_diff_has_one_prepared_entry_per_file_diff(self):
        diff = m.plan_diff(m.plan_pending(self.REPORT))
        self.assertEqual(len(diff), 1)
        self.assertTrue(diff[0]["prepared"].startswith("--- /etc/xrdp/xrdp.ini"))
        self.assertTrue(diff[0]["prepared"].endswith("+b\n"))


class RollbackMapping(unittest.TestCase):
    def test_live_actions_are_those_not_undone(self):
        view = {"entries": [{"state": "undone"}, {"state": "done"}, {"state": "in-doubt"}]}
        self.assertEqual(m.live_actions(view), 2)
        self.assertEqual(m.live_actions({"entries": [{"state": "undone"}]}), 0)

    def test_sessions_newest_first(self):
        got = m.newest_first([{"session_id": "20261206-100000-aaaaaa"}, {"session_id": "20261206-120000-bbbbbb"}])
        self.assertEqual(got[0]["session_id"], "20261206-120000-bbbbbb")


if __name__ == "__main__":
    unittest.main()
