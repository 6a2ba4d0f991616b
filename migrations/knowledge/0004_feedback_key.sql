-- Knowledge Hub: a vote's question terms, sorted and joined by spaces, so that corrected
-- answers given for a question come back with later questions of the same terms
-- (docs/knowledge.md "Feedback").
ALTER TABLE feedback ADD COLUMN terms_key TEXT;
CREATE INDEX feedback_terms_key ON feedback(tenant_id, terms_key, created_ms);
