-- 0008_webhooks: outgoing webhooks (queue/webhooks.c, api/hooks.c).
-- A hook belongs to a repository and names the events it wants. Every
-- events row of a repository that has an active hook is queued for the
-- webhook fan-out by a trigger, in the transaction that writes the event,
-- so webhooks consume the outbox independently of the workflow dispatcher
-- and nothing is lost across restarts. The fan-out turns each queued event
-- into one delivery per matching hook; the delivery workers send them in
-- order per hook, with retries, and keep the last attempt's log.
CREATE TABLE webhooks (
    id            bigserial PRIMARY KEY,
    repo_id       bigint NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    url           text NOT NULL,
    content_type  text NOT NULL DEFAULT 'json' CHECK (content_type IN ('json', 'form')),
    events        text[] NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    secret_nonce  text,                    -- sealed like repository secrets; NULL: none
    secret_cipher text,
    created_by    bigint REFERENCES users(id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_repo ON webhooks (repo_id, id);

-- events waiting for the fan-out
CREATE TABLE webhook_queue (
    event_id bigint PRIMARY KEY REFERENCES events(id) ON DELETE CASCADE
);

CREATE FUNCTION webhook_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.repo_id IS NOT NULL AND
       EXISTS (SELECT 1 FROM webhooks WHERE repo_id = NEW.repo_id AND active) THEN
        INSERT INTO webhook_queue (event_id) VALUES (NEW.id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER events_webhooks AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION webhook_enqueue();

-- one delivery of one payload to one hook; status: pending (not yet sent,
-- or waiting for its next attempt), delivered (a 2xx answer), failed (the
-- attempts ran out, or the address was refused)
CREATE TABLE webhook_deliveries (
    id               bigserial PRIMARY KEY,
    hook_id          bigint NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    guid             text NOT NULL DEFAULT gen_random_uuid()::text,
    event_id         bigint REFERENCES events(id) ON DELETE SET NULL,
    event            text NOT NULL,        -- GitHub's name: push, issues, ping ...
    action           text,
    payload          text NOT NULL,        -- the JSON payload
    redelivery_of    bigint REFERENCES webhook_deliveries(id) ON DELETE SET NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    -- the last attempt
    request_headers  jsonb,
    request_body     text,
    response_status  integer,
    response_headers jsonb,
    response_body    text,                 -- at most 64 KiB
    duration_ms      integer,
    error            text                  -- why the attempt failed (refused, timeout, 500 ...)
);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (hook_id, id);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (next_attempt_at, id)
    WHERE status = 'pending';
