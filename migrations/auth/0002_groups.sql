-- Groups of people per tenant, as Camunda's candidate groups: a task offered to group
-- `finance` is visible to and claimable by the members of `finance` (docs/auth.md,
-- "Groups"). A user's groups travel in the access token (claim `groups`).
CREATE TABLE user_groups (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
CREATE TABLE group_members (
    tenant_id  TEXT NOT NULL,
    group_name TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    added_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, group_name, user_id)
);
CREATE INDEX group_members_user ON group_members(tenant_id, user_id);
