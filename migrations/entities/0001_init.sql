-- Legal Entity Service (8014): legal entities, their identifiers, the relationships
-- between them (ownership, control, director, branch) with validity dates, and a history
-- of every change. Dates are ISO 8601 calendar dates as text ('YYYY-MM-DD'), which sort
-- as they compare; NULL valid_from / valid_to mean open-ended.
CREATE TABLE entities (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    type        TEXT NOT NULL,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,          -- lower-cased name for search
    country     TEXT,
    identifiers TEXT NOT NULL DEFAULT '[]',
    addresses   TEXT NOT NULL DEFAULT '[]',
    attributes  TEXT NOT NULL DEFAULT '{}',
    valid_from  TEXT,
    valid_to    TEXT,
    revision    INTEGER NOT NULL DEFAULT 1,
    created_ms  INTEGER NOT NULL,
    updated_ms  INTEGER NOT NULL
);
CREATE INDEX entities_tenant_name ON entities(tenant_id, name_key, id);
CREATE INDEX entities_tenant_country ON entities(tenant_id, country);

-- One row per identifier, unique per tenant and scheme (two entities of one tenant
-- cannot share an LEI or a VAT id).
CREATE TABLE entity_identifiers (
    tenant_id TEXT NOT NULL,
    scheme    TEXT NOT NULL,
    value     TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, scheme, value)
);
CREATE INDEX entity_identifiers_entity ON entity_identifiers(entity_id);

CREATE TABLE relationships (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    entity_id  TEXT NOT NULL,           -- the entity held, controlled or directed
    owner_id   TEXT NOT NULL,           -- the entity holding the share or the role
    type       TEXT NOT NULL,
    percentage REAL,
    valid_from TEXT,
    valid_to   TEXT,
    created_ms INTEGER NOT NULL
);
CREATE INDEX relationships_entity ON relationships(tenant_id, entity_id);
CREATE INDEX relationships_owner ON relationships(tenant_id, owner_id);
-- Covers the ownership graph read for UBO answers: one index scan, no table lookups.
CREATE INDEX relationships_graph ON relationships(tenant_id, type, entity_id, owner_id, percentage, valid_from,
                                                  valid_to);

CREATE TABLE entity_history (
    seq       INTEGER PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    at_ms     INTEGER NOT NULL,
    action    TEXT NOT NULL,            -- created, updated, deleted, relationship.added, relationship.removed
    actor     TEXT,
    detail    TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX entity_history_entity ON entity_history(tenant_id, entity_id, seq);
