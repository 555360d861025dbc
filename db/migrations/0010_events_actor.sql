-- 0010_events_actor: one person's recent activity (forge/activity.h:
-- activity_of_user, the profile page) reads the outbox by who acted,
-- newest first.
CREATE INDEX events_actor ON events (actor_id, id);
