-- Which role acted (SPEC 5): `operator` or `viewer` for a console session, NULL for what the
-- service does itself (retention), a refused sign-in, and the rows from before roles existed.
-- A column without a default: adding it rewrites nothing.
ALTER TABLE console_audit ADD COLUMN role text;
