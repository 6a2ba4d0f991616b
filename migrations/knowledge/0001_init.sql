-- Knowledge Hub (8009): collections of sources (a text or a document, cut into chunks),
-- the chunks with an FTS5 index for BM25 search and an optional hashed embedding, and
-- the feedback that raises or lowers a chunk for questions with the same terms
-- (docs/knowledge.md). Every row carries its tenant and every query filters on it.
CREATE TABLE collections (
    tenant_id   TEXT NOT NULL,
    name        TEXT NOT NULL,          -- [A-Za-z0-9._-]{1,64}, the collection's id
    description TEXT NOT NULL DEFAULT '',
    created_ms  INTEGER NOT NULL,
    updated_ms  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name)
) WITHOUT ROWID;

CREATE TABLE sources (
    tenant_id   TEXT NOT NULL,
    id          TEXT NOT NULL,          -- ksrc_…
    collection  TEXT NOT NULL,
    title       TEXT NOT NULL,
    source      TEXT NOT NULL,          -- where it came from: a URL, a file name, document:<id>
    document_id TEXT,                   -- set when fetched from Document Intelligence
    bytes       INTEGER NOT NULL,
    chunks      INTEGER NOT NULL,
    created_ms  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX sources_collection ON sources(tenant_id, collection, created_ms, id);

-- scope holds two tokens, one for the tenant and one for its collection (hex of a
-- 64-bit hash), so an FTS5 query narrows to them in the index; the tenant_id and
-- collection columns are still what every query filters on.
CREATE TABLE chunks (
    id         INTEGER PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    collection TEXT NOT NULL,
    source_id  TEXT NOT NULL,
    position   INTEGER NOT NULL,        -- 0, 1, … in the source
    heading    TEXT NOT NULL DEFAULT '',
    text       TEXT NOT NULL,
    scope      TEXT NOT NULL,
    embedding  BLOB                     -- 256 float32, L2-normalised; NULL unless embeddings = hash
);
CREATE UNIQUE INDEX chunks_source ON chunks(tenant_id, source_id, position);
CREATE INDEX chunks_collection ON chunks(tenant_id, collection);

CREATE VIRTUAL TABLE chunks_fts USING fts5(
    text, heading, scope, content = 'chunks', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text, heading, scope) VALUES (new.id, new.text, new.heading, new.scope);
END;
CREATE TRIGGER chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text, heading, scope)
        VALUES ('delete', old.id, old.text, old.heading, old.scope);
END;

-- Feedback: one row per vote, and the per-chunk, per-term weights the votes add up to.
CREATE TABLE feedback (
    tenant_id        TEXT NOT NULL,
    id               TEXT NOT NULL,     -- kfb_…
    collection       TEXT NOT NULL,
    source_id        TEXT NOT NULL,
    position         INTEGER NOT NULL,
    question         TEXT NOT NULL,
    helpful          INTEGER NOT NULL,
    corrected_answer TEXT,
    actor            TEXT,
    created_ms       INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX feedback_source ON feedback(tenant_id, source_id);

CREATE TABLE feedback_terms (
    tenant_id  TEXT NOT NULL,
    collection TEXT NOT NULL,
    term       TEXT NOT NULL,
    source_id  TEXT NOT NULL,
    position   INTEGER NOT NULL,
    weight     INTEGER NOT NULL,        -- helpful votes minus unhelpful ones, within -4..4
    PRIMARY KEY (tenant_id, term, collection, source_id, position)
) WITHOUT ROWID;
CREATE INDEX feedback_terms_source ON feedback_terms(tenant_id, source_id);
