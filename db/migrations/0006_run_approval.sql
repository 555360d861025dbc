-- 0006_run_approval: runs started by someone without write access to the
-- repository (an outsider's comment, issue or pull request) are untrusted.
-- Such a run gets no secrets and a read-only task token; when one of its
-- jobs refers to a secret it waits (status 'waiting') until a writer
-- approves it, and then runs with its secrets. trusted is decided once,
-- when the event is dispatched; approved_by / approved_at record the
-- approval.
ALTER TABLE workflow_runs
    ADD COLUMN trusted     boolean NOT NULL DEFAULT true,
    ADD COLUMN approved_by bigint REFERENCES users(id) ON DELETE SET NULL,
    ADD COLUMN approved_at timestamptz;

ALTER TABLE workflow_runs DROP CONSTRAINT workflow_runs_status_check;
ALTER TABLE workflow_runs ADD CONSTRAINT workflow_runs_status_check
    CHECK (status IN ('waiting', 'queued', 'running', 'success', 'failure', 'cancelled',
                      'skipped'));
