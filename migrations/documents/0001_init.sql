-- Document Intelligence (9002): uploaded documents (metadata; the bytes are a
-- content-addressed blob file <data-dir>/documents/<sha256[0:2]>/<sha256>, shared by
-- every row holding the same bytes), the text extracted at upload, extraction results,
-- per-tenant custom patterns and document types (classification rules).
CREATE TABLE documents (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL,
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL,          -- lower-cased name for search
    media_type   TEXT NOT NULL,          -- application/pdf, text/html, ...
    format       TEXT NOT NULL,          -- text, markdown, html, json, csv, xml, docx, odt, pdf
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    tags         TEXT NOT NULL DEFAULT '[]',
    text_chars   INTEGER NOT NULL,
    doc_type     TEXT,                   -- set by the last extraction's classification
    created_by   TEXT,
    created_ms   INTEGER NOT NULL,
    extracted_ms INTEGER
);
CREATE INDEX documents_tenant_created ON documents(tenant_id, created_ms, id);
CREATE INDEX documents_sha ON documents(sha256);

CREATE TABLE document_texts (
    id        TEXT PRIMARY KEY,          -- the document's id
    tenant_id TEXT NOT NULL,
    text      TEXT NOT NULL
);

CREATE TABLE document_extractions (
    id        TEXT PRIMARY KEY,          -- the document's id (the latest extraction)
    tenant_id TEXT NOT NULL,
    result    TEXT NOT NULL,             -- the JSON answered by POST /documents/{id}/extract
    at_ms     INTEGER NOT NULL
);

CREATE TABLE document_patterns (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    name       TEXT NOT NULL,
    pattern    TEXT NOT NULL,
    confidence REAL NOT NULL,
    created_ms INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE document_types (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    name       TEXT NOT NULL,
    rules      TEXT NOT NULL,            -- [{"keyword"|"pattern", "weight"}]
    threshold  REAL NOT NULL,
    created_ms INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
);
