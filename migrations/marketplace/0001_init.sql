-- BAC Marketplace (9016 /marketplace): packages of process definitions, DMN models and
-- forms shared between tenants. Each version's content is kept as the exact bytes that
-- were signed (Ed25519, the publishing tenant's key), and checked again at install.
CREATE TABLE publisher_keys (
    tenant_id  TEXT PRIMARY KEY,
    public_key BLOB NOT NULL,
    secret_key BLOB NOT NULL,
    created_ms INTEGER NOT NULL
);

CREATE TABLE packages (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    publisher_tenant TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    tags             TEXT NOT NULL DEFAULT '[]',
    license          TEXT NOT NULL,
    latest           TEXT NOT NULL,
    downloads        INTEGER NOT NULL DEFAULT 0,
    rating_sum       INTEGER NOT NULL DEFAULT 0,
    rating_count     INTEGER NOT NULL DEFAULT 0,
    created_ms       INTEGER NOT NULL,
    updated_ms       INTEGER NOT NULL
);

CREATE TABLE package_versions (
    package_id  TEXT NOT NULL,
    version     TEXT NOT NULL,
    version_key TEXT NOT NULL,          -- zero-padded major.minor.patch, sorts as semver
    content     TEXT NOT NULL,          -- the signed bytes
    signature   BLOB NOT NULL,
    public_key  BLOB NOT NULL,
    changelog   TEXT NOT NULL DEFAULT '',
    created_ms  INTEGER NOT NULL,
    PRIMARY KEY (package_id, version)
);

-- Search: name, description and tags, ranked by BM25 (rowid = packages.rowid).
CREATE VIRTUAL TABLE packages_fts USING fts5(name, description, tags, tokenize = 'unicode61');

CREATE TABLE ratings (
    package_id TEXT NOT NULL,
    tenant_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    stars      INTEGER NOT NULL,
    review     TEXT NOT NULL DEFAULT '',
    at_ms      INTEGER NOT NULL,
    PRIMARY KEY (package_id, tenant_id, user_id)
);

-- What an install created in a tenant, so an upgrade changes the same objects.
CREATE TABLE installs (
    tenant_id  TEXT NOT NULL,
    package_id TEXT NOT NULL,
    version    TEXT NOT NULL,
    objects    TEXT NOT NULL,           -- {"processes": {name: id}, "decisions": {name: id}, "forms": [ids]}
    at_ms      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, package_id)
);
